"""Files on any filesystem TensorFlow knows: local paths, `gs://`, `s3://`, `hdfs://`, `ram://`.

The only module that knows about filesystems (tests/gfile_only_test.py keeps it so). A local
path (no scheme, or `file://`) goes through `os` and `open` exactly as before, with the same
errors and without importing TensorFlow; any other path goes through `tf.io.gfile`.

    with fs.open("gs://bucket/run/hparams.json") as f: ...
    fs.makedirs(data_dir); fs.glob(os.path.join(data_dir, "x-*"))

What truly needs a local file (a subprocess, a library that reads paths only) takes
`local_copy(path)` and writes through `local_target(path)`.
"""

import builtins
import contextlib
import glob as _glob
import io
import os
import shutil
import tempfile
from typing import Iterator, List, Optional

from t2t_mm.utils.lazy import tf

# Filesystems whose rename replaces the target atomically (a reader sees the old or the new
# file); on the others (object stores) rename is a copy, and one object's write is atomic on
# close instead.
_ATOMIC_RENAME = ("", "file", "ram", "hdfs")


def scheme(path) -> str:
  path = os.fspath(path)
  return path.split("://", 1)[0] if "://" in path else ""


def is_local(path) -> bool:
  """True for a path of the local filesystem: no scheme, or `file://`."""
  return scheme(path) in ("", "file")


def _local(path) -> str:
  path = os.fspath(path)
  return path[len("file://"):] if path.startswith("file://") else path


def rename_is_atomic(path) -> bool:
  return scheme(path) in _ATOMIC_RENAME


def _gfile():
  return tf.io.gfile


def exists(path) -> bool:
  return os.path.exists(_local(path)) if is_local(path) else _gfile().exists(path)


def isdir(path) -> bool:
  return os.path.isdir(_local(path)) if is_local(path) else _gfile().isdir(path)


def isfile(path) -> bool:
  if is_local(path):
    return os.path.isfile(_local(path))
  return _gfile().exists(path) and not _gfile().isdir(path)


def size(path) -> int:
  return os.path.getsize(_local(path)) if is_local(path) else _gfile().stat(path).length


def makedirs(path) -> None:
  if is_local(path):
    os.makedirs(_local(path) or ".", exist_ok=True)
  else:
    _gfile().makedirs(path)


def listdir(path) -> List[str]:
  if is_local(path):
    return os.listdir(_local(path))
  return [name.rstrip("/") for name in _gfile().listdir(path)]


def glob(pattern) -> List[str]:
  """Paths matching `pattern` (`*`, `?`, `[...]`; escape names with `glob_escape`)."""
  if is_local(pattern):
    return _glob.glob(_local(pattern))
  return list(_gfile().glob(pattern))


glob_escape = _glob.escape


class _RawGFile(io.RawIOBase):
  """A GFile as a raw stream, so that io's buffers and text layer (newlines, `errors=`) wrap it
  as they wrap a local file."""

  def __init__(self, gfile, mode: str):
    self._f, self._mode = gfile, mode

  def readable(self) -> bool:
    return "r" in self._mode

  def writable(self) -> bool:
    return "r" not in self._mode

  def readinto(self, buffer) -> int:
    data = self._f.read(len(buffer))
    buffer[:len(data)] = data
    return len(data)

  def write(self, data) -> int:
    self._f.write(bytes(data))
    return len(data)

  def close(self) -> None:
    if not self.closed:
      self._f.close()
    super().close()


def open(path, mode: str = "r", encoding: str = "utf-8", errors: Optional[str] = None):  # noqa: A001
  """A file object: the builtin `open` for a local path, a `tf.io.gfile.GFile` otherwise (with
  the same buffered and text layers, so both read and write alike).

  FileNotFoundError for a missing file in a read mode, as `open` raises it.
  """
  if is_local(path):
    if "b" in mode:
      return builtins.open(_local(path), mode)
    return builtins.open(_local(path), mode, encoding=encoding, errors=errors)
  if "r" in mode and not _gfile().exists(path):
    raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
  if "w" in mode and scheme(path) == "ram" and _gfile().exists(path):
    _gfile().remove(path)  # TensorFlow's ram:// appends to an existing file in mode "w".
  binary = mode.replace("t", "").replace("b", "") + "b"
  raw = _RawGFile(_gfile().GFile(path, binary), binary)
  buffered = io.BufferedReader(raw) if "r" in mode else io.BufferedWriter(raw)
  return buffered if "b" in mode else io.TextIOWrapper(buffered, encoding=encoding, errors=errors)


def read_bytes(path) -> bytes:
  with open(path, "rb") as f:
    return f.read()


def read_text(path) -> str:
  with open(path, "r") as f:
    return f.read()


def remove(path) -> None:
  if is_local(path):
    os.remove(_local(path))
  else:
    _gfile().remove(path)


def rmtree(path, ignore_errors: bool = False) -> None:
  if is_local(path):
    shutil.rmtree(_local(path), ignore_errors=ignore_errors)
    return
  try:
    _gfile().rmtree(path)
  except tf.errors.OpError:
    if not ignore_errors:
      raise


def replace(src, dst) -> None:
  """Renames `src` over `dst` (atomic where `rename_is_atomic`, a copy on object stores)."""
  if is_local(src) and is_local(dst):
    os.replace(_local(src), _local(dst))
  else:
    _gfile().rename(src, dst, overwrite=True)


def copy(src, dst) -> None:
  if is_local(src) and is_local(dst):
    shutil.copyfile(_local(src), _local(dst))
  else:
    _gfile().copy(src, dst, overwrite=True)


def copytree(src, dst) -> None:
  """Copies the folder `src` to `dst` (made if missing), file by file."""
  makedirs(dst)
  for name in listdir(src):
    source, target = os.path.join(src, name), os.path.join(dst, name)
    if isdir(source):
      copytree(source, target)
    else:
      copy(source, target)


def abspath(path) -> str:
  """os.path.abspath for a local path; any other path is already absolute."""
  return os.path.abspath(_local(path)) if is_local(path) else os.fspath(path)


def realpath(path) -> str:
  """os.path.realpath for a local path; any other path has no links to resolve."""
  return os.path.realpath(_local(path)) if is_local(path) else os.fspath(path)


@contextlib.contextmanager
def local_copy(path) -> Iterator[str]:
  """A local path holding `path`'s bytes: `path` itself if local, else a temp copy."""
  if is_local(path):
    yield _local(path)
    return
  with tempfile.TemporaryDirectory(prefix="t2t_mm_copy_") as folder:
    local = os.path.join(folder, os.path.basename(os.fspath(path)) or "file")
    copy(path, local)
    yield local


@contextlib.contextmanager
def local_target(path) -> Iterator[str]:
  """A local path to write, copied to `path` when the block succeeds (`path` itself if local)."""
  if is_local(path):
    yield _local(path)
    return
  with tempfile.TemporaryDirectory(prefix="t2t_mm_out_") as folder:
    local = os.path.join(folder, os.path.basename(os.fspath(path)) or "file")
    yield local
    copy(local, path)
