"""Image modality: Xception entry flow, then the feature map as a sequence of positions."""

import keras
from keras import ops

from t2t_mm import registry
from t2t_mm.layers.conv_res import ConvRes
from t2t_mm.layers.conv_res import pad_2d
from t2t_mm.layers.layer_norm import LayerNorm


@registry.register_modality(name="image")
@keras.saving.register_keras_serializable(package="t2t_mm")
class ImageModality(keras.layers.Layer):
  """images [B, H, W, 3] in [0, 1] -> [B, (H/32)*(W/32), d] (Xception entry flow, paper 2.3).

    conv 3x3/2 (32) -> LN -> ReLU -> conv 3x3 (64) -> LN -> ConvRes(min(128, d), /2, ReLU res)
    -> ConvRes(min(256, d), /2) -> ConvRes(d, /2) -> flatten rows and columns into positions.
  Widths follow the Tensor2Tensor reference image modality. Every position is real (mask 1).

  Args:
    hidden_size: d.

  Example:
    >>> net = ImageModality(hidden_size=16)
    >>> x, mask = net.bottom(keras.ops.ones((2, 32, 32, 3)))  # [2, 4, 16], [2, 4]
  """

  def __init__(self, hidden_size, **kwargs):
    super().__init__(**kwargs)
    self.hidden_size = hidden_size

  @classmethod
  def from_hparams(cls, hparams, spec, role, **kwargs):
    del spec, role
    return cls(hidden_size=hparams.hidden_size, **kwargs)

  def build(self, input_shape=None):
    pol, d = self.dtype_policy, self.hidden_size
    self.conv1 = keras.layers.Conv2D(32, 3, strides=2, name="conv1", dtype=pol)
    self.norm1 = LayerNorm(epsilon=1e-6, name="norm1", dtype=pol)
    self.conv2 = keras.layers.Conv2D(64, 3, name="conv2", dtype=pol)
    self.norm2 = LayerNorm(epsilon=1e-6, name="norm2", dtype=pol)
    self.blocks = [ConvRes(min(128, d), name="block0", dtype=pol),
                   ConvRes(min(256, d), res_relu=False, name="block1", dtype=pol),
                   ConvRes(d, res_relu=False, name="block2", dtype=pol)]
    self.conv1.build((None, None, None, 3))
    self.norm1.build((None, None, None, 32))
    self.conv2.build((None, None, None, 32))
    self.norm2.build((None, None, None, 64))
    channels = 64
    for block in self.blocks:
      block.build((None, None, None, channels))
      channels = block.filters

  def bottom(self, images, training=None):
    del training
    x = ops.cast(images, self.compute_dtype) * 2.0 - 1.0
    x = ops.relu(self.norm1(self.conv1(pad_2d(x, (3, 3)))))
    x = self.norm2(self.conv2(pad_2d(x, (3, 3))))
    for block in self.blocks:
      x = block(x)
    b, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
    x = ops.reshape(x, (b, h * w, self.hidden_size))
    return x, ops.ones((b, h * w), "float32")

  def call(self, images, training=None):
    return self.bottom(images, training)

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size}
