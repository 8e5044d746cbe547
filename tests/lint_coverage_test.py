"""ruff sees every tracked Python file: an exclude pattern that is not anchored to the repository
root (as `data` once was) silently drops t2t_mm/data/ and the like from the lint."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _lines(command):
  result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
  return {line.strip() for line in result.stdout.splitlines() if line.strip()}


def test_ruff_checks_every_tracked_python_file():
  tracked = _lines(["git", "ls-files", "*.py"])
  assert "t2t_mm/data/problem.py" in tracked and "t2t_mm/runs/resume.py" in tracked
  shown = {os.path.relpath(path, REPO)
           for path in _lines([sys.executable, "-m", "ruff", "check", "--show-files", "."])}
  unseen = sorted(tracked - shown)
  assert not unseen, f"{len(unseen)} tracked files are outside ruff's view: {unseen[:10]}"
