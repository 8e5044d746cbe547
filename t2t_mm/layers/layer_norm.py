"""LayerNorm: Keras' LayerNormalization with a gradient written out."""

import keras

from t2t_mm.layers import ops as mm_ops


@keras.saving.register_keras_serializable(package="t2t_mm")
class LayerNorm(keras.layers.LayerNormalization):
  """keras.layers.LayerNormalization over the last axis, with a closed-form gradient.

  Same variables (`gamma`, `beta`), names, config and values as the Keras layer, so
  checkpoints are interchangeable; the forward pass and its gradient run a handful of ops
  (mm_ops.layer_norm) where autodiff of the Keras layer runs about seventy at dynamic shapes,
  which is most of a small model's training step on CPU (docs/STACK.md). Other settings
  (several axes, no centre or scale, RMS scaling) run the Keras layer's own call.

  Args:
    **kwargs: those of keras.layers.LayerNormalization (`epsilon`, `name`, `dtype`, ...).

  Example:
    >>> norm = LayerNorm(epsilon=1e-6)
    >>> y = norm(keras.ops.ones((2, 5, 8)))  # [2, 5, 8], each position mean 0
  """

  def call(self, inputs):
    axis = self.axis if isinstance(self.axis, int) else (
        self.axis[0] if len(self.axis) == 1 else None)
    last = axis is not None and axis % len(inputs.shape) == len(inputs.shape) - 1
    if not (last and self.center and self.scale) or self.rms_scaling:
      return super().call(inputs)
    y = mm_ops.layer_norm(inputs, self.gamma, self.beta, self.epsilon)
    return keras.ops.cast(y, self.compute_dtype)
