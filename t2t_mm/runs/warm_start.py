"""Warm start: begin a new run from another run's weights, matched by name and shape.

    report = warm_start(model, "runs/joint")            # its newest complete checkpoint
    report.restored   # ["encoder/block0/...", "input_symbol_all8/embedding/...", ...]
    report.fresh      # in this model only (e.g. a new problem's modality net): initialized
    report.unused     # in the checkpoint only (e.g. an output net no problem here uses)
    write_report(output_dir, report)                     # output_dir/warm_start.json

Every variable of the model whose name (its Keras path, as checkpoints key it) is in the
checkpoint with the same shape takes the checkpoint's value; a name found with another shape
is an error naming each such variable, before anything is assigned. The optimizer's slots
and step start fresh unless `optimizer` is given (then its variables are matched the same
way, the step included). This is how a MultiModel trained on some problems is fine-tuned
on others: the body and the modality nets the problems share carry over.
"""

import dataclasses
import json
import os
from typing import List

import tensorflow as tf

from t2t_mm import errors
from t2t_mm.runs import checkpoints
from t2t_mm.utils import atomic, fs

REPORT_FILE = "warm_start.json"


@dataclasses.dataclass
class WarmStartReport:
  """What a warm start took from `checkpoint` (names of model variables, sorted)."""

  checkpoint: str
  restored: List[str]
  fresh: List[str]
  unused: List[str]
  optimizer_restored: List[str] = dataclasses.field(default_factory=list)

  def summary(self) -> str:
    shown = ", ".join(self.fresh[:6]) + (" ..." if len(self.fresh) > 6 else "")
    text = (f"Warm start from {self.checkpoint}: restored {len(self.restored)} variables, "
            f"{len(self.fresh)} start fresh{': ' + shown if self.fresh else ''}; "
            f"{len(self.unused)} of the checkpoint unused")
    if self.optimizer_restored:
      text += f"; optimizer: {len(self.optimizer_restored)} variables restored (step included)"
    return text + f". Lists in {REPORT_FILE}."


def find_checkpoint(source: str) -> str:
  """The checkpoint prefix that `source` names: a run folder (its newest complete
  checkpoint), a folder of checkpoints, or a prefix PATH/ckpt-N."""
  if fs.isfile(source + ".index"):
    return source
  if fs.isdir(source):
    for directory in (os.path.join(source, checkpoints.CHECKPOINT_DIR), source):
      complete = [p for p in checkpoints.candidates(directory) if fs.isfile(p + ".index")]
      if complete:
        return complete[0]
  raise errors.ConfigError(
      f"--warm_start_from={source}: expected a run folder with checkpoints/, a folder of "
      "checkpoints or a checkpoint prefix (PATH/ckpt-N beside PATH/ckpt-N.index); found no "
      "complete checkpoint there.")


def _plan(prefix: str, source: str, saved, named, what: str):
  """[(variable, checkpoint key)] to assign; an error naming every shape clash."""
  clashes = [f"{name} {saved[name][1]} in the checkpoint, {tuple(var.shape)} here"
             for name, var in sorted(named.items())
             if name in saved and tuple(var.shape) != saved[name][1]]
  if clashes:
    shown = "; ".join(clashes[:8]) + (f" (and {len(clashes) - 8} more)" if len(clashes) > 8
                                      else "")
    raise errors.ConfigError(
        f"--warm_start_from={source}: {len(clashes)} {what} variable(s) of {prefix} have the "
        f"name of one here but another shape: {shown}. Warm start restores variables whose "
        "name and shape both match; change the hparams that set these shapes (hidden_size, "
        "filter_size, moe_num_experts, ...) to the source run's.")
  return [(var, saved[name][0]) for name, var in sorted(named.items()) if name in saved]


def warm_start(model, source: str, optimizer=None) -> WarmStartReport:
  """Assigns `model`'s (and `optimizer`'s) variables from checkpoint `source` by name + shape."""
  prefix = find_checkpoint(source)
  saved = checkpoints.saved_entries(prefix)
  if checkpoints.MODEL_KEY not in saved:
    raise errors.ConfigError(
        f"--warm_start_from={source}: {prefix} holds no variables by name (a checkpoint "
        "written before names were used); warm start needs names to match variables.")
  model_vars = checkpoints.variables_by_name(model.variables)
  plan = _plan(prefix, source, saved[checkpoints.MODEL_KEY], model_vars, "model")
  opt_plan, opt_vars = [], {}
  if optimizer is not None:
    opt_vars = checkpoints.variables_by_name(optimizer.variables)
    opt_plan = _plan(prefix, source, saved.get(checkpoints.OPTIMIZER_KEY, {}), opt_vars,
                     "optimizer")
  reader = checkpoints.reader(prefix)
  try:
    for var, key in plan + opt_plan:
      var.assign(reader.get_tensor(key))
  except (tf.errors.OpError, IndexError) as e:  # A data file cut short.
    raise errors.DataError(f"--warm_start_from={source}: {prefix} cannot be read "
                           f"({str(e).splitlines()[0][:200]}).") from e
  restored = sorted(n for n in model_vars if n in saved[checkpoints.MODEL_KEY])
  opt_names = {id(v): n for n, v in opt_vars.items()}
  return WarmStartReport(
      checkpoint=prefix, restored=restored,
      fresh=sorted(set(model_vars) - set(restored)),
      unused=sorted(set(saved[checkpoints.MODEL_KEY]) - set(model_vars)),
      optimizer_restored=sorted(opt_names[id(v)] for v, _ in opt_plan))


def write_report(output_dir: str, report: WarmStartReport) -> str:
  path = os.path.join(output_dir, REPORT_FILE)
  atomic.atomic_write_text(path, json.dumps(dataclasses.asdict(report), indent=2) + "\n")
  return path
