"""I/O mixer: attends from the shifted targets to the encoded inputs, then causal conv blocks."""

import keras
from keras import ops

from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.attention_block import AttentionBlock
from t2t_mm.layers.conv_block import ConvBlock
from t2t_mm.layers.decoding_state import make_state
from t2t_mm.layers.dense import Dense


@keras.saving.register_keras_serializable(package="t2t_mm")
class Mixer(keras.layers.Layer):
  """(shifted targets [B, T, d], encoded [B, S, d]) -> [B, T, d] (paper Sec. 2.4).

    a = AttentionBlock(shifted, encoded)     (use_attention=False: masked mean of encoded,
                                              the same at every position; paper Table 4)
    x = Dense_d(concat[shifted, a]) -> causal ConvBlock x num_blocks
  Position t sees shifted targets <= t only, and real encoded positions only.

  Incremental decoding (layers/decoding_state.py): `state = mixer.init_state(batch, max_length,
  (encoded, encoded_mask))` runs the input side once (source K/V, or the pooled encoding, in
  state["fixed"]); `y_t, state = mixer.step(x_t, t, state)` mixes one target position
  [B, 1, d]. With
  return_weights=True both also return the attention block's weights ([B, T, S] and
  [B, 1, S], averaged over heads; None when use_attention=False).

  Args:
    hidden_size, num_heads, kernel_size: d, heads, attention-block conv width.
    num_blocks: causal conv blocks after the attention.
    kernel_sizes, dilations: of the conv blocks' four steps.
    use_attention: attention (True) or masked mean pooling of the encoding (False).
    dropout: on residual branches and attention weights.

  Example:
    >>> mix = Mixer(8, 2, 3, 1, [3, 3, 5, 5], [1, 1, 1, 2])
    >>> y = mix(keras.ops.ones((2, 4, 8)), keras.ops.ones((2, 6, 8)))  # [2, 4, 8]
  """

  def __init__(self, hidden_size, num_heads, kernel_size, num_blocks, kernel_sizes, dilations,
               use_attention=True, dropout=0.0, **kwargs):
    super().__init__(**kwargs)
    self.hidden_size, self.num_heads, self.kernel_size = hidden_size, num_heads, kernel_size
    self.num_blocks, self.use_attention, self.dropout_rate = num_blocks, use_attention, dropout
    self.kernel_sizes, self.dilations = list(kernel_sizes), list(dilations)

  def build(self, targets_shape=None, encoded_shape=None):
    d, pol = self.hidden_size, self.dtype_policy
    shape = (None, None, d)
    if self.use_attention:
      self.attention = AttentionBlock(d, self.num_heads, self.kernel_size, self.dropout_rate,
                                      name="attention", dtype=pol)
      self.attention.build(shape, shape)
    self.combine = Dense(d, name="combine", dtype=pol)
    self.combine.build((None, None, 2 * d))
    self.blocks = [ConvBlock(d, self.kernel_sizes, self.dilations, causal=True,
                             dropout=self.dropout_rate, name=f"block{i}", dtype=pol)
                   for i in range(self.num_blocks)]
    for block in self.blocks:
      block.build(shape)

  def call(self, targets, encoded, target_mask=None, encoded_mask=None, training=None,
           return_weights=False):
    weights = None
    if self.use_attention:
      a = self.attention(targets, encoded, target_mask, encoded_mask, training=training,
                         return_weights=return_weights)
      if return_weights:
        a, weights = a
    else:
      pooled = mm_ops.masked_mean(encoded, encoded_mask)
      a = ops.zeros_like(targets) + pooled
    x = mm_ops.apply_mask(self.combine(ops.concatenate([targets, a], axis=-1)), target_mask)
    for block in self.blocks:
      x = block(x, target_mask, training=training)
    return (x, weights) if return_weights else x

  def init_state(self, batch_size, max_length, context):
    """fixed: the input side of context = (encoded, encoded_mask); cache: per position."""
    if self.use_attention:
      att = self.attention.init_state(batch_size, max_length, context)
      fixed, cache = {"attention": att["fixed"]}, {"attention": att["cache"]}
    else:
      fixed, cache = {"pooled": mm_ops.masked_mean(*context)}, {}
    cache["blocks"] = [block.init_state(batch_size, max_length)["cache"]
                       for block in self.blocks]
    return make_state(fixed, cache)

  def step(self, x_t, t, state, return_weights=False):
    """Shifted target at position t [B, 1, d] -> (mixed [B, 1, d], updated state), and with
    return_weights the attention weights [B, 1, S] third (None without attention)."""
    fixed, cache = state["fixed"], state["cache"]
    new, weights = {}, None
    if self.use_attention:
      out = self.attention.step(x_t, t, make_state(fixed["attention"], cache["attention"]),
                                return_weights=return_weights)
      new["attention"] = out[1]["cache"]
      a, weights = out[0], (out[2] if return_weights else None)
    else:
      a = ops.zeros_like(x_t) + fixed["pooled"]
    x = self.combine(ops.concatenate([x_t, a], axis=-1))
    new["blocks"] = []
    for block, block_cache in zip(self.blocks, cache["blocks"]):
      x, block_state = block.step(x, t, make_state(cache=block_cache))
      new["blocks"].append(block_state["cache"])
    state = make_state(fixed, new)
    return (x, state, weights) if return_weights else (x, state)

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "num_heads": self.num_heads, "kernel_size": self.kernel_size,
            "num_blocks": self.num_blocks, "kernel_sizes": self.kernel_sizes,
            "dilations": self.dilations, "use_attention": self.use_attention,
            "dropout": self.dropout_rate}
