"""Sharded TFRecords: atomic, resumable, and checked on read with errors naming the file."""

import os

import pytest

from t2t_mm import errors
from t2t_mm.data import shards


def _make(start, stop):
  return (f"record {i}".encode() * 20 for i in range(start, stop))


def _write(d, key="k", n=100, num_shards=3):
  return shards.write_split(str(d), "toy", "train", num_shards, n, _make, key=key)


def test_write_and_read_back(tmp_path):
  paths = _write(tmp_path)
  assert [os.path.basename(p) for p in paths] == [
      f"toy-train-0000{i}-of-00003" for i in range(3)]
  assert shards.split_paths(str(tmp_path), "toy", "train") == paths
  assert shards.count_examples(paths) == 100
  assert sum(shards.verify_records(p) for p in paths) == 100


def test_rerun_skips_finished_shards_and_redoes_others(tmp_path):
  paths = _write(tmp_path)
  before = {p: os.stat(p).st_mtime_ns for p in paths}
  with open(paths[0], "ab") as f:
    f.write(b"junk")  # Now unfinished: size differs from its index.
  os.remove(paths[2] + ".json")  # Killed between rename and index.
  calls = []
  shards.write_split(str(tmp_path), "toy", "train", 3, 100,
                     lambda a, b: calls.append((a, b)) or _make(a, b), key="k")
  assert calls == [(0, 33), (66, 100)]
  assert os.stat(paths[1]).st_mtime_ns == before[paths[1]]
  shards.split_paths(str(tmp_path), "toy", "train")  # Consistent again.


def test_changed_settings_rewrite_and_other_counts_are_removed(tmp_path):
  _write(tmp_path, key="a")
  calls = []
  shards.write_split(str(tmp_path), "toy", "train", 3, 100,
                     lambda a, b: calls.append(a) or _make(a, b), key="b")
  assert calls == [0, 33, 66]
  _write(tmp_path, key="b", num_shards=2)
  names = sorted(os.listdir(tmp_path))
  assert names == ["toy-train-00000-of-00002", "toy-train-00000-of-00002.json",
                   "toy-train-00001-of-00002", "toy-train-00001-of-00002.json"]


def test_stale_temp_files_are_removed(tmp_path):
  stale = tmp_path / ".toy-train-00000-of-00003.abc123.tmp"
  stale.write_bytes(b"half")
  _write(tmp_path)
  assert not stale.exists()


def test_truncated_shard_error_names_file(tmp_path):
  paths = _write(tmp_path)
  with open(paths[1], "r+b") as f:
    f.truncate(50)
  with pytest.raises(errors.DataError, match="toy-train-00001-of-00003 is corrupt"):
    shards.split_paths(str(tmp_path), "toy", "train")


def test_flipped_byte_error_names_file(tmp_path):
  paths = _write(tmp_path)
  data = bytearray(open(paths[2], "rb").read())
  data[40] ^= 0xFF
  open(paths[2], "wb").write(bytes(data))
  with pytest.raises(errors.DataError, match="toy-train-00002-of-00003 is corrupt.*CRC32"):
    shards.split_paths(str(tmp_path), "toy", "train")
  with pytest.raises(errors.DataError, match="toy-train-00002-of-00003 is corrupt"):
    shards.verify_records(paths[2])


def test_missing_shards_are_reported(tmp_path):
  with pytest.raises(errors.DataError,
                     match="No shards of problem 'toy' split 'train'.*mm-datagen"):
    shards.split_paths(str(tmp_path), "toy", "train")
  paths = _write(tmp_path)
  os.remove(paths[1])
  with pytest.raises(errors.DataError, match="Missing shard .*toy-train-00001-of-00003"):
    shards.split_paths(str(tmp_path), "toy", "train")
  _write(tmp_path)
  os.remove(paths[0] + ".json")
  with pytest.raises(errors.DataError, match="toy-train-00000-of-00003 is unfinished"):
    shards.split_paths(str(tmp_path), "toy", "train")
