"""ConvRes: the Xception-style downsampling block of the modality nets (2-D, NHWC)."""

import keras
from keras import ops

from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.layer_norm import LayerNorm


def mask_rows(x, mask):
  """Zeroes rows (axis 1) of x [B, H, W, C] where mask [B, H] is 0."""
  if mask is None:
    return x
  return x * ops.cast(mask, x.dtype)[:, :, None, None]


def subsample(x, strides):
  """x[:, ::s_h, ::s_w] of x [B, H, W, C]: what a strided 1x1 conv reads."""
  s_h, s_w = strides
  if s_h == 1 and s_w == 1:
    return x
  return x[:, ::s_h, ::s_w, :]


def pad_2d(x, kernel, dilation=(1, 1)):
  """Explicit zero padding so that output (i, j) of a strided op sits at input (i*s, j*s)."""
  x = mm_ops.pad_axis(x, 1, *mm_ops.same_padding(kernel[0], dilation[0]))
  return mm_ops.pad_axis(x, 2, *mm_ops.same_padding(kernel[1], dilation[1]))


@keras.saving.register_keras_serializable(package="t2t_mm")
class ConvRes(keras.layers.Layer):
  """Xception ConvRes block (Chollet 2017; paper Sec. 2.3) on x [B, H, W, C]:

    y = MaxPool_s(LN(SepConv(ReLU(LN(SepConv(ReLU(x)))))))   [B, ceil(H/s_h), ceil(W/s_w), f]
    out = y + Conv1x1([ReLU](x)[:, ::s_h, ::s_w])            strided 1x1 residual

  The residual subsamples first and then runs a unit-stride 1x1 conv: the same function as a
  strided 1x1 conv, with the same kernel, but it never reaches oneDNN's strided 1x1 backward-
  weights kernel, which on NHWC inputs with fewer channels than its block (the audio nets' 1, 2,
  4 and 8) writes past its workspace: wrong gradients, then heap corruption (docs/STACK.md).
  Rows (axis 1, time for audio) whose mask is 0 are zeroed before every op that mixes rows, and
  padding is explicit, so trailing padded rows never change real outputs.

  Args:
    filters: output channels f.
    kernel_size: (kh, kw) of the separable convs and the max pool.
    strides: (s_h, s_w) of the pool and the residual conv.
    res_relu: apply ReLU before the residual conv.

  Example:
    >>> block = ConvRes(16, (3, 3), (2, 2))
    >>> y = block(keras.ops.ones((2, 8, 8, 4)))  # [2, 4, 4, 16]
  """

  def __init__(self, filters, kernel_size=(3, 3), strides=(2, 2), res_relu=True, **kwargs):
    super().__init__(**kwargs)
    self.filters, self.res_relu = filters, res_relu
    self.kernel_size, self.strides = tuple(kernel_size), tuple(strides)

  def build(self, input_shape):
    pol, f = self.dtype_policy, self.filters
    sep = lambda name: keras.layers.SeparableConv2D(f, self.kernel_size, padding="valid",
                                                    name=name, dtype=pol)
    self.sep1, self.sep2 = sep("sepconv1"), sep("sepconv2")
    self.norm1 = LayerNorm(epsilon=1e-6, name="norm1", dtype=pol)
    self.norm2 = LayerNorm(epsilon=1e-6, name="norm2", dtype=pol)
    self.pool = keras.layers.MaxPooling2D(self.kernel_size, self.strides, padding="valid",
                                          dtype=pol)
    self.residual = keras.layers.Conv2D(f, (1, 1), name="residual", dtype=pol)
    b, h, w, c = None, None, input_shape[2], input_shape[3]  # Any length: explicit padding.
    self.sep1.build((b, h, w, c))
    self.sep2.build((b, h, w, f))
    self.norm1.build((b, h, w, f))
    self.norm2.build((b, h, w, f))
    self.residual.build((b, h, w, c))

  def call(self, x, padding_mask=None):
    x = mask_rows(x, padding_mask)
    y = mask_rows(self.norm1(self.sep1(pad_2d(ops.relu(x), self.kernel_size))), padding_mask)
    y = mask_rows(self.norm2(self.sep2(pad_2d(ops.relu(y), self.kernel_size))), padding_mask)
    y = self.pool(pad_2d(y, self.kernel_size))
    res = subsample(ops.relu(x) if self.res_relu else x, self.strides)
    # The 1x1 conv as one matmul on the layer's own variables (same checkpoints): as a Conv2D
    # followed by this add, grappler's remapper tried to fuse Conv2D+BiasAdd+Add, failed on the
    # next block reading the sum, and logged an error line in every run (docs/STACK.md).
    dtype = self.compute_dtype
    res = mm_ops.dense(res, ops.cast(self.residual.kernel[0, 0], dtype),
                       ops.cast(self.residual.bias, dtype))
    return mask_rows(y + res, mm_ops.downsample_mask(padding_mask, self.strides[0]))

  def compute_output_shape(self, input_shape):
    b, h, w, _ = input_shape
    ceil = lambda n, s: None if n is None else -(-n // s)
    return (b, ceil(h, self.strides[0]), ceil(w, self.strides[1]), self.filters)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "strides": self.strides, "res_relu": self.res_relu}
