"""AttentionBlock: causal in targets, blind to padded sources, config round trip."""

import numpy as np

from t2t_mm.layers.attention_block import AttentionBlock
from t2t_mm.testing import layer_checks


def _x(b, n, c=8, seed=0):
  return np.random.default_rng(seed).standard_normal((b, n, c)).astype("float32")


def test_shape_and_causality():
  block = AttentionBlock(8, 2)
  t, s = _x(2, 5), _x(2, 7, seed=1)
  y1 = np.asarray(block(t, s))
  assert y1.shape == (2, 5, 8)
  t2 = t.copy()
  t2[:, 3:] = 4.0
  y2 = np.asarray(block(t2, s))
  np.testing.assert_allclose(y1[:, :3], y2[:, :3], atol=1e-5)
  assert not np.allclose(y1[:, 3:], y2[:, 3:])


def test_padded_source_positions_change_nothing():
  block = AttentionBlock(8, 2)
  t, s = _x(1, 4), _x(1, 3, seed=1)
  short = np.asarray(block(t, s, source_mask=np.ones((1, 3), "float32")))
  s_pad = np.concatenate([s, np.full((1, 4, 8), 2.0, "float32")], axis=1)
  mask = np.array([[1, 1, 1, 0, 0, 0, 0]], "float32")
  np.testing.assert_allclose(short, np.asarray(block(t, s_pad, source_mask=mask)), atol=1e-5)


def test_config_round_trip():
  block = AttentionBlock(8, 2, kernel_size=5)
  t, s = _x(2, 4), _x(2, 6, seed=2)
  layer_checks.check_config_round_trip(block, t, s)
  layer_checks.check_serialized_round_trip(block, t, s)


def test_incremental_steps_equal_the_full_call():
  block = AttentionBlock(8, 2)
  rng = np.random.default_rng(1)
  targets = rng.standard_normal((2, 4, 8)).astype("float32")
  source = rng.standard_normal((2, 6, 8)).astype("float32")
  source_mask = np.ones((2, 6), "float32")
  source_mask[0, 4:] = 0
  full = np.asarray(block(targets, source, None, source_mask))
  state = block.init_state(2, 4, (source, source_mask))
  layer_checks.check_steps_equal_call(
      full, lambda t, c: block.step(targets[:, t:t + 1], t, c), state, steps=4)
