"""What a checkpoint holds: every variable of the model and optimizer, keyed by its path.

Keras 3 layers kept in Python lists and dicts (the MultiModel's modality nets, the encoder's
conv blocks) are not children in TensorFlow's checkpoint object graph, so
`tf.train.Checkpoint(model=model)` silently leaves their variables out. Instead every variable
is saved under its stable Keras path (`encoder/block0/...`, `input_symbol_sub/embedding/...`),
so the order in which problems are listed does not matter, and a restore names each variable
that is missing, extra or of another shape.

    items = {**model_items(model), **optimizer_items(optimizer)}
    tf.train.Checkpoint(**items).save(prefix)
    restore(prefix, items)            # the trainer: model + optimizer
    restore_model(model, prefix)      # the decoder: model variables only

A checkpoint of variables by position (one list `model_variables`, a format no release ever
wrote for users) is refused with an error that says so, rather than restored by guesswork.

A damaged checkpoint (truncated data, missing index) is not the end: `candidates(directory)`
lists every checkpoint of a run folder, newest first, and `restore_newest` takes the first
that restores, warning about each damaged one.
"""

import collections
import os
import re
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from absl import logging
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.utils import fs

CHECKPOINT_DIR = "checkpoints"
MODEL_KEY = "model_by_name"
OPTIMIZER_KEY = "optimizer_by_name"
_BY_POSITION_KEY = "model_variables"
_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
# Keras names seed generators with a process-wide counter (seed_generator_7), which differs
# between two processes that build the same model; the owner's path plus the order of creation
# under it is stable.
_SEED_STATE = re.compile(r"^(.*?)/?seed_generator(?:_(\d+))?/seed_generator_state$")
_CKPT_NUMBER = re.compile(r"-(\d+)$")


class DamagedCheckpointError(errors.DataError):
  """A checkpoint's files cannot be read (truncated, missing, not a checkpoint)."""


def _damaged(prefix: str, error: Exception) -> DamagedCheckpointError:
  reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
  return DamagedCheckpointError(f"Checkpoint {prefix} cannot be read "
                                f"({reason or type(error).__name__}).")


def variables_by_name(variables) -> Dict[str, object]:
  """{stable name: variable}; two variables with one name are an error naming it."""
  named: Dict[str, object] = {}
  seed_states = collections.defaultdict(list)
  for variable in variables:
    match = _SEED_STATE.match(variable.path)
    if match:
      seed_states[match.group(1)].append((int(match.group(2) or 0), variable))
      continue
    if variable.path in named:
      raise errors.ConfigError(f"Two variables are named '{variable.path}'; checkpoints need "
                               "unique variable paths (give the layers distinct names).")
    named[variable.path] = variable
  for owner, states in seed_states.items():
    for i, (_, variable) in enumerate(sorted(states, key=lambda s: s[0])):
      named[f"{owner}/seed_generator_state_{i}".lstrip("/")] = variable
  return named


def model_items(model) -> Dict[str, Dict[str, object]]:
  """Checkpoint kwargs that hold every variable of `model`, by name."""
  return {MODEL_KEY: variables_by_name(model.variables)}


def optimizer_items(optimizer) -> Dict[str, Dict[str, object]]:
  """Checkpoint kwargs that hold the optimizer's step and slots, by name (not by position)."""
  return {OPTIMIZER_KEY: variables_by_name(optimizer.variables)}


def _unescape(name: str) -> str:
  """Undoes the checkpoint's escaping of object names ('.' -> '..', '/' -> '.S')."""
  out, i = [], 0
  while i < len(name):
    if name[i] == "." and i + 1 < len(name):
      out.append("/" if name[i + 1] == "S" else name[i + 1])
      i += 2
    else:
      out.append(name[i])
      i += 1
  return "".join(out)


def reader(prefix: str):
  """The checkpoint reader of `prefix` (tf.train.load_checkpoint's, without its folder lookup:
  on ram:// a prefix counts as a folder, being the start of its files' names)."""
  return tf.compat.v1.train.NewCheckpointReader(prefix)


def saved_entries(prefix: str) -> Dict[str, Dict[str, Tuple[str, Tuple[int, ...]]]]:
  """{top-level key: {variable name: (checkpoint key, shape)}} of checkpoint `prefix` (reads
  its index only); reader(prefix).get_tensor(key) reads a value."""
  entries: Dict[str, Dict[str, Tuple[str, Tuple[int, ...]]]] = collections.defaultdict(dict)
  try:
    shape_map = reader(prefix).get_variable_to_shape_map()
  except (tf.errors.OpError, IndexError) as e:  # IndexError: an index file cut short.
    raise _damaged(prefix, e) from e
  for key, shape in shape_map.items():
    stem = key[:-len(_VALUE_SUFFIX)] if key.endswith(_VALUE_SUFFIX) else ""
    if "/" not in stem:  # save_counter, the object graph, or not a variable value.
      continue
    top, rest = stem.split("/", 1)
    entries[top][_unescape(rest)] = (key, tuple(shape))
  return dict(entries)


def saved_shapes(prefix: str) -> Dict[str, Dict[str, Tuple[int, ...]]]:
  """{top-level key: {variable name: shape}} of checkpoint `prefix` (reads its index only)."""
  return {top: {name: shape for name, (_, shape) in named.items()}
          for top, named in saved_entries(prefix).items()}


