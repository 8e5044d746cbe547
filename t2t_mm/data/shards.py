"""Sharded TFRecord files, written atomically and checked when read.

Layout in data_dir, for problem `name` and split `split` in N shards:

    {name}-{split}-00000-of-0000N          TFRecord file of serialized tf.train.Examples
    {name}-{split}-00000-of-0000N.json     {"examples": count, "bytes": size, "crc32": c},
                                           written last

Shard i holds examples [i*n//N, (i+1)*n//N) of the split, produced by `make_examples(start,
stop)`, so each shard can be (re)made on its own. A shard is written to a temp name and renamed
when complete, then its .json is written; a shard counts as finished only when both exist and
the size matches. A rerun after a crash or SIGKILL skips finished shards and redoes the rest,
giving the same bytes as an uninterrupted run (generators are deterministic).
"""

from __future__ import annotations

import json
import os
import re
from typing import Callable, Iterable, List, NamedTuple, Optional

import zlib

from t2t_mm import errors
from t2t_mm.utils import atomic, fs
from t2t_mm.utils.lazy import tf

_SHARD_RE = re.compile(r"^(?P<prefix>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})$")


def shard_path(data_dir: str, name: str, split: str, index: int, num_shards: int) -> str:
  return os.path.join(data_dir, f"{name}-{split}-{index:05d}-of-{num_shards:05d}")


def shard_range(index: int, num_shards: int, num_examples: int):
  """The [start, stop) example range of shard `index`."""
  return index * num_examples // num_shards, (index + 1) * num_examples // num_shards


def is_finished(path: str, key: str = "") -> bool:
  """True if `path` is complete and was made with the same `key` (problem settings)."""
  meta = path + ".json"
  if not (fs.isfile(path) and fs.isfile(meta)):
    return False
  with fs.open(meta, encoding="utf-8") as f:
    try:
      info = json.load(f)
    except ValueError:
      return False
  return info.get("bytes") == fs.size(path) and info.get("key", "") == key


def _remove_stale_temps(data_dir: str, name: str, split: str) -> None:
  """Temp files left by a killed writer (atomic_path names them `.{basename}.*.tmp`)."""
  for tmp in fs.glob(os.path.join(data_dir, f".{fs.glob_escape(name)}-{split}-*.tmp")):
    fs.remove(tmp)


def write_shard(path: str, examples: Iterable[bytes],
                on_example: Optional[Callable[[], None]] = None, key: str = "") -> int:
  """Writes serialized examples to `path` atomically, then its .json; returns the count."""
  count = 0
  with atomic.atomic_path(path) as tmp:
    with tf.io.TFRecordWriter(tmp) as writer:
      for record in examples:
        writer.write(record)
        count += 1
        if on_example:
          on_example()
  atomic.atomic_write_text(path + ".json", json.dumps(
      {"examples": count, "bytes": fs.size(path), "crc32": file_crc32(path),
       "key": key}))
  return count


class ShardTask(NamedTuple):
  """One shard to write: shard `index` of `num_shards` of `split`, holding its part of the
  split's `num_examples`; `key` describes the settings it is made with."""

  name: str
  split: str
  index: int
  num_shards: int
  num_examples: int
  key: str

  @property
  def range(self):
    return shard_range(self.index, self.num_shards, self.num_examples)


def prepare_split(data_dir: str, name: str, split: str, num_shards: int) -> None:
  """Removes temp files of killed writers and shards of another shard count."""
  fs.makedirs(data_dir)
  _remove_stale_temps(data_dir, name, split)
  pattern = os.path.join(data_dir, f"{fs.glob_escape(name)}-{split}-[0-9]*-of-[0-9]*")
  for p in fs.glob(pattern):
    m = _SHARD_RE.match(os.path.basename(p.removesuffix(".json")))
    if m and int(m["n"]) != num_shards:
      fs.remove(p)


def write_task(data_dir: str, task: ShardTask,
               make_examples: Callable[[int, int], Iterable[bytes]],
               on_example: Optional[Callable[[], None]] = None) -> int:
  """Writes the shard of `task` unless it is finished with the same key; returns its count."""
  path = shard_path(data_dir, task.name, task.split, task.index, task.num_shards)
  start, stop = task.range
  if is_finished(path, task.key):
    if on_example:
      for _ in range(stop - start):
        on_example()
    with fs.open(path + ".json", encoding="utf-8") as f:
      return json.load(f)["examples"]
  return write_shard(path, make_examples(start, stop), on_example, task.key)


