"""Every file a user's path can reach goes through t2t_mm.utils.fs (tf.io.gfile off the local
disk): no module of the library (t2t_mm/, bin/, problems/, hparams/) calls open, os, glob or
shutil on a path, except the few places that must be local, named below with why."""

import ast
import os

import t2t_mm

ROOT = os.path.dirname(os.path.realpath(t2t_mm.__file__))

OS_CALLS = {"exists", "isfile", "isdir", "getsize", "getmtime", "makedirs", "mkdir", "listdir",
            "remove", "unlink", "replace", "rename", "stat", "scandir", "walk", "link", "rmdir",
            "chmod", "access", "fdopen", "lstat"}
MODULE_CALLS = {"glob": {"glob", "iglob"}, "np": {"load", "save", "savez"}, "gzip": {"open"},
                "wave": {"open"}, "io": {"open"}}

# (file under t2t_mm/, function): why it may touch the local disk directly.
ALLOWED = {
    ("utils/fs.py", "*"): "the one module that knows filesystems",
    ("utils/atomic.py", "atomic_path"): "the local branch: mkstemp + fsync + os.replace",
    ("utils/atomic.py", "atomic_write_bytes"): "the local branch's fsync",
    ("runs/lock.py", "_start_time"): "/proc of this host",
    ("runs/lock.py", "acquire"): "the local branch: os.link and its temp file",
    ("runs/lock.py", "_take_over_if_dead"): "flock of the local take-over guard",
    ("data/mini/speech.py", "__init__"): "np.savez into an in-memory buffer",
    ("decoding/file_decode.py", "check_paths"): "os.access: permissions of local paths only",
    ("decoding/export.py", "export_run"): "the local branch: mkdtemp beside, os.replace into place",
    ("decoding/export.py", "check_export_dir"): "os.access: permissions of local paths only",
    ("decoding/export.py", "_remove_stale_temps"): "the local branch's temp folders",
    ("eval/records.py", "add_to_index"): "flock of the local index guard",
    ("training/job.py", "_check_writable"): "the local branch: a probe file's permissions",
    ("bin/tf_startup.py", "*"): "/dev/nvidiactl and the process's own stderr descriptor",
    ("plugins.py", "*"): "plugin code and ~/.config are local: Python imports from them",
}


def _name(node) -> str:
  if isinstance(node, ast.Name):
    return node.id
  if isinstance(node, ast.Attribute):
    return f"{_name(node.value)}.{node.attr}"
  return "?"


def _in_memory(call) -> bool:
  """A call whose first argument is io.BytesIO(...): no file."""
  return bool(call.args) and isinstance(call.args[0], ast.Call) and _name(
      call.args[0].func) in ("io.BytesIO", "BytesIO")


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
        if (name == "open"
            or head in ("os", "os.path") and last in OS_CALLS
            or last in MODULE_CALLS.get(head, ()) and not _in_memory(child)
            or head == "shutil" and last != "which"):
          found.append((function, name))
      elif (isinstance(child, ast.Name) and child.id == "open"
            and isinstance(child.ctx, ast.Load) and not isinstance(node, ast.Call)):
        found.append((function, "open"))  # The builtin passed on (`opener = ... or open`).
      visit(child, function)

  visit(tree, "<module>")
  return found


def _roots():
  """The library, and the top-level packages of the checkout installed into it."""
  yield ROOT, ""
  source = os.path.dirname(ROOT)
  for part in ("bin", "problems", "hparams"):
    if os.path.isdir(os.path.join(source, part)):
      yield os.path.join(source, part), part + "/"


def _violations():
  out = {}
  for root, label in _roots():
    _walk(root, label, out)
  return out


def _walk(root, label, out):
  for folder, dirs, files in os.walk(root):
    dirs[:] = [d for d in dirs if d not in ("testing", "__pycache__")]
    for name in files:
      if name.endswith(".py") and not name.endswith("_test.py"):
        path = os.path.join(folder, name)
        rel = label + os.path.relpath(path, root)
        for function, call in _raw_calls(path):
          out.setdefault((rel, function), []).append(call)


def _allowed(key) -> bool:
  rel, _ = key
  return key in ALLOWED or (rel, "*") in ALLOWED


def test_no_module_opens_a_path_outside_fs():
  bad = {f"{rel}:{function}: {', '.join(calls)}"
         for (rel, function), calls in _violations().items() if not _allowed((rel, function))}
  assert not bad, ("Raw file calls (use t2t_mm.utils.fs, or allow-list the function with why):\n"
                   + "\n".join(sorted(bad)))


def test_the_allow_lists_name_only_functions_that_need_them():
  found = _violations()
  files = {rel for rel, _ in found}
  stale = [k for k in ALLOWED if k not in found and not (k[1] == "*" and k[0] in files)]
  assert not stale, f"Allow-list entries with no raw file call left: {stale}"


def test_the_check_finds_a_raw_call(tmp_path):
  path = tmp_path / "m.py"
  path.write_text("import os, glob, shutil\ndef f(p):\n  os.path.isfile(p)\n  glob.glob(p)\n"
                  "  shutil.copy(p, p)\n  shutil.which('x')\n  with open(p) as g: pass\n"
                  "  opener = open\n")
  assert _raw_calls(str(path)) == [("f", "os.path.isfile"), ("f", "glob.glob"),
                                   ("f", "shutil.copy"), ("f", "open"), ("f", "open")]
