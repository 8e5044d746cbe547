"""Plugins: a user's folder of problems and hparams sets (`--usr_dir`), or an installed package.

An installed package registers itself with no flag by declaring an entry point:

    setup(..., entry_points={"t2t_mm.plugins": ["my_problems = my_package.problems"]})

Loading a plugin just imports its module; its `@registry.register_*` decorators do the rest.
What this process loaded (`loaded()`) is recorded in a run folder by the trainer, so the
decoder, the exporter and the evaluator can load the same plugins from the run alone
(t2t_mm/runs/outputs.py).

Plugins by consent. A run folder is data: whoever sends you one must not be able to make the
tools run code. So a folder a run *names* is imported only if you consented to it on this
machine: passing a folder with `--usr_dir` once records it, with a digest of its Python files,
in a per-user list of trusted folders (as direnv's `allow`):

    trust file: $T2T_MM_TRUST_FILE, else $XDG_CONFIG_HOME/t2t_mm/trusted_plugins.json,
                else ~/.config/t2t_mm/trusted_plugins.json
    {"version": 1, "folders": {"/abs/real/path": {"digest": "sha256...", "since": "..."}}}

A folder is compared by its real path (symlinks resolved) and its digest: an edited plugin is
trusted again by passing `--usr_dir` again. Entry-point plugins are installed packages, which
you chose to install; they load without asking. No folder is ever put on sys.path: the package
is imported from its own `__init__.py`, so nothing beside it can shadow another module.
"""

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import time
from typing import Dict, List, Optional

from t2t_mm import errors
from t2t_mm.utils import atomic

ENTRY_POINT_GROUP = "t2t_mm.plugins"
TRUST_FILE_ENV = "T2T_MM_TRUST_FILE"

_usr_dirs: List[str] = []
_entry_points: List[Dict[str, str]] = []


def trust_file() -> str:
  """Where this user's trusted plugin folders are listed (see the module docstring)."""
  if os.environ.get(TRUST_FILE_ENV):
    return os.environ[TRUST_FILE_ENV]
  config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
  return os.path.join(config, "t2t_mm", "trusted_plugins.json")


def folder_digest(folder: str) -> str:
  """sha256 over the relative paths and bytes of every .py file under `folder` (sorted)."""
  h = hashlib.sha256()
  for root, dirs, files in os.walk(folder):
    dirs[:] = sorted(d for d in dirs if d != "__pycache__")
    for name in sorted(files):
      if name.endswith(".py"):
        path = os.path.join(root, name)
        h.update(os.path.relpath(path, folder).encode("utf-8") + b"\0")
        with open(path, "rb") as f:
          h.update(hashlib.sha256(f.read()).digest())
  return h.hexdigest()


def _read_trusted(path: str) -> Dict[str, dict]:
  if not os.path.exists(path):
    return {}
  try:
    with open(path, encoding="utf-8") as f:
      data = json.load(f)
    folders = data["folders"]
    if not isinstance(folders, dict):
      raise TypeError("folders is not an object")
    return folders
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise errors.ConfigError(
        f"The list of trusted plugin folders {path} is unreadable ({e}); delete it (every "
        "folder is then trusted again by passing it with --usr_dir).") from e


@contextlib.contextmanager
def _trust_file_locked(path: str):
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  with open(path + ".lock", "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(lock, fcntl.LOCK_UN)


def trust_folder(folder: str, path: Optional[str] = None) -> None:
  """Records `folder` (resolved) and its digest as trusted by this user."""
  path = path or trust_file()
  real = os.path.realpath(folder)
  with _trust_file_locked(path):
    folders = _read_trusted(path)
    folders[real] = {"digest": folder_digest(real), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    atomic.atomic_write_text(path, json.dumps({"version": 1, "folders": folders}, indent=2,
                                              sort_keys=True) + "\n")


def check_trusted(folder: str, who: str, path: Optional[str] = None) -> None:
  """Raises ConfigError unless `folder` is trusted with its current digest. `who` names what
  asks for it (e.g. "The run RUN was trained with")."""
  path = path or trust_file()
  real = os.path.realpath(folder)
  entry = _read_trusted(path).get(real)
  if entry is None:
    raise errors.ConfigError(
        f"{who} the plugin folder {folder}, which you have not trusted on this machine (a run "
        f"folder never runs code by itself); if you trust its code, pass --usr_dir={real}.")
  if entry.get("digest") != folder_digest(real):
    raise errors.ConfigError(
        f"{who} the plugin folder {folder}, whose Python files changed since you trusted it "
        f"({entry.get('since', '?')}); if you trust its code now, pass --usr_dir={real}.")


def _plugin_folder(usr_dir: str) -> str:
  path = os.path.realpath(os.path.expanduser(usr_dir))
  if not os.path.isfile(os.path.join(path, "__init__.py")):
    raise errors.ConfigError(
        f"--usr_dir={usr_dir}: expected a folder holding a Python package (with __init__.py) "
        "that imports your problems and hparams sets.")
  return path


def import_usr_dir(usr_dir: str, trust: bool = True, trust_path: Optional[str] = None) -> None:
  """Imports the Python package at `usr_dir` (a folder with an __init__.py).

  `trust`: the user named this folder (--usr_dir), which records it as trusted; a folder that
  only a run folder names is checked with check_trusted first (t2t_mm/runs/outputs.py).
  """
  path = _plugin_folder(usr_dir)
  name = os.path.basename(path)
  if not name.isidentifier():
    raise errors.ConfigError(f"--usr_dir={usr_dir}: the folder's name '{name}' is not a Python "
                             "package name; rename it.")
  loaded = sys.modules.get(name)
  if loaded is not None:
    where = os.path.dirname(os.path.realpath(getattr(loaded, "__file__", "") or ""))
    if where != path:
      raise errors.ConfigError(
          f"--usr_dir={usr_dir}: a module named '{name}' is already imported from {where}; "
          "rename your folder.")
  else:
    if trust:
      trust_folder(path, trust_path)
    # Imported from its own __init__.py with no folder added to sys.path: its submodules are
    # found through the package's __path__, and nothing beside the folder shadows a module.
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(path, "__init__.py"), submodule_search_locations=[path])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
      spec.loader.exec_module(module)
    except BaseException:
      del sys.modules[name]
      raise
  if path not in _usr_dirs:
    _usr_dirs.append(path)


BUILTINS_GROUP = "t2t_mm.components"


def load_builtin_components() -> None:
  """Imports t2t_mm's own components (t2t_mm/builtins.py) through its entry-point group; they
  are not plugins a run folder records. A ConfigError if t2t_mm's metadata is not installed."""
  found = list(importlib.metadata.entry_points(group=BUILTINS_GROUP))
  if not found:
    raise errors.ConfigError(
        f"t2t_mm's own problems, hparams sets and models are found through its installed "
        f"entry points (group {BUILTINS_GROUP!r}), and there are none: install t2t_mm "
        "(pip install . or pip install -e . in its checkout) instead of putting its source "
        "folder on sys.path.")
  for entry_point in found:
    entry_point.load()


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
