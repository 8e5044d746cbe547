"""Plugins: a user's folder of problems and hparams sets (`--usr_dir`), or an installed package.

An installed package registers itself with no flag by declaring an entry point:

    setup(..., entry_points={"t2t_mm.plugins": ["my_problems = my_package.problems"]})

Loading a plugin just imports its module; its `@registry.register_*` decorators do the rest.
What this process loaded (`loaded()`) is recorded in a run folder by the trainer, so the
decoder, the exporter and the evaluator load the same plugins from the run alone
(t2t_mm/runs/outputs.py).
"""

import importlib
import importlib.metadata
import os
import sys
from typing import Dict, List

from t2t_mm import errors

ENTRY_POINT_GROUP = "t2t_mm.plugins"

_usr_dirs: List[str] = []
_entry_points: List[Dict[str, str]] = []


def import_usr_dir(usr_dir: str) -> None:
  """Imports the Python package at `usr_dir` (a folder with an __init__.py)."""
  path = os.path.abspath(os.path.expanduser(usr_dir)).rstrip(os.sep)
  if not os.path.isfile(os.path.join(path, "__init__.py")):
    raise errors.ConfigError(
        f"--usr_dir={usr_dir}: expected a folder holding a Python package (with __init__.py) "
        "that imports your problems and hparams sets.")
  parent, name = os.path.split(path)
  loaded = sys.modules.get(name)
  if loaded is not None:
    where = os.path.dirname(os.path.abspath(getattr(loaded, "__file__", "") or ""))
    if where != path:
      raise errors.ConfigError(
          f"--usr_dir={usr_dir}: a module named '{name}' is already imported from {where}; "
          "rename your folder.")
  else:
    # The folder's parent stays on sys.path so that the plugin's own lazy imports keep working.
    if parent not in sys.path:
      sys.path.insert(0, parent)
    importlib.import_module(name)
  if path not in _usr_dirs:
    _usr_dirs.append(path)


def load_entry_point_plugins() -> None:
  """Imports every module declared in the `t2t_mm.plugins` entry-point group."""
  for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
    entry_point.load()
    record = entry_point_record(entry_point)
    if record not in _entry_points:
      _entry_points.append(record)


def entry_point_record(entry_point) -> Dict[str, str]:
  """{"name", "module", "package"} of an entry point: what a run folder remembers of it."""
  dist = getattr(entry_point, "dist", None)
  return {"name": entry_point.name, "module": entry_point.value,
          "package": dist.metadata["Name"] if dist is not None else ""}


def installed_entry_points() -> List[Dict[str, str]]:
  """The records of every entry point of the group installed now (loaded or not)."""
  return [entry_point_record(e)
          for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)]


def loaded() -> Dict[str, list]:
  """{"usr_dirs": absolute folders, "entry_points": records} imported by this process."""
  return {"usr_dirs": list(_usr_dirs), "entry_points": [dict(e) for e in _entry_points]}
