"""AttentionBlock: the MultiModel's attention from a target sequence to a source sequence."""

import keras

from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.attention import MultiHeadAttention
from t2t_mm.layers.conv_step import ConvStep
from t2t_mm.layers.decoding_state import make_state
from t2t_mm.layers.dense import Dense


@keras.saving.register_keras_serializable(package="t2t_mm")
class AttentionBlock(keras.layers.Layer):
  """The paper's attention block (Kaiser et al. 2017, Sec. 2.2, Fig. 3).

    targets [B, T, d] + timing -> causal ConvStep x2 -> masked multi-head self-attention -> Q
    source  [B, S, d] + timing -> pointwise conv -> K ;  -> pointwise conv -> V
    output = MultiHead(Q, K, V) over real source positions            [B, T, d]

  The timing signal is also added to the source (as the reference code does) so attention can
  use source positions. Target position t depends only on targets <= t (causal), and padded
  source positions get no weight. The caller adds the residual.

  Incremental decoding (layers/decoding_state.py): `init_state` projects the source to K and V
  once (state["fixed"]); `step` runs one target position through the two cached causal conv
  steps and the cached self-attention (state["cache"]):

    state = block.init_state(batch, max_length, (source, source_mask))
    y_t, state = block.step(x_t, t, state)            # x_t [B, 1, d] -> y_t [B, 1, d]

  With return_weights=True, call returns (output, weights [B, T, S]) and step (y_t, state,
  weights [B, 1, S]): the source attention weights averaged over heads, float32.

  Args:
    hidden_size: d.
    num_heads: attention heads.
    kernel_size: width of the two causal conv steps.
    dropout: attention-weight dropout in training.

  Example:
    >>> block = AttentionBlock(8, 2)
    >>> y = block(keras.ops.ones((2, 4, 8)), keras.ops.ones((2, 6, 8)))  # [2, 4, 8]
  """

  def __init__(self, hidden_size, num_heads, kernel_size=3, dropout=0.0, **kwargs):
    super().__init__(**kwargs)
    self.hidden_size, self.num_heads = hidden_size, num_heads
    self.kernel_size, self.dropout_rate = kernel_size, dropout

  def build(self, targets_shape, source_shape=None):
    d, pol = self.hidden_size, self.dtype_policy
    shape = (None, None, d)
    self.step1 = ConvStep(d, self.kernel_size, causal=True, name="step1", dtype=pol)
    self.step2 = ConvStep(d, self.kernel_size, causal=True, name="step2", dtype=pol)
    self.self_attention = MultiHeadAttention(d, self.num_heads, self.dropout_rate,
                                             name="self_attention", dtype=pol)
    self.key_conv = Dense(d, name="key_conv", dtype=pol)
    self.value_conv = Dense(d, name="value_conv", dtype=pol)
    self.attention = MultiHeadAttention(d, self.num_heads, self.dropout_rate,
                                        project_memory=False, name="attention", dtype=pol)
    for layer in (self.step1, self.step2, self.key_conv, self.value_conv):
      layer.build(shape)
    self.self_attention.build(shape, shape)
    self.attention.build(shape)

  def call(self, targets, source, target_mask=None, source_mask=None, training=None,
           return_weights=False):
    d = self.hidden_size
    x = targets + mm_ops.timing_signal(keras.ops.shape(targets)[1], d, targets.dtype)
    x = self.step2(self.step1(x, target_mask), target_mask)
    query = self.self_attention(x, key_mask=target_mask, causal=True, training=training)
    src = source + mm_ops.timing_signal(keras.ops.shape(source)[1], d, source.dtype)
    src = mm_ops.apply_mask(src, source_mask)
    out = self.attention(query, keys=self.key_conv(src), values=self.value_conv(src),
                         key_mask=source_mask, training=training, return_weights=return_weights)
    if return_weights:
      out, weights = out
      return mm_ops.apply_mask(out, target_mask), weights
    return mm_ops.apply_mask(out, target_mask)

  def init_state(self, batch_size, max_length, context):
    """fixed {"keys", "values", "mask"} of context = (source, source_mask), cache {"step1",
    "step2", "self"}."""
    source, source_mask = context
    d = self.hidden_size
    src = source + mm_ops.timing_signal(keras.ops.shape(source)[1], d, source.dtype)
    src = mm_ops.apply_mask(src, source_mask)
    fixed = {"keys": self.key_conv(src), "values": self.value_conv(src), "mask": source_mask}
    cache = {"step1": self.step1.init_state(batch_size, max_length)["cache"],
             "step2": self.step2.init_state(batch_size, max_length)["cache"],
             "self": self.self_attention.init_state(batch_size, max_length)["cache"]}
    return make_state(fixed, cache)

  def step(self, x_t, t, state, return_weights=False):
    """Target position t: x_t [B, 1, d] -> (y_t [B, 1, d], updated state), and with
    return_weights the source attention weights [B, 1, S] (averaged over heads) third."""
    fixed, cache = state["fixed"], state["cache"]
    x = x_t + mm_ops.timing_signal_at(t, self.hidden_size, x_t.dtype)
    x, c1 = self.step1.step(x, t, make_state(cache=cache["step1"]))
    x, c2 = self.step2.step(x, t, make_state(cache=cache["step2"]))
    query, c_self = self.self_attention.step(x, t, make_state(cache=cache["self"]))
    out = self.attention(query, keys=fixed["keys"], values=fixed["values"],
                         key_mask=fixed["mask"], training=False, return_weights=return_weights)
    state = make_state(fixed, {"step1": c1["cache"], "step2": c2["cache"],
                               "self": c_self["cache"]})
    return (out[0], state, out[1]) if return_weights else (out, state)

  def compute_output_shape(self, targets_shape, source_shape=None):
    return tuple(targets_shape[:-1]) + (self.hidden_size,)

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "num_heads": self.num_heads, "kernel_size": self.kernel_size,
            "dropout": self.dropout_rate}
