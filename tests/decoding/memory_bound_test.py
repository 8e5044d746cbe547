"""A run whose hparams no machine holds is one line before its model is built."""

import json
import subprocess
import sys

import pytest

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import session_test  # noqa: E402


@pytest.fixture(scope="module")
def run_and_plugin(tmp_path_factory):
  root = tmp_path_factory.mktemp("memory_bound")
  out, pkg = session_test.make_run_with_plugin(root, "memory_plugin", ["fake_copy"])
  return out, pkg


@pytest.mark.parametrize("change", [{"moe_num_experts": 10**8}, {"filter_size": 10**9}])
def test_a_run_whose_hparams_no_machine_holds_is_refused_before_the_model_is_built(
    tool, run_and_plugin, tmp_path, change):
  run, pkg = run_and_plugin
  out = tmp_path / "copy"
  subprocess.run(["cp", "-a", str(run), str(out)], check=True)
  saved = json.loads((out / "hparams.json").read_text())
  saved["hparams"].update(change)
  (out / "hparams.json").write_text(json.dumps(saved))
  (tmp_path / "in.txt").write_text("3 4 5\n")
  result = tool("mm-decoder", f"--usr_dir={pkg}", f"--output_dir={out}",
                f"--decode_from_file={tmp_path / 'in.txt'}",
                f"--decode_to_file={tmp_path / 'out.txt'}")
  assert result.returncode == 2, result.stderr[-2000:]
  lines = [line for line in result.stderr.splitlines() if ": error: " in line]
  assert len(lines) == 1 and "the model needs at least" in lines[0], result.stderr[-2000:]
  assert "hparams.json" in lines[0] and "more than this machine's" in lines[0]
  assert not (tmp_path / "out.txt").exists()
