"""Atomic file writes: write to a temp file in the same folder, then rename over the target.

A reader (or a rerun after SIGKILL) therefore sees either the old file or the complete new one,
never a half-written file. os.replace is atomic on POSIX within one filesystem.
"""

import contextlib
import os
import tempfile
from typing import Iterator, Union


@contextlib.contextmanager
def atomic_path(path: Union[str, os.PathLike]) -> Iterator[str]:
  """Yields a temp path beside `path`; renames it to `path` if the block succeeds.

  Example:
    with atomic_path("out/shard-00000") as tmp:
      write_records(tmp)
  """
  path = os.fspath(path)
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


def atomic_write_text(path: Union[str, os.PathLike], text: str) -> None:
  """Writes `text` (UTF-8) to `path` atomically."""
  with atomic_path(path) as tmp:
    with open(tmp, "w", encoding="utf-8") as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
