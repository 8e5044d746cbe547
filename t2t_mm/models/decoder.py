"""Decoder: causal conv blocks and attention blocks, with MoE layers between (paper Sec. 2.4)."""

import keras

from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.attention_block import AttentionBlock
from t2t_mm.layers.conv_block import ConvBlock
from t2t_mm.layers.decoding_state import make_state
from t2t_mm.layers.dropout import Dropout
from t2t_mm.layers.moe import MixtureOfExperts
from t2t_mm.layers.moe_step import moe_step


@keras.saving.register_keras_serializable(package="t2t_mm")
class Decoder(keras.layers.Layer):
  """(mixed [B, T, d], encoded [B, S, d]) -> [B, T, d]. For each block i:

    [x = x + dropout(MoE(x))          if i in moe_layers]
    x = causal ConvBlock(x)
    x = x + dropout(AttentionBlock(x, encoded))        (skipped when use_attention=False)
  and an MoE after the last block if num_blocks is in moe_layers. Every op is causal in T or
  per position, so position t depends on mixed positions <= t only.

  Incremental decoding (layers/decoding_state.py): `state = decoder.init_state(batch,
  max_length, (encoded, encoded_mask))` projects the source once per attention block;
  `y_t, state = decoder.step(x_t, t, state)` runs one position [B, 1, d] through cached conv
  steps, attention and the MoE.
  With return_weights=True both also return a list, per attention block, of its weights over
  the encoded positions ([B, T, S] and [B, 1, S], averaged over heads).

  Args:
    hidden_size, filter_size, num_heads, kernel_size: d, expert width, heads, attention conv.
    num_blocks: decoder blocks.
    kernel_sizes, dilations: of the conv blocks' four steps.
    moe_layers: positions 0..num_blocks of MoE layers.
    num_experts, k, loss_coef, capacity_factor, noisy_gating, moe_dispatch (its
      dispatch): of every MoE layer.
    use_attention: attention blocks on or off (paper Table 4).
    dropout: on residual branches and attention weights.

  Example:
    >>> dec = Decoder(8, 16, 2, 3, 1, [3, 3, 5, 5], [1, 1, 1, 2], [1], num_experts=4, k=2)
    >>> y = dec(keras.ops.ones((2, 4, 8)), keras.ops.ones((2, 6, 8)))  # [2, 4, 8]
  """

  def __init__(self, hidden_size, filter_size, num_heads, kernel_size, num_blocks, kernel_sizes,
               dilations, moe_layers, num_experts=16, k=2, loss_coef=0.01, capacity_factor=0.0,
               noisy_gating=True, moe_dispatch="auto", use_attention=True, dropout=0.0,
               **kwargs):
    super().__init__(**kwargs)
    self.hidden_size, self.filter_size = hidden_size, filter_size
    self.num_heads, self.kernel_size, self.num_blocks = num_heads, kernel_size, num_blocks
    self.kernel_sizes, self.dilations = list(kernel_sizes), list(dilations)
    self.moe_layers = sorted(moe_layers)
    self.num_experts, self.k, self.loss_coef = num_experts, k, loss_coef
    self.capacity_factor, self.noisy_gating = capacity_factor, noisy_gating
    self.moe_dispatch = moe_dispatch
    self.use_attention, self.dropout_rate = use_attention, dropout

  def build(self, mixed_shape=None, encoded_shape=None):
    d, pol = self.hidden_size, self.dtype_policy
    shape = (None, None, d)
    self.blocks = [ConvBlock(d, self.kernel_sizes, self.dilations, causal=True,
                             dropout=self.dropout_rate, name=f"block{i}", dtype=pol)
                   for i in range(self.num_blocks)]
    self.attentions = [AttentionBlock(d, self.num_heads, self.kernel_size, self.dropout_rate,
                                      name=f"attention{i}", dtype=pol)
                       for i in range(self.num_blocks if self.use_attention else 0)]
    self.moes = {f"moe{i}": MixtureOfExperts(d, self.filter_size, self.num_experts, self.k,
                                             self.loss_coef, capacity_factor=self.capacity_factor,
                                             noisy_gating=self.noisy_gating,
                                             dispatch=self.moe_dispatch,
                                             name=f"moe{i}", dtype=pol)
                 for i in self.moe_layers}
    for layer in [*self.blocks, *self.moes.values()]:
      layer.build(shape)
    for layer in self.attentions:
      layer.build(shape, shape)
    self.drop = Dropout(self.dropout_rate, dtype=pol)

  def _moe(self, i, x, mask, training):
    if f"moe{i}" not in self.moes:
      return x
    return x + self.drop(self.moes[f"moe{i}"](x, mask, training=training), training=training)

  def call(self, x, encoded, target_mask=None, encoded_mask=None, training=None,
           return_weights=False):
    weights = []
    for i, block in enumerate(self.blocks):
      x = self._moe(i, x, target_mask, training)
      x = block(x, target_mask, training=training)
      if self.use_attention:
        a = self.attentions[i](x, encoded, target_mask, encoded_mask, training=training,
                               return_weights=return_weights)
        if return_weights:
          a, w = a
          weights.append(w)
        x = x + self.drop(a, training=training)
    x = mm_ops.apply_mask(self._moe(self.num_blocks, x, target_mask, training), target_mask)
    return (x, weights) if return_weights else x

  def init_state(self, batch_size, max_length, context):
    """fixed {"attention": [...]} (source K/V of context = (encoded, encoded_mask)), cache
    {"blocks": [...], "attention": [...]}."""
    att = [layer.init_state(batch_size, max_length, context) for layer in self.attentions]
    cache = {"blocks": [block.init_state(batch_size, max_length)["cache"]
                        for block in self.blocks],
             "attention": [a["cache"] for a in att]}
    return make_state({"attention": [a["fixed"] for a in att]}, cache)

  def step(self, x_t, t, state, return_weights=False):
    """Mixed position t [B, 1, d] -> (decoded [B, 1, d], updated state), and with
    return_weights a list of the attention blocks' weights [B, 1, S] third."""
    fixed, cache = state["fixed"], state["cache"]
    blocks, att, weights = [], [], []
    for i, block in enumerate(self.blocks):
      x_t = self._moe_step(i, x_t)
      x_t, s = block.step(x_t, t, make_state(cache=cache["blocks"][i]))
      blocks.append(s["cache"])
      if self.use_attention:
        out = self.attentions[i].step(
            x_t, t, make_state(fixed["attention"][i], cache["attention"][i]),
            return_weights=return_weights)
        if return_weights:
          weights.append(out[2])
        att.append(out[1]["cache"])
        x_t = x_t + out[0]
    out = (self._moe_step(self.num_blocks, x_t),
           make_state(fixed, {"blocks": blocks, "attention": att}))
    return (*out, weights) if return_weights else out

  def _moe_step(self, i, x_t):
    # A few tokens: gather the chosen experts' weights (t2t_mm/layers/moe_step.py).
    return x_t + moe_step(self.moes[f"moe{i}"], x_t) if f"moe{i}" in self.moes else x_t

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "filter_size": self.filter_size, "num_heads": self.num_heads,
            "kernel_size": self.kernel_size, "num_blocks": self.num_blocks,
            "kernel_sizes": self.kernel_sizes, "dilations": self.dilations,
            "moe_layers": self.moe_layers, "num_experts": self.num_experts, "k": self.k,
            "loss_coef": self.loss_coef, "capacity_factor": self.capacity_factor,
            "moe_dispatch": self.moe_dispatch,
            "noisy_gating": self.noisy_gating,
            "use_attention": self.use_attention, "dropout": self.dropout_rate}