def write_split(data_dir: str, name: str, split: str, num_shards: int, num_examples: int,
                make_examples: Callable[[int, int], Iterable[bytes]],
                on_example: Optional[Callable[[], None]] = None, key: str = "") -> List[str]:
  """Writes the unfinished shards of one split; returns every shard path of the split.

  `key` describes the settings the data was made with; a shard made with another key (other
  sizes, --max_cases) is rewritten, and shards of another shard count are removed.
  """
  prepare_split(data_dir, name, split, num_shards)
  for i in range(num_shards):
    write_task(data_dir, ShardTask(name, split, i, num_shards, num_examples, key),
               make_examples, on_example)
  return [shard_path(data_dir, name, split, i, num_shards) for i in range(num_shards)]


# Splits up to this size get a full CRC check when opened; larger ones only a size check.
CHECKSUM_MAX_BYTES = 512 << 20


def split_paths(data_dir: str, name: str, split: str) -> List[str]:
  """The complete, checked shard list of a split; DataError naming what is missing or broken."""
  pattern = os.path.join(data_dir, f"{fs.glob_escape(name)}-{split}-[0-9]*-of-[0-9]*")
  found = sorted(p for p in fs.glob(pattern)
                 if _SHARD_RE.match(os.path.basename(p)) and not p.endswith(".json"))
  if not found:
    raise errors.DataError(
        f"No shards of problem '{name}' split '{split}' in {data_dir} (expected files like "
        f"{os.path.basename(shard_path(data_dir, name, split, 0, 1))}); run "
        f"`mm-datagen --problem={name} --data_dir={data_dir}`.")
  counts = {int(_SHARD_RE.match(os.path.basename(p))["n"]) for p in found}
  if len(counts) != 1:
    raise errors.DataError(f"Shards of '{name}' split '{split}' in {data_dir} mix shard counts "
                           f"{sorted(counts)}; delete them and rerun mm-datagen.")
  n = counts.pop()
  paths = [shard_path(data_dir, name, split, i, n) for i in range(n)]
  for p in paths:
    if not fs.isfile(p):
      raise errors.DataError(f"Missing shard {p}; rerun mm-datagen --problem={name}.")
  checksum = sum(fs.size(p) for p in paths) <= CHECKSUM_MAX_BYTES
  for p in paths:
    check_shard(p, checksum=checksum)
  return paths


def file_crc32(path: str) -> int:
  crc = 0
  with fs.open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 22), b""):
      crc = zlib.crc32(block, crc)
  return crc


def check_shard(path: str, checksum: bool = True) -> None:
  """Checks a shard against its .json: DataError naming a truncated, altered or unfinished file.

  The size is always checked; the CRC (one read of the file) when `checksum`.
  """
  meta = path + ".json"
  if not fs.isfile(meta):
    raise errors.DataError(f"Shard {path} is unfinished (no {os.path.basename(meta)}); rerun "
                           "mm-datagen to complete it.")
  with fs.open(meta, encoding="utf-8") as f:
    try:
      meta_info = json.load(f)
      expected = meta_info["bytes"]
    except (ValueError, KeyError) as e:
      raise errors.DataError(f"Shard index {meta} is unreadable ({e}); delete it and the shard, "
                             "then rerun mm-datagen.") from e
  size = fs.size(path)
  if size != expected:
    raise errors.DataError(f"Shard {path} is corrupt: {size} bytes, its index says {expected} "
                           "(truncated or overwritten); delete it and rerun mm-datagen.")
  if checksum and "crc32" in meta_info and file_crc32(path) != meta_info["crc32"]:
    raise errors.DataError(f"Shard {path} is corrupt: its CRC32 differs from its index; delete "
                           "it and rerun mm-datagen.")


def count_examples(paths: List[str]) -> int:
  total = 0
  for p in paths:
    with fs.open(p + ".json", encoding="utf-8") as f:
      total += json.load(f)["examples"]
  return total


def verify_records(path: str) -> int:
  """Reads every record of `path` (checking CRCs); DataError naming the file if one is bad."""
  n = 0
  try:
    for _ in tf.data.TFRecordDataset(path):
      n += 1
  except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as e:
    raise errors.DataError(f"Shard {path} is corrupt after {n} records: {e.message}") from e
  return n
