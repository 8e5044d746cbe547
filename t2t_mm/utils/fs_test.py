"""fs and atomic writes on a filesystem that is not local (TensorFlow's ram://) and locally."""

import pytest

from t2t_mm.utils import atomic, fs


@pytest.mark.parametrize("root", ["ram://fs_test", "local"])
def test_files_and_atomic_writes(root, tmp_path):
  root = str(tmp_path) if root == "local" else root
  folder = f"{root}/a/b"
  atomic.atomic_write_text(f"{folder}/x.json", "a long first version\n")
  atomic.atomic_write_text(f"{folder}/x.json", "short\n")  # Replaces, never appends.
  assert fs.read_text(f"{folder}/x.json") == "short\n"
  assert fs.listdir(folder) == ["x.json"]  # No temp file left.
  assert fs.size(f"{folder}/x.json") == 6 and fs.isfile(f"{folder}/x.json")
  assert fs.isdir(folder) and not fs.isfile(folder)
  with pytest.raises(FileNotFoundError):
    fs.open(f"{folder}/missing")
  with fs.local_copy(f"{folder}/x.json") as local:
    assert open(local, encoding="utf-8").read() == "short\n"
  fs.replace(f"{folder}/x.json", f"{folder}/y.json")
  assert fs.glob(f"{folder}/*.json") == [f"{folder}/y.json"]
  fs.rmtree(f"{root}/a")
  assert not fs.exists(folder)


def test_a_failed_atomic_write_leaves_nothing():
  with pytest.raises(RuntimeError):
    with atomic.atomic_path("ram://fs_test_fail/x") as tmp:
      with fs.open(tmp, "w") as f:
        f.write("half")
      raise RuntimeError
  assert fs.listdir("ram://fs_test_fail") == []


def test_which_paths_are_local():
  assert fs.is_local("a/b") and fs.is_local("/a") and fs.is_local("file:///a")
  assert not fs.is_local("gs://b/a") and not fs.is_local("ram://a")
  assert fs.rename_is_atomic("ram://a") and not fs.rename_is_atomic("gs://b/a")
