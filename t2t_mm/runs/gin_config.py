"""Gin owns the wiring of registered components; hparams own the numbers of the model and run.

The rule (also in the README): a setting that changes what a checkpoint computes or how it was
trained is an hparam (hparams.json). Gin binds the constructor arguments of registered
components that are not hparams: a problem's sizes and sources, the trainer's and decoder's
operational knobs (logging, checkpoint keeping). A gin binding of an hparams field is an error,
so no setting has two sources of truth.

    --gin_param='problems.wmt_ende_mini.num_train_examples = 2000'
"""

import ast
import os
import re
from typing import Optional, Sequence

import gin

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config import configurable
from t2t_mm.config import trainer_config  # noqa: F401  (registers trainer.TrainerConfig)
from t2t_mm.utils import atomic, fs

CONFIG_FILE = "config.gin"  # Every binding in force, reloaded by later runs on output_dir.
OPERATIVE_FILE = "operative_config.gin"  # The bindings that were actually used.
_HPARAM_FIELDS = configurable.HPARAM_FIELDS


def _check_not_hparam(binding: str) -> None:
  target = binding.split("=", 1)[0].strip()
  param = target.rsplit(".", 1)[-1]
  if "=" in binding and param in _HPARAM_FIELDS:
    raise errors.ConfigError(
        f"gin binding '{binding.strip()}' sets '{param}', which is an hparam; set it with "
        f"--hparams={param}=... so that it has one source of truth.")


_BINDING = re.compile(r"^([A-Za-z_][\w./]*)\s*=\s*(.*)$")


def check_data_only(path: str) -> None:
  """Refuses a gin file from a run folder unless it only binds names to literal values.

  A run folder may come from anyone, and gin can import modules (`import os`), call any
  configurable (`@os.system()`) and pull in other files (`include`). What the tools reload from
  output_dir/config.gin may therefore only be `name = literal` bindings, each value a Python
  literal (numbers, strings, booleans, None, lists, tuples, dicts of those). The user's own
  --gin_file and --gin_param are not checked: what a user types is theirs to run.
  """
  with fs.open(path, encoding="utf-8") as f:
    lines = f.read().splitlines()
  bindings = []  # [line number, target, value text]
  for number, line in enumerate(lines, 1):
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
      continue
    match = _BINDING.match(line)
    if match and not line[0].isspace():
      bindings.append([number, match.group(1), match.group(2)])
    elif bindings and (line[0].isspace() or stripped[0] in ")]}"):
      bindings[-1][2] += "\n" + line  # A value continued on the next line.
    else:
      raise errors.DataError(
          f"{path}, line {number}: '{stripped[:80]}' is not a 'name = literal' binding; a run "
          "folder's config.gin may not import, include or call anything. Remove the line, or "
          "pass the file yourself with --gin_file if you trust it.")
  for number, target, value in bindings:
    try:
      ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
      raise errors.DataError(
          f"{path}, line {number}: the value of '{target}' is not a literal "
          f"({value.strip()[:80]!r}); a run folder's config.gin may only bind literal values "
          "(no @references, %macros or calls). Pass the file yourself with --gin_file if you "
          "trust it.") from None


def setup(output_dir: Optional[str] = None, gin_files: Sequence[str] = (),
          gin_params: Sequence[str] = ()) -> None:
  """Parses output_dir's saved config.gin (if any), then `gin_files`, then `gin_params`.

  Later bindings win, so the command line overrides what a previous run saved.
  """
  registry.load_builtins()  # Configurables must exist before gin parses bindings for them.
  files = list(gin_files)
  saved = os.path.join(output_dir, CONFIG_FILE) if output_dir else None
  if saved and fs.exists(saved):
    check_data_only(saved)  # Data, not code: checked before gin sees any of it.
    files.insert(0, saved)
  for f in files:
    if not fs.isfile(f):
      raise errors.ConfigError(f"--gin_file={f}: no such file.")
    with fs.open(f, encoding="utf-8") as fh:
      for line in fh:
        _check_not_hparam(line.split("#", 1)[0])
  for p in gin_params:
    _check_not_hparam(p)
  _register_fs_reader()
  gin.clear_config()
  try:
    # Not finalized: gin's lock would stop a long-lived process (the Python API in a notebook)
    # from registering a configurable later, e.g. by importing a plugin.
    gin.parse_config_files_and_bindings(files, list(gin_params), skip_unknown=False,
                                        finalize_config=False)
  except (ValueError, KeyError, SyntaxError) as e:
    raise errors.ConfigError(f"gin: {e}") from e


def _register_fs_reader() -> None:
  """Lets gin read (and include) files off the local disk: its own reader is `open`. gin
  registers a reader function once, however often this runs."""
  gin.config.register_file_reader(fs.open,
                                  lambda path: not fs.is_local(path) and fs.isfile(path))


def save(output_dir: str) -> None:
  """Writes every binding in force and the operative (used) ones to output_dir."""
  atomic.atomic_write_text(os.path.join(output_dir, CONFIG_FILE), gin.config_str())
  atomic.atomic_write_text(os.path.join(output_dir, OPERATIVE_FILE), gin.operative_config_str())
