"""ConvBlock: residual wiring, causality, config round trip."""

import numpy as np

from t2t_mm.layers.conv_block import ConvBlock
from t2t_mm.testing import layer_checks


def _x(b=2, n=8, c=6):
  return np.random.default_rng(1).standard_normal((b, n, c)).astype("float32")


def _zero_norm(step):
  step.norm.gamma.assign(np.zeros_like(step.norm.gamma.numpy()))
  step.norm.beta.assign(np.zeros_like(step.norm.beta.numpy()))


def test_residuals_come_from_the_block_input():
  x = _x()
  block = ConvBlock(6, [3, 3, 5, 5], [1, 1, 1, 2])
  block.build(x.shape)
  s1, s2, s3, s4 = block.steps
  # Step 4 outputs zero: y = x whatever steps 1-3 do (second residual from the input).
  _zero_norm(s4)
  np.testing.assert_allclose(np.asarray(block(x)), x, atol=1e-6)
  # Fresh block, step 2 outputs zero: h = x, so y = x + s4(s3(x)).
  block = ConvBlock(6, [3, 3, 5, 5], [1, 1, 1, 2])
  block.build(x.shape)
  s1, s2, s3, s4 = block.steps
  _zero_norm(s2)
  np.testing.assert_allclose(np.asarray(block(x)), x + np.asarray(s4(s3(x))), atol=1e-5)
  # Untouched: y = x + s4(s3(x + s2(s1(x)))).
  block = ConvBlock(6, [3, 3, 5, 5], [1, 1, 1, 2])
  block.build(x.shape)
  s1, s2, s3, s4 = block.steps
  h = x + np.asarray(s2(s1(x)))
  np.testing.assert_allclose(np.asarray(block(x)), x + np.asarray(s4(s3(h))), atol=1e-5)


def test_causal_block_ignores_the_future():
  block = ConvBlock(6, [3, 3, 5, 5], [1, 1, 1, 2], causal=True)
  x = _x()
  y1 = np.asarray(block(x))
  x2 = x.copy()
  x2[:, 4:] = -5.0
  np.testing.assert_allclose(y1[:, :4], np.asarray(block(x2))[:, :4], atol=1e-5)


def test_config_round_trip_gives_equal_outputs():
  block = ConvBlock(6, [3, 3, 5, 5], [1, 1, 1, 2], causal=True, dropout=0.1)
  layer_checks.check_config_round_trip(block, _x())
  layer_checks.check_serialized_round_trip(block, _x())


def test_incremental_steps_equal_the_causal_call():
  block = ConvBlock(8, [3, 3, 5, 5], [1, 1, 1, 2], causal=True)
  x = np.random.default_rng(2).standard_normal((2, 9, 8)).astype("float32")
  full = np.asarray(block(x))
  layer_checks.check_steps_equal_call(
      full, lambda t, s: block.step(x[:, t:t + 1], t, s), block.init_state(2, 9), steps=9)
