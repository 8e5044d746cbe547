"""Every file a user's path can reach goes through t2t_mm.utils.fs (tf.io.gfile off the local
disk): no module under t2t_mm/ calls open/os/glob/shutil on a path, except the few places that
must be local, named below with why."""

import ast
import os

import t2t_mm

ROOT = os.path.dirname(os.path.realpath(t2t_mm.__file__))

OS_CALLS = {"exists", "isfile", "isdir", "getsize", "getmtime", "makedirs", "mkdir", "listdir",
            "remove", "unlink", "replace", "rename", "stat", "scandir", "walk", "link", "rmdir",
            "chmod", "access", "fdopen", "lstat"}
MODULE_CALLS = {"glob": {"glob", "iglob"}, "np": {"load", "save", "savez"}}

# (file under t2t_mm/, function): why it may touch the local disk directly.
ALLOWED = {
    ("utils/fs.py", "*"): "the one module that knows filesystems",
    ("utils/atomic.py", "atomic_path"): "the local branch: mkstemp + fsync + os.replace",
    ("utils/atomic.py", "atomic_write_bytes"): "the local branch's fsync",
    ("runs/lock.py", "_start_time"): "/proc of this host",
    ("runs/lock.py", "acquire"): "the local branch: os.link and its temp file",
    ("runs/lock.py", "_take_over_if_dead"): "flock of the local take-over guard",
    ("data/mini/speech.py", "__init__"): "numpy reads and writes the word bank in memory",
    ("plugins.py", "*"): "plugin code and ~/.config are local: Python imports from them",
}

# Modules not converted yet (issue 29, item 1): each entry is removed when its module is.
NOT_YET = {
    "decoding/export.py",
    "decoding/file_decode.py",
    "decoding/loading.py",
    "eval/full_split.py",
    "eval/records.py",
    "experiments/plot.py",
    "experiments/runner.py",
    "experiments/tables.py",
    "training/run.py",
}


def _name(node) -> str:
  if isinstance(node, ast.Name):
    return node.id
  if isinstance(node, ast.Attribute):
    return f"{_name(node.value)}.{node.attr}"
  return "?"


def _raw_calls(path):
  """(function, call) of every raw file call in the module at `path`."""
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read())
  found = []

  def visit(node, function):
    for child in ast.iter_child_nodes(node):
      if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
        visit(child, child.name)
        continue
      if isinstance(child, ast.Call):
        name = _name(child.func)
        head, _, last = name.rpartition(".")
        if (name in ("open", "io.open")
            or head in ("os", "os.path") and last in OS_CALLS
            or last in MODULE_CALLS.get(head, ())
            or head == "shutil" and last != "which"):
          found.append((function, name))
      visit(child, function)

  visit(tree, "<module>")
  return found


def _violations():
  out = {}
  for folder, dirs, files in os.walk(ROOT):
    dirs[:] = [d for d in dirs if d not in ("testing", "__pycache__")]
    for name in files:
      if name.endswith(".py") and not name.endswith("_test.py"):
        path = os.path.join(folder, name)
        rel = os.path.relpath(path, ROOT)
        for function, call in _raw_calls(path):
          out.setdefault((rel, function), []).append(call)
  return out


def _allowed(key) -> bool:
  rel, _ = key
  return key in ALLOWED or (rel, "*") in ALLOWED or rel in NOT_YET


def test_no_module_opens_a_path_outside_fs():
  bad = {f"{rel}:{function}: {', '.join(calls)}"
         for (rel, function), calls in _violations().items() if not _allowed((rel, function))}
  assert not bad, ("Raw file calls (use t2t_mm.utils.fs, or allow-list the function with why):\n"
                   + "\n".join(sorted(bad)))


def test_the_allow_lists_name_only_functions_that_need_them():
  found = _violations()
  files = {rel for rel, _ in found}
  stale = [k for k in ALLOWED if k not in found and not (k[1] == "*" and k[0] in files)]
  stale += [rel for rel in NOT_YET if rel not in files]
  assert not stale, f"Allow-list entries with no raw file call left: {stale}"


def test_the_check_finds_a_raw_call(tmp_path):
  path = tmp_path / "m.py"
  path.write_text("import os, glob, shutil\ndef f(p):\n  os.path.isfile(p)\n  glob.glob(p)\n"
                  "  shutil.copy(p, p)\n  shutil.which('x')\n  with open(p) as g: pass\n")
  assert _raw_calls(str(path)) == [("f", "os.path.isfile"), ("f", "glob.glob"),
                                   ("f", "shutil.copy"), ("f", "open")]
