"""ConvBlock: four ConvSteps with two residual connections from the block input."""

import keras

from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.conv_step import ConvStep


@keras.saving.register_keras_serializable(package="t2t_mm")
class ConvBlock(keras.layers.Layer):
  """x -> h = x + s2(s1(x)) -> y = x + s4(s3(h)) over [B, L, d] (paper Fig. 3).

  Both residuals come from the block input, as the paper draws them. Kernels and dilations of
  the four steps come from hparams (conv_kernel_sizes, conv_dilations).

  Incremental decoding (causal blocks): `cache = block.init_cache(batch)` holds each step's
  last (k-1)*d inputs; `y_t, cache = block.step(x_t, cache)` runs one position [B, 1, d].

  Args:
    hidden_size: channels d (in = out).
    kernel_sizes: four kernel widths, e.g. [3, 3, 15, 15].
    dilations: four dilation rates, e.g. [1, 1, 1, 4].
    causal: causal (left-padded) steps for the mixer and decoder.
    dropout: dropout on each residual branch in training.

  Example:
    >>> block = ConvBlock(8, [3, 3, 5, 5], [1, 1, 1, 2], causal=True)
    >>> y = block(keras.ops.ones((2, 7, 8)))  # [2, 7, 8]
  """

  def __init__(self, hidden_size, kernel_sizes=(3, 3, 15, 15), dilations=(1, 1, 1, 4),
               causal=False, dropout=0.0, **kwargs):
    super().__init__(**kwargs)
    if len(kernel_sizes) != 4 or len(dilations) != 4:
      raise ValueError(f"ConvBlock expects 4 kernel sizes and 4 dilations, got "
                       f"kernel_sizes={list(kernel_sizes)}, dilations={list(dilations)}.")
    self.hidden_size, self.causal, self.dropout_rate = hidden_size, causal, dropout
    self.kernel_sizes, self.dilations = list(kernel_sizes), list(dilations)

  def build(self, input_shape):
    self.steps = []
    for i, (k, d) in enumerate(zip(self.kernel_sizes, self.dilations)):
      step = ConvStep(self.hidden_size, k, dilation=d, causal=self.causal, name=f"step{i + 1}",
                      dtype=self.dtype_policy)
      step.build(tuple(input_shape[:-1]) + (self.hidden_size,))
      self.steps.append(step)
    self.drop = keras.layers.Dropout(self.dropout_rate, dtype=self.dtype_policy)

  def call(self, x, padding_mask=None, training=None):
    s1, s2, s3, s4 = self.steps
    h = x + self.drop(s2(s1(x, padding_mask), padding_mask), training=training)
    y = x + self.drop(s4(s3(h, padding_mask), padding_mask), training=training)
    return mm_ops.apply_mask(y, padding_mask)

  def init_cache(self, batch_size):
    return [step.init_cache(batch_size) for step in self.steps]

  def step(self, x_t, cache):
    """x_t [B, 1, d] -> (y_t [B, 1, d], cache): the call's residuals, one position at a time."""
    s1, s2, s3, s4 = self.steps
    a, c1 = s1.step(x_t, cache[0])
    a, c2 = s2.step(a, cache[1])
    h = x_t + a
    b, c3 = s3.step(h, cache[2])
    b, c4 = s4.step(b, cache[3])
    return x_t + b, [c1, c2, c3, c4]

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "kernel_sizes": self.kernel_sizes, "dilations": self.dilations,
            "causal": self.causal, "dropout": self.dropout_rate}
