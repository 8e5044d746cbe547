"""ConvBlock: four ConvSteps with two residual connections from the block input."""

import keras

from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.conv_step import ConvStep
from t2t_mm.layers.decoding_state import make_state
from t2t_mm.layers.dropout import Dropout


@keras.saving.register_keras_serializable(package="t2t_mm")
class ConvBlock(keras.layers.Layer):
  """x -> h = x + s2(s1(x)) -> y = x + s4(s3(h)) over [B, L, d] (paper Fig. 3).

  Both residuals come from the block input, as the paper draws them. Kernels and dilations of
  the four steps come from hparams (conv_kernel_sizes, conv_dilations).

  Incremental decoding (causal blocks; layers/decoding_state.py): `state =
  block.init_state(batch, max_length)` holds each step's last (k-1)*d inputs (state["cache"], a
  list of four); `y_t, state = block.step(x_t, t, state)` runs one position [B, 1, d].

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
    self.drop = Dropout(self.dropout_rate, dtype=self.dtype_policy)

  def call(self, x, padding_mask=None, training=None):
    s1, s2, s3, s4 = self.steps
    h = x + self.drop(s2(s1(x, padding_mask), padding_mask), training=training)
    y = x + self.drop(s4(s3(h, padding_mask), padding_mask), training=training)
    return mm_ops.apply_mask(y, padding_mask)

  def init_state(self, batch_size, max_length=None, context=None):
    """cache: the four steps' windows (max_length and context unused)."""
    del context
    return make_state(cache=[step.init_state(batch_size, max_length)["cache"]
                             for step in self.steps])

  def step(self, x_t, t, state):
    """x_t [B, 1, d] -> (y_t [B, 1, d], state): the call's residuals, one position at a time."""
    caches = []

    def run(step, x, i):
      y, s = step.step(x, t, make_state(cache=state["cache"][i]))
      caches.append(s["cache"])
      return y

    s1, s2, s3, s4 = self.steps
    h = x_t + run(s2, run(s1, x_t, 0), 1)
    y = x_t + run(s4, run(s3, h, 2), 3)
    return y, make_state(state["fixed"], caches)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "kernel_sizes": self.kernel_sizes, "dilations": self.dilations,
            "causal": self.causal, "dropout": self.dropout_rate}