def _check_fits(prefix: str, saved: Mapping, items: Mapping[str, Mapping[str, object]]) -> None:
  problems = []
  for key, named in items.items():
    have = saved.get(key, {})
    missing = sorted(set(named) - set(have))
    extra = sorted(set(have) - set(named))
    reshaped = [f"{n} {have[n]} in the checkpoint, {tuple(named[n].shape)} in the model"
                for n in sorted(set(named) & set(have)) if tuple(named[n].shape) != have[n]]
    for label, names in (("missing from the checkpoint", missing),
                         ("in the checkpoint but not in the model", extra),
                         ("of another shape", reshaped)):
      if names:
        shown = ", ".join(names[:8]) + (f" (and {len(names) - 8} more)" if len(names) > 8 else "")
        problems.append(f"{len(names)} {key} variable(s) {label}: {shown}")
  if problems:
    raise errors.DataError(f"Checkpoint {prefix} does not fit the model built from its run's "
                           "hparams.json and problems.json: " + "; ".join(problems) + ".")


def restore(prefix: str, items: Mapping[str, object]) -> None:
  """Restores checkpoint `prefix` into `items` (checkpoint kwargs), checking names and shapes.

  Raises errors.DataError if the checkpoint does not fit (or holds variables by position);
  DamagedCheckpointError if it cannot be read.
  """
  saved = saved_shapes(prefix)
  if _BY_POSITION_KEY in saved and MODEL_KEY not in saved:
    raise errors.DataError(f"Checkpoint {prefix} holds its variables by position "
                           f"('{_BY_POSITION_KEY}'), a format t2t_mm does not read: checkpoints "
                           "name every variable by its path. Retrain, or convert it with the "
                           "code that wrote it.")
  _check_fits(prefix, saved, {k: v for k, v in items.items() if k in (MODEL_KEY, OPTIMIZER_KEY)})
  try:
    status = tf.train.Checkpoint(**items).restore(prefix)
  except (tf.errors.OpError, IndexError) as e:  # IndexError: a data file cut short.
    raise _damaged(prefix, e) from e
  if OPTIMIZER_KEY not in items:
    status.expect_partial()
  try:
    status.assert_existing_objects_matched()
  except AssertionError as e:  # E.g. input iterators saved by one run and not by the other.
    raise errors.DataError(f"Checkpoint {prefix} does not hold everything this run restores: "
                           f"{str(e)[:300]}") from e


def restore_model(model, prefix: str) -> None:
  """Restores every variable of `model` from checkpoint `prefix` (optimizer state skipped)."""
  restore(prefix, model_items(model))


def _number(prefix: str) -> int:
  match = _CKPT_NUMBER.search(prefix)
  return int(match.group(1)) if match else -1


def candidates(directory: str) -> List[str]:
  """Every checkpoint prefix in `directory` (complete or not), newest first."""
  prefixes = set()
  for path in fs.glob(os.path.join(fs.glob_escape(directory), "*.index")) + fs.glob(
      os.path.join(fs.glob_escape(directory), "*.data-?????-of-?????")):
    prefixes.add(re.sub(r"\.(index|data-\d{5}-of-\d{5})$", "", path))
  return sorted(prefixes, key=lambda p: (_number(p), p), reverse=True)


def newest_step(directory: str) -> Optional[int]:
  """The step of the newest checkpoint file in `directory` (read or not), or None."""
  steps = [_number(p) for p in candidates(directory) if _number(p) >= 0]
  return max(steps) if steps else None


def restore_newest(directory: str, restore_fn: Callable[[str], None],
                   warn: Optional[Callable[[str], None]] = None) -> Optional[str]:
  """Restores the newest checkpoint of `directory` that `restore_fn` can read; returns it.

  A checkpoint that cannot be read (truncated, index missing) is skipped with a warning naming
  it. None if the folder holds no checkpoint; errors.DataError if none of them can be read.
  A checkpoint that reads but does not fit the model is an error, not skipped: an older one
  would not fit either.
  """
  warn = warn or logging.warning
  found = candidates(directory)
  damaged = []
  for prefix in found:
    try:
      restore_fn(prefix)
    except DamagedCheckpointError as e:
      damaged.append(prefix)
      warn(f"{e} It is damaged and was skipped.")
      continue
    if damaged:
      warn(f"Restored {prefix}, the newest checkpoint that could be read.")
    return prefix
  if damaged:
    raise errors.DataError(f"Every checkpoint in {directory} is damaged ({', '.join(damaged)}); "
                           "delete them to train from scratch, or restore a backup.")
  return None


def remove_partial(prefix: str) -> None:
  """Removes the files and the `_temp` folder that a failed save of `prefix` left."""
  for path in fs.glob(fs.glob_escape(prefix) + ".index") + fs.glob(
      fs.glob_escape(prefix) + ".data-?????-of-?????"):
    fs.remove(path)
  fs.rmtree(prefix + "_temp", ignore_errors=True)


def remove_orphans(directory: str) -> List[str]:
  """Removes `ckpt-N_temp/` folders that a killed save left behind; returns them."""
  removed = []
  for path in fs.glob(os.path.join(fs.glob_escape(directory), "*_temp")):
    if fs.isdir(path) and _CKPT_NUMBER.search(path[:-len("_temp")]):
      fs.rmtree(path)
      removed.append(path)
  return removed
