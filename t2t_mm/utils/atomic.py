"""Atomic file writes: write to a temp file in the same folder, then rename over the target.

A reader (or a rerun after SIGKILL) therefore sees either the old file or the complete new one,
never a half-written file. os.replace is atomic on POSIX within one filesystem, and so is
rename on `ram://` and HDFS. On object stores (`gs://`, `s3://`) rename is a copy, but one
object's write is atomic on close: there the file is written under its own name directly.
"""

import contextlib
import os
import secrets
import tempfile
from typing import Iterator, Union

from t2t_mm.utils import fs


@contextlib.contextmanager
def atomic_path(path: Union[str, os.PathLike]) -> Iterator[str]:
  """Yields a temp path beside `path`; renames it to `path` if the block succeeds.

  The block writes the path through `fs.open` or TensorFlow's writers (any filesystem).

  Example:
    with atomic_path("out/shard-00000") as tmp:
      write_records(tmp)
  """
  path = os.fspath(path)
  if not fs.is_local(path):
    with _remote_atomic_path(path) as tmp:
      yield tmp
    return
  folder = os.path.dirname(path) or "."
  os.makedirs(folder, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
  os.close(fd)
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions.
  try:
    yield tmp
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


@contextlib.contextmanager
def _remote_atomic_path(path: str) -> Iterator[str]:
  fs.makedirs(os.path.dirname(path))
  if not fs.rename_is_atomic(path):
    yield path  # An object store: the object appears whole when its writer closes.
    return
  # The same temp name pattern as the local branch (datagen removes stale ones by it).
  tmp = os.path.join(os.path.dirname(path),
                     f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
  try:
    yield tmp
    fs.replace(tmp, path)
  finally:
    if fs.exists(tmp):
      fs.remove(tmp)


def atomic_write_bytes(path: Union[str, os.PathLike], data: bytes) -> None:
  """Writes `data` to `path` atomically."""
  with atomic_path(path) as tmp:
    if not fs.is_local(tmp):
      with fs.open(tmp, "wb") as f:
        f.write(data)
      return
    with open(tmp, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())


def atomic_write_text(path: Union[str, os.PathLike], text: str) -> None:
  """Writes `text` (UTF-8) to `path` atomically."""
  atomic_write_bytes(path, text.encode("utf-8"))
