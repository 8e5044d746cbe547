"""README's "From Python" example runs as written, in a fresh process and folder."""

import ast
import os
import re
import subprocess
import sys

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def example() -> str:
  with open(README, encoding="utf-8") as f:
    text = f.read()
  match = re.search(r"<!-- api-example.*?-->\n```python\n(.*?)^```", text, re.S | re.M)
  assert match, "README.md has no api-example block"
  return match.group(1)


def test_the_readme_python_example_trains_evaluates_decodes_scores_and_exports(tmp_path):
  code = example()
  ast.parse(code)
  result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, check=False,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  assert result.returncode == 0, result.stderr[-3000:]
  lines = result.stdout.strip().splitlines()
  assert "'bleu':" in lines[-3] and "'log_perplexity':" in lines[-3]  # The test metrics.
  decoded = ast.literal_eval(lines[-2])
  assert isinstance(decoded, list) and len(decoded) == 2 and all(isinstance(t, str)
                                                                 for t in decoded)
  assert float(lines[-1]) < 0
  assert os.path.isfile(tmp_path / "export" / "py" / "saved_model.pb")
  assert os.listdir(tmp_path / "runs" / "py" / "vocab")
