"""Encoder: conv blocks with sparsely-gated MoE layers between them (paper Sec. 2.4)."""

import keras

from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.conv_block import ConvBlock
from t2t_mm.layers.dropout import Dropout
from t2t_mm.layers.moe import MixtureOfExperts


@keras.saving.register_keras_serializable(package="t2t_mm")
class Encoder(keras.layers.Layer):
  """x [B, L, d], padding_mask [B, L] -> [B, L, d] (inputs are all known: not causal).

    ConvBlock x num_blocks, with an MoE after the first i blocks for every i in moe_layers
    (residual: x + dropout(moe(x))). The paper puts one MoE in the middle of the encoder.

  Args:
    hidden_size, filter_size: d and the expert width.
    num_blocks: conv blocks.
    kernel_sizes, dilations: of the blocks' four steps.
    moe_layers: positions 0..num_blocks of MoE layers.
    num_experts, k, loss_coef, capacity_factor, noisy_gating, moe_dispatch (its
      dispatch): of every MoE layer.
    dropout: on residual branches.
    causal: left-padded convs (kept configurable; the MultiModel's encoder is not causal).

  Example:
    >>> enc = Encoder(8, 16, 2, [3, 3, 5, 5], [1, 1, 1, 2], [1], num_experts=4, k=2)
    >>> y = enc(keras.ops.ones((2, 5, 8)), keras.ops.ones((2, 5)))  # [2, 5, 8]
  """

  def __init__(self, hidden_size, filter_size, num_blocks, kernel_sizes, dilations, moe_layers,
               num_experts=16, k=2, loss_coef=0.01, capacity_factor=0.0, noisy_gating=True,
               moe_dispatch="auto", dropout=0.0, causal=False, **kwargs):
    super().__init__(**kwargs)
    self.hidden_size, self.filter_size, self.num_blocks = hidden_size, filter_size, num_blocks
    self.kernel_sizes, self.dilations = list(kernel_sizes), list(dilations)
    self.moe_layers = sorted(moe_layers)
    self.num_experts, self.k, self.loss_coef = num_experts, k, loss_coef
    self.capacity_factor, self.noisy_gating = capacity_factor, noisy_gating
    self.moe_dispatch = moe_dispatch
    self.dropout_rate, self.causal = dropout, causal

  def build(self, input_shape=None):
    shape, pol = (None, None, self.hidden_size), self.dtype_policy
    self.blocks = [ConvBlock(self.hidden_size, self.kernel_sizes, self.dilations, self.causal,
                             self.dropout_rate, name=f"block{i}", dtype=pol)
                   for i in range(self.num_blocks)]
    self.moes = {f"moe{i}": MixtureOfExperts(self.hidden_size, self.filter_size,
                                             self.num_experts, self.k, self.loss_coef,
                                             capacity_factor=self.capacity_factor,
                                             noisy_gating=self.noisy_gating,
                                             dispatch=self.moe_dispatch,
                                             name=f"moe{i}", dtype=pol)
                 for i in self.moe_layers}
    for layer in [*self.blocks, *self.moes.values()]:
      layer.build(shape)
    self.drop = Dropout(self.dropout_rate, dtype=pol)

  def _moe(self, i, x, mask, training):
    if f"moe{i}" not in self.moes:
      return x
    return x + self.drop(self.moes[f"moe{i}"](x, mask, training=training), training=training)

  def call(self, x, padding_mask=None, training=None):
    for i, block in enumerate(self.blocks):
      x = self._moe(i, x, padding_mask, training)
      x = block(x, padding_mask, training=training)
    x = self._moe(self.num_blocks, x, padding_mask, training)
    return mm_ops.apply_mask(x, padding_mask)

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "filter_size": self.filter_size, "num_blocks": self.num_blocks,
            "kernel_sizes": self.kernel_sizes, "dilations": self.dilations,
            "moe_layers": self.moe_layers, "num_experts": self.num_experts, "k": self.k,
            "loss_coef": self.loss_coef, "capacity_factor": self.capacity_factor,
            "moe_dispatch": self.moe_dispatch,
            "noisy_gating": self.noisy_gating,
            "dropout": self.dropout_rate, "causal": self.causal}
