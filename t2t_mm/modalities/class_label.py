"""Class-label modality: Xception exit flow over the decoder output, pooling, linear."""

import keras
from keras import ops

from t2t_mm import registry
from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.conv_res import ConvRes
from t2t_mm.layers.conv_res import mask_rows
from t2t_mm.layers.conv_res import pad_2d
from t2t_mm.layers.dense import Dense
from t2t_mm.layers.layer_norm import LayerNorm


@registry.register_modality(name="class_label")
@keras.saving.register_keras_serializable(package="t2t_mm")
class ClassLabelModality(keras.layers.Layer):
  """Body output [B, T, d] -> logits [B, 1, C] (paper Sec. 2.3; widths from the reference).

    [B, T, 1, d] -> ConvRes(1.25d, (3,1)/(2,1)) -> SepConv(2d) -> LN -> ReLU -> SepConv(2.5d)
    -> LN -> ReLU -> mean over real positions -> Dense(C)
  The decoder input for a label is the command token alone, so targets_bottom gives one zero
  position (dropped by the right shift) and T = 1.

  Args:
    num_classes: C.
    hidden_size: d.

  Example:
    >>> net = ClassLabelModality(num_classes=5, hidden_size=8)
    >>> logits = net.top(keras.ops.ones((2, 1, 8)), keras.ops.ones((2, 1)))  # [2, 1, 5]
  """

  def __init__(self, num_classes, hidden_size, **kwargs):
    super().__init__(**kwargs)
    self.num_classes, self.hidden_size = num_classes, hidden_size

  @classmethod
  def from_hparams(cls, hparams, spec, role, **kwargs):
    del role
    return cls(num_classes=spec.target_vocab_size, hidden_size=hparams.hidden_size, **kwargs)

  def build(self, input_shape=None):
    pol, d = self.dtype_policy, self.hidden_size
    w1, w2, w3 = int(1.25 * d), 2 * d, int(2.5 * d)
    self.block = ConvRes(w1, (3, 1), (2, 1), name="block", dtype=pol)
    self.sep1 = keras.layers.SeparableConv2D(w2, (3, 1), name="sepconv1", dtype=pol)
    self.sep2 = keras.layers.SeparableConv2D(w3, (3, 1), name="sepconv2", dtype=pol)
    self.norm1 = LayerNorm(epsilon=1e-6, name="norm1", dtype=pol)
    self.norm2 = LayerNorm(epsilon=1e-6, name="norm2", dtype=pol)
    self.logits = Dense(self.num_classes, name="logits", dtype=pol)
    self.block.build((None, None, 1, d))
    self.sep1.build((None, None, 1, w1))
    self.norm1.build((None, None, 1, w2))
    self.sep2.build((None, None, 1, w2))
    self.norm2.build((None, None, 1, w3))
    self.logits.build((None, None, w3))

  def targets_bottom(self, targets):
    b = ops.shape(targets)[0]
    return ops.zeros((b, 1, self.hidden_size), self.compute_dtype), ops.ones((b, 1), "float32")

  def top(self, x, mask=None, training=None):
    del training
    x = ops.expand_dims(x, 2)  # [B, T, 1, d]
    x = self.block(x, mask)
    mask = mm_ops.downsample_mask(mask, 2)
    x = mask_rows(ops.relu(self.norm1(self.sep1(pad_2d(x, (3, 1))))), mask)
    x = mask_rows(ops.relu(self.norm2(self.sep2(pad_2d(x, (3, 1))))), mask)
    pooled = mm_ops.masked_mean(ops.squeeze(x, 2), mask)  # [B, 1, 2.5d]
    return ops.cast(self.logits(pooled), "float32")

  def call(self, x, mask=None, training=None):
    return self.top(x, mask, training)

  def get_config(self):
    return {**super().get_config(), "num_classes": self.num_classes,
            "hidden_size": self.hidden_size}
