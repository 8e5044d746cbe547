"""ConvStep: ReLU -> depthwise-separable 1-D conv -> LayerNorm, optionally causal."""

import keras
from keras import ops

from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.decoding_state import make_state
from t2t_mm.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="t2t_mm")
class ConvStep(keras.layers.Layer):
  """ConvStep(d, s, f)(x) = LayerNorm(SepConv_{d,s,f}(ReLU(x))) over a sequence [B, L, C].

  Padding is explicit and zero: a centred conv pads ((k-1)d/2, rest) so output i is centred on
  input i*stride whatever the length; a causal conv pads (k-1)d on the left only, so output t
  sees inputs <= t. Padded positions (padding_mask 0) are zeroed before the conv and after
  the norm.

  Incremental decoding (layers/decoding_state.py): a causal step needs only the last (k-1)*d
  inputs of its layer (after the ReLU); `init_state` gives them as zeros (the left padding):

    state = step.init_state(batch, max_length)  # state["cache"]: [B, (k-1)*d, C_in]
    y_t, state = step.step(x_t, t, state)       # x_t [B, 1, C_in] -> y_t [B, 1, filters]
  Position by position this equals the full-sequence call on real (unpadded) positions.

  Args:
    filters: output channels.
    kernel_size: conv width f.
    dilation: dilation rate d (stride must be 1 when d > 1).
    stride: stride s.
    causal: left-pad only (mixer and decoder).
    relu: apply the leading ReLU (False for a first layer on raw features).

  Example:
    >>> step = ConvStep(filters=8, kernel_size=3, causal=True)
    >>> y = step(keras.ops.ones((2, 5, 8)), keras.ops.ones((2, 5)))  # [2, 5, 8]
  """

  def __init__(self, filters, kernel_size=3, dilation=1, stride=1, causal=False, relu=True,
               **kwargs):
    super().__init__(**kwargs)
    if dilation > 1 and stride > 1:
      raise ValueError(f"ConvStep: dilation={dilation} and stride={stride} cannot both be > 1.")
    self.filters, self.kernel_size, self.dilation = filters, kernel_size, dilation
    self.stride, self.causal, self.relu = stride, causal, relu

  def build(self, input_shape):
    self.conv = keras.layers.SeparableConv1D(
        self.filters, self.kernel_size, strides=self.stride, padding="valid",
        dilation_rate=self.dilation, name="sepconv", dtype=self.dtype_policy)
    # Length-free shapes: the explicit padding makes any length valid.
    self.in_channels = input_shape[-1]
    self.conv.build((None, None, input_shape[-1]))
    self.norm = LayerNorm(epsilon=1e-6, name="norm", dtype=self.dtype_policy)
    self.norm.build((None, None, self.filters))

  def padding(self):
    total = (self.kernel_size - 1) * self.dilation
    return (total, 0) if self.causal else mm_ops.same_padding(self.kernel_size, self.dilation)

  def call(self, x, padding_mask=None):
    x = mm_ops.apply_mask(x, padding_mask)
    if self.relu:
      x = ops.relu(x)
    x = mm_ops.pad_axis(x, 1, *self.padding())
    y = self.norm(self._separable(x))
    return mm_ops.apply_mask(y, mm_ops.downsample_mask(padding_mask, self.stride))

  def _separable(self, x):
    """The SeparableConv1D `sepconv` on its own variables: depthwise conv, then a 2-D matmul.

    Equal to calling the layer, which runs the pointwise part as a 1x1 Conv2D; as a matmul the
    step trains faster on CPU (docs/STACK.md), and so does the depthwise part as
    mm_ops.depthwise_conv1d where `folded_depthwise()`. The variables, and so checkpoints, are
    the same.
    """
    conv = self.conv
    # Cast as the layer would under a mixed policy (the variables stay float32).
    depthwise, pointwise, bias = (ops.cast(w, x.dtype) for w in (
        conv.depthwise_kernel, conv.pointwise_kernel[0], conv.bias))
    if self.folded_depthwise():
      y = mm_ops.depthwise_conv1d(x, depthwise[:, :, 0], self.dilation)
    else:
      y = ops.depthwise_conv(x, depthwise, strides=self.stride, padding="valid",
                             dilation_rate=self.dilation)
    return mm_ops.dense(y, pointwise, bias)

  def folded_depthwise(self):
    """Whether the depthwise part runs as mm_ops.depthwise_conv1d (the undilated conv op on
    inputs folded by the dilation, kernel gradient as sums of products): at stride 1. Its
    forward and backward pass alone (docs/STACK.md): over twice as fast at 15 taps, dilated or
    not, and level with the conv op at 3 taps, so one path serves both. Stride > 1 runs the
    conv op."""
    return self.stride == 1

  def cache_length(self):
    return (self.kernel_size - 1) * self.dilation

  def init_state(self, batch_size, max_length=None, context=None):
    """cache: zeros [B, (k-1)*d, C_in], the causal left padding before the first position.
    max_length and context are unused (the window does not grow)."""
    del max_length, context
    if not self.causal or self.stride != 1:
      raise ValueError(f"ConvStep '{self.name}': incremental steps need causal=True and "
                       f"stride=1, got causal={self.causal}, stride={self.stride}.")
    return make_state(cache=ops.zeros((batch_size, self.cache_length(), self.in_channels),
                                      self.compute_dtype))

  def step(self, x_t, t, state):
    """One new position x_t [B, 1, C_in] -> (y_t [B, 1, filters], updated state); t unused."""
    del t
    if self.relu:
      x_t = ops.relu(x_t)
    cache = state["cache"]
    window = ops.concatenate([cache, ops.cast(x_t, cache.dtype)], axis=1)  # [B, (k-1)d+1, C]
    return self.norm(self._separable(window)), make_state(state["fixed"], window[:, 1:])

  def compute_output_shape(self, input_shape):
    length = input_shape[1]
    if length is not None:
      length = -(-length // self.stride)
    return (input_shape[0], length, self.filters)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "dilation": self.dilation, "stride": self.stride, "causal": self.causal,
            "relu": self.relu}
