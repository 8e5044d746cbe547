"""ConvBlock: residual wiring, causality, config round trip."""

import numpy as np

from t2t_mm.layers.conv_block import ConvBlock


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
  x = _x()
  y = block(x)
  clone = ConvBlock.from_config(block.get_config())
  clone.build(x.shape)
  clone.set_weights(block.get_weights())
  np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(y), atol=1e-6)


def test_incremental_steps_equal_the_causal_call():
  block = ConvBlock(8, [3, 3, 5, 5], [1, 1, 1, 2], causal=True)
  x = np.random.default_rng(2).standard_normal((2, 9, 8)).astype("float32")
  full = np.asarray(block(x))
  cache = block.init_cache(2)
  outs = []
  for t in range(9):
    y, cache = block.step(x[:, t:t + 1], cache)
    outs.append(np.asarray(y))
  np.testing.assert_allclose(np.concatenate(outs, 1), full, atol=1e-5)
