"""Dense: Keras' Dense layer as one 2-D matmul, for sequences [B, L, C]."""

import keras

from t2t_mm.layers import ops as mm_ops


@keras.saving.register_keras_serializable(package="t2t_mm")
class Dense(keras.layers.Dense):
  """keras.layers.Dense whose product flattens the leading axes: [B, L, C] -> [B*L, C].

  Same variables (`kernel`, `bias`), names, config and values as the Keras layer, so
  checkpoints are interchangeable; keras.ops.matmul of a rank-3 input runs tf.tensordot,
  whose shape bookkeeping doubles the ops of a projection in a training step (docs/STACK.md).
  LoRA and quantized layers run the Keras layer's own call.

  Args:
    **kwargs: those of keras.layers.Dense (`units`, `use_bias`, `activation`, `name`, ...).

  Example:
    >>> dense = Dense(16, name="project")
    >>> y = dense(keras.ops.ones((2, 5, 8)))  # [2, 5, 16]
  """

  def call(self, inputs, training=None):
    if self.lora_enabled or self.quantization_mode:
      return super().call(inputs, training=training)
    kernel = keras.ops.cast(self.kernel, inputs.dtype)
    bias = None if self.bias is None else keras.ops.cast(self.bias, inputs.dtype)
    x = mm_ops.dense(inputs, kernel, bias)
    return x if self.activation is None else self.activation(x)
