"""Multi-head dot-product attention with key padding masks and an optional causal mask."""

import keras
from keras import ops

from t2t_mm.layers.decoding_state import make_state
from t2t_mm.layers.dropout import Dropout
from t2t_mm.layers.dense import Dense

_NEG = -1e9


@keras.saving.register_keras_serializable(package="t2t_mm")
class MultiHeadAttention(keras.layers.Layer):
  """softmax(Q K^T / sqrt(d_h) + bias) V per head, then an output projection.

  query [B, T, d] is projected to Q; `memory` [B, S, d] is projected to K and V, unless
  `project_memory=False`, where the caller passes already-projected `keys` and `values` (the
  attention block's pointwise convs). Keys with key_mask 0 get no weight; with causal=True
  query t attends to keys <= t (self-attention). Scores and softmax run in float32.

  Incremental decoding (causal self-attention; layers/decoding_state.py): the projected K and V
  of past positions live in fixed-length buffers, so one new query costs the same at any
  position:

    state = mha.init_state(batch, max_length)   # state["cache"]: {"k", "v"} [B, max_length, d]
    y_t, state = mha.step(x_t, t, state)        # x_t [B, 1, d]: writes K/V at t, attends <= t
  Step by step this equals call(x, causal=True) on the real positions.

  With return_weights=True, call returns (output, weights [B, T, S]): the attention weights
  averaged over heads, float32 (what mm-serve draws).

  Args:
    hidden_size: d (a multiple of num_heads).
    num_heads: heads.
    dropout: dropout on attention weights in training.
    project_memory: own K/V projections (self-attention) or take K/V from the caller.

  Example:
    >>> mha = MultiHeadAttention(8, 2)
    >>> y = mha(keras.ops.ones((2, 4, 8)), keras.ops.ones((2, 6, 8)))  # [2, 4, 8]
  """

  def __init__(self, hidden_size, num_heads, dropout=0.0, project_memory=True, **kwargs):
    super().__init__(**kwargs)
    if hidden_size % num_heads:
      raise ValueError(f"MultiHeadAttention: hidden_size={hidden_size} is not a multiple of "
                       f"num_heads={num_heads}.")
    self.hidden_size, self.num_heads = hidden_size, num_heads
    self.dropout_rate, self.project_memory = dropout, project_memory

  def build(self, query_shape, memory_shape=None):
    d = self.hidden_size
    dense = lambda name: Dense(d, use_bias=False, name=name, dtype=self.dtype_policy)
    self.q = dense("q")
    self.q.build(query_shape)
    if self.project_memory:
      self.k, self.v = dense("k"), dense("v")
      self.k.build(memory_shape or query_shape)
      self.v.build(memory_shape or query_shape)
    self.o = dense("o")
    self.o.build(tuple(query_shape[:-1]) + (d,))
    self.drop = Dropout(self.dropout_rate, dtype=self.dtype_policy)

  def _split(self, x):
    b, n = ops.shape(x)[:2]
    x = ops.reshape(x, (b, n, self.num_heads, self.hidden_size // self.num_heads))
    return ops.transpose(x, (0, 2, 1, 3))  # [B, H, N, d_h]

  def call(self, query, memory=None, keys=None, values=None, key_mask=None, causal=False,
           training=None, return_weights=False):
    if self.project_memory:
      memory = query if memory is None else memory
      keys, values = self.k(memory), self.v(memory)
    return self._attend(query, keys, values, key_mask, causal, training, return_weights)

  def _attend(self, query, keys, values, key_mask, causal, training, return_weights=False):
    q, k, v = self._split(self.q(query)), self._split(keys), self._split(values)
    scale = (self.hidden_size // self.num_heads) ** -0.5
    scores = ops.cast(ops.einsum("bhtd,bhsd->bhts", q, k), "float32") * scale
    if key_mask is not None:
      keep = ops.cast(key_mask, "float32")[:, None, None, :]
      scores = scores + (1.0 - keep) * _NEG
    if causal:
      t, s = ops.shape(scores)[2], ops.shape(scores)[3]
      allowed = ops.cast(ops.greater_equal(ops.arange(t)[:, None], ops.arange(s)[None, :]),
                         "float32")
      scores = scores + (1.0 - allowed) * _NEG
    if scores.shape[-1] == 1:
      # keras.ops.softmax warns on a length-1 axis (a one-position memory): written out.
      scores = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
      weights = scores / ops.sum(scores, axis=-1, keepdims=True)
    else:
      weights = ops.softmax(scores, axis=-1)  # One fused kernel, forward and backward.
    # Averaged over heads before dropout: what the model attends to, not a training sample.
    mean_weights = ops.mean(weights, axis=1) if return_weights else None
    weights = ops.cast(weights, v.dtype)
    weights = self.drop(weights, training=training)
    out = ops.einsum("bhts,bhsd->bhtd", weights, v)
    b, t = ops.shape(out)[0], ops.shape(out)[2]
    out = ops.reshape(ops.transpose(out, (0, 2, 1, 3)), (b, t, self.hidden_size))
    return (self.o(out), mean_weights) if return_weights else self.o(out)

  def init_state(self, batch_size, max_length, context=None):
    """cache: zero K/V buffers {"k", "v"} [B, max_length, d] (self-attention only, so no
    context)."""
    if not self.project_memory or context is not None:
      raise ValueError(f"MultiHeadAttention '{self.name}': step() is for self-attention "
                       "(project_memory=True, no context).")
    zeros = ops.zeros((batch_size, max_length, self.hidden_size), self.compute_dtype)
    return make_state(cache={"k": zeros, "v": zeros})

  def step(self, x_t, t, state):
    """x_t [B, 1, d] at position t (scalar) -> (y_t [B, 1, d], state with K/V written at t)."""
    cache = state["cache"]
    length = ops.shape(cache["k"])[1]
    at_t = ops.equal(ops.arange(length), t)[None, :, None]  # [1, L, 1]
    # A select, not a scatter: keeps the op set plain (no XLA-only dynamic_update_slice).
    keys = ops.where(at_t, ops.cast(self.k(x_t), cache["k"].dtype), cache["k"])
    values = ops.where(at_t, ops.cast(self.v(x_t), cache["v"].dtype), cache["v"])
    seen = ops.cast(ops.less_equal(ops.arange(length), t), "float32")[None, :]  # [1, L]
    y = self._attend(x_t, keys, values, seen, causal=False, training=False)
    return y, make_state(state["fixed"], {"k": keys, "v": values})

  def compute_output_shape(self, query_shape, memory_shape=None):
    return tuple(query_shape[:-1]) + (self.hidden_size,)

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "num_heads": self.num_heads, "dropout": self.dropout_rate,
            "project_memory": self.project_memory}
