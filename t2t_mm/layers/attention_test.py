"""MultiHeadAttention: key masks, causal mask, config round trip."""

import numpy as np
import pytest

from t2t_mm.layers.attention import MultiHeadAttention
from t2t_mm.layers.decoding_state import DecodingLayer
from t2t_mm.testing import layer_checks


def _x(b, n, c=8, seed=0):
  return np.random.default_rng(seed).standard_normal((b, n, c)).astype("float32")


def test_masked_keys_get_no_weight():
  mha = MultiHeadAttention(8, 2)
  q, mem = _x(1, 3), _x(1, 4, seed=1)
  y1 = np.asarray(mha(q, mem, key_mask=np.array([[1, 1, 0, 0]], "float32")))
  mem2 = mem.copy()
  mem2[:, 2:] = 9.0
  y2 = np.asarray(mha(q, mem2, key_mask=np.array([[1, 1, 0, 0]], "float32")))
  np.testing.assert_allclose(y1, y2, atol=1e-5)
  y3 = np.asarray(mha(q, mem[:, :2]))
  np.testing.assert_allclose(y1, y3, atol=1e-5)


def test_causal_self_attention():
  mha = MultiHeadAttention(8, 4)
  x = _x(2, 6)
  y1 = np.asarray(mha(x, causal=True))
  x2 = x.copy()
  x2[:, 3:] += 1.0
  y2 = np.asarray(mha(x2, causal=True))
  np.testing.assert_allclose(y1[:, :3], y2[:, :3], atol=1e-5)
  assert not np.allclose(y1[:, 3:], y2[:, 3:])


def test_bad_heads_and_round_trip():
  with pytest.raises(ValueError, match="num_heads=3"):
    MultiHeadAttention(8, 3)
  mha = MultiHeadAttention(8, 2, dropout=0.1)
  x = _x(2, 3)
  layer_checks.check_config_round_trip(mha, x, x)
  layer_checks.check_serialized_round_trip(mha, x, x)


def test_incremental_self_attention_equals_the_causal_call():
  mha = MultiHeadAttention(8, 2)
  x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype("float32")
  full = np.asarray(mha(x, causal=True))
  state = mha.init_state(2, 6)
  assert isinstance(mha, DecodingLayer)
  outs = []
  for t in range(5):
    y, state = mha.step(x[:, t:t + 1], t, state)
    outs.append(np.asarray(y))
  np.testing.assert_allclose(np.concatenate(outs, 1), full, atol=1e-5)
  assert tuple(state["cache"]["k"].shape) == (2, 6, 8)
  assert state["fixed"] == {}
  with pytest.raises(ValueError, match="self-attention"):
    MultiHeadAttention(8, 2, project_memory=False).init_state(2, 6)


def test_returned_weights_are_the_head_mean_and_change_nothing_else():
  mha = MultiHeadAttention(8, 2)
  q, mem = _x(2, 3), _x(2, 4, seed=1)
  mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], "float32")
  y, w = mha(q, mem, key_mask=mask, return_weights=True)
  np.testing.assert_array_equal(np.asarray(y), np.asarray(mha(q, mem, key_mask=mask)))
  w = np.asarray(w)
  assert w.shape == (2, 3, 4) and w.dtype == np.float32
  np.testing.assert_array_equal(w[0, :, 3], 0)  # A masked key.
  np.testing.assert_allclose(w.sum(-1), 1, atol=1e-6)
  # The mean over heads of softmax(Q K^T / sqrt(d_h)), written out.
  qh = (q @ np.asarray(mha.q.kernel)).reshape(2, 3, 2, 4).transpose(0, 2, 1, 3)
  kh = (mem @ np.asarray(mha.k.kernel)).reshape(2, 4, 2, 4).transpose(0, 2, 1, 3)
  scores = qh @ kh.transpose(0, 1, 3, 2) / 2.0 + (1 - mask)[:, None, None, :] * -1e9
  soft = np.exp(scores - scores.max(-1, keepdims=True))
  np.testing.assert_allclose(w, (soft / soft.sum(-1, keepdims=True)).mean(1), atol=1e-5)
