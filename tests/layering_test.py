"""Packages are layers: each imports only packages below it, so there is no import cycle."""

import ast
import os
import re

import t2t_mm

# Rank of each top-level part of t2t_mm: a module may import ranks lower than or equal to its own
# only within its own package (equal ranks of different packages are siblings: no imports).
RANKS = {
    "errors": 0, "utils": 0,
    "config": 1, "metrics": 1,
    "plugins": 1,
    "registry": 2,
    "data": 3, "hparams": 3,
    "problems": 4, "layers": 4,
    "modalities": 5,
    "models": 6,
    "search": 7,
    "builtins": 7,  # t2t_mm/builtins.py: imports every registering package; loaded by entry point.
    "runs": 8,
    "training": 9, "decoding": 9,
    "testing": 10, "eval": 10,
    "experiments": 11,  # Above eval: tests each run's best checkpoints with mm-eval's code.
    "api": 11,  # t2t_mm/api.py: the Python API, what bin/ calls.
    "serve": 12,  # mm-serve's web app over api.Run.
    "bin": 13,
}
ROOT = os.path.dirname(t2t_mm.__file__)
MODULE_NAME = re.compile(r"t2t_mm(\.[A-Za-z_]\w*)+")


def _part(module: str) -> str:
  parts = module.split(".")
  return parts[1] if len(parts) > 1 and parts[0] == "t2t_mm" else ""


def _is_module(name: str) -> bool:
  """Whether t2t_mm.X.Y names a module or package of the library or the checkout's top level."""
  rel = name.split(".")[1:]
  source = os.path.dirname(os.path.realpath(ROOT))
  bases = [os.path.realpath(ROOT)] + [source] if rel and rel[0] in TOP_LEVEL else [
      os.path.realpath(ROOT)]
  return any(os.path.isfile(os.path.join(base, *rel) + ".py")
             or os.path.isdir(os.path.join(base, *rel)) for base in bases)


def _imports(path: str):
  """Every t2t_mm module imported anywhere in the file (functions included), and every string
  that is the whole name of one (importlib.import_module("t2t_mm.models"), lists of names):
  an import by string is an import too."""
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read())
  for node in ast.walk(tree):
    if (isinstance(node, ast.Constant) and isinstance(node.value, str)
        and MODULE_NAME.fullmatch(node.value) and _is_module(node.value)):
      yield node.value
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("t2t_mm"):
      if node.module == "t2t_mm":
        yield from (f"t2t_mm.{alias.name}" for alias in node.names)
      else:
        yield node.module
    elif isinstance(node, ast.Import):
      yield from (a.name for a in node.names if a.name.startswith("t2t_mm."))


# bin/, problems/ and hparams/ sit at the top of the source tree (setup.py's package_dir).
TOP_LEVEL = ("bin", "problems", "hparams")


def _folders():
  """(folder, part or None) pairs: the library, then the top-level packages of the checkout."""
  yield os.path.realpath(ROOT), None
  source = os.path.dirname(os.path.realpath(ROOT))
  for part in TOP_LEVEL:
    if os.path.isdir(os.path.join(source, part)):
      yield os.path.join(source, part), part


def _library_files():
  """(path, part) of every non-test module."""
  for top, part in _folders():
    for folder, _, files in os.walk(top):
      for name in files:
        if name.endswith(".py") and not name.endswith("_test.py"):
          path = os.path.join(folder, name)
          yield path, part or _own_part(path)


def _own_part(path: str) -> str:
  rel = os.path.relpath(path, os.path.realpath(ROOT)).split(os.sep)
  part = rel[0][:-3] if rel[0].endswith(".py") else rel[0]
  return "" if part == "__init__" else part


def test_every_package_has_a_rank():
  parts = {part for _, part in _library_files()} - {""}
  assert parts <= set(RANKS), sorted(parts - set(RANKS))
  assert {"bin", "problems", "hparams", "runs", "search"} <= parts


def test_no_package_imports_one_above_it_or_a_sibling():
  wrong = []
  for path, own in _library_files():
    if not own:
      continue
    for module in _imports(path):
      target = _part(module)
      if target and target != own and RANKS.get(target, 99) >= RANKS[own]:
        wrong.append(f"{os.path.relpath(path, ROOT)} ({own}, rank {RANKS[own]}) imports "
                     f"{module} (rank {RANKS.get(target)})")
  assert not wrong, "\n".join(wrong)
