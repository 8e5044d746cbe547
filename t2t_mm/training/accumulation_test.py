"""accumulate_steps: N micro-batches give the update of one batch N times as large."""

import json
import os
import subprocess
import sys

import pytest

from t2t_mm.testing import accumulation_check

SCRIPT = accumulation_check.__file__


def _check(result):
  diff, scale = result["max_abs_diff"], result["largest_momentum"]
  assert scale > 1e-4  # The gradients are not all zero.
  assert diff["momentums"] <= 1e-5 * scale, result
  assert diff["velocities"] <= 1e-5 * scale ** 2 + 1e-12, result
  # Adam's first step is about lr * sign(g) (lr 1e-3): a gradient element near 0 moves its
  # variable by up to lr under float round-off, so variables agree to 1% of a step.
  assert diff["variables"] <= 1e-5, result
  assert result["loss"][0] == pytest.approx(result["loss"][1], rel=1e-5)


@pytest.mark.parametrize("case", ["distinct", "repeated"])
def test_accumulated_update_equals_one_large_batch_on_one_device(case):
  _check(accumulation_check.compare("default", 1, case))


@pytest.mark.slow  # A subprocess: the CPU is split into two devices before TensorFlow starts.
@pytest.mark.parametrize("case", ["distinct", "repeated"])
def test_accumulated_update_equals_one_large_batch_under_mirrored_strategy(case):
  out = subprocess.run([sys.executable, SCRIPT, "mirrored", "2", case], capture_output=True,
                       text=True, timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  assert out.returncode == 0, out.stderr[-3000:]
  _check(json.loads(out.stdout.strip().splitlines()[-1]))
