"""docs/own_problems.md runs as written: its files are written, its commands run, in order."""

import json
import os
import re
import subprocess
import sys

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                   "own_problems.md")
BLOCK = re.compile(r"^```(python|bash)\n(.*?)^```", re.S | re.M)


def blocks():
  with open(DOC, encoding="utf-8") as f:
    return BLOCK.findall(f.read())


def _file_name(code: str):
  """The file a python block is (its first line: `# file: PATH` or `# NAME.py: ...`)."""
  first = code.splitlines()[0]
  match = re.match(r"# file: (\S+)$", first) or re.match(r"# (\S+\.py):", first)
  return match.group(1) if match else None


def test_the_guide_has_a_plugin_of_about_40_lines_and_every_block_is_runnable():
  kinds = [kind for kind, _ in blocks()]
  assert kinds.count("bash") >= 5 and kinds.count("python") == 2
  for kind, code in blocks():
    if kind == "python":
      assert _file_name(code), code[:80]
  plugin = [code for kind, code in blocks() if _file_name(code) == "my_data/__init__.py"][0]
  lines = [line for line in plugin.splitlines() if line.strip() and not line.startswith("#")]
  assert len(lines) <= 45, len(lines)


def test_every_block_of_the_guide_runs_in_order(tmp_path):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
             PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
  outputs = []
  for kind, code in blocks():
    if kind == "python":
      path = tmp_path / _file_name(code)
      path.parent.mkdir(parents=True, exist_ok=True)
      path.write_text(code, encoding="utf-8")
      continue
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, f"{code}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    outputs.append(result.stdout + result.stderr)
  everything = "\n".join(outputs)
  # datagen reported lengths against the limits; the speech problem's limit is its own.
  assert "my_parsing: lengths" in everything and "targets: p50 " in everything
  assert "my_speech: lengths" in everything and "the problem's own limit (1.00 s)" in everything
  # The decoder found the plugin through the run folder, and answered every line.
  assert "Loaded the run's plugin" in everything
  assert len((tmp_path / "sentences.txt.decoded").read_text().splitlines()) == 2
  digits = (tmp_path / "digits.txt.decoded").read_text().splitlines()
  assert len(digits) == 2 and set(digits) <= {"zero", "one"}
  assert len((tmp_path / "clips.txt.decoded").read_text().splitlines()) == 1
  eval_dir = tmp_path / "runs" / "mine" / "eval"
  entry, = json.loads((eval_dir / "index.json").read_text())["evaluations"]
  assert entry["file"].startswith("dev-step20.")
  evaluated = json.loads((eval_dir / entry["file"]).read_text())
  captions = evaluated["problems"]["my_captions"]
  assert captions["references_per_example"] == 2 and "cider_d" in captions["metrics"]
  assert "bracket_f1" in evaluated["problems"]["my_parsing"]["metrics"]
  # Two captions per image on train, one example per image on dev, every reference kept.
  refs = (tmp_path / "data" / "my_captions.dev.references.jsonl").read_text().splitlines()
  assert refs == ['["a red square", "something red"]', '["a blue square", "something blue"]']
