"""Dropout: keras.layers.Dropout with a mask drawn from 16 random bits per element."""

import keras
from keras import ops
import tensorflow as tf

from t2t_mm.layers import ops as mm_ops

_BITS = 16


@keras.saving.register_keras_serializable(package="t2t_mm")
class Dropout(keras.layers.Layer):
  """Inverted dropout: in training, zero each element with probability `rate`, scale the rest.

      keep = bits16 >= round(rate * 2^16)         bits16: uniform 16-bit integers
      y    = x * keep * 2^16 / (2^16 - round(rate * 2^16))   (so that E[y] = x)

  The contract, config and seed state of keras.layers.Dropout (its SeedGenerator is made the
  same way, so checkpoints keep their variable names); outside training, or at a rate
  below 2^-17, y = x; above 1 - 2^-17, y = 0.
  Why not Keras's layer: on TensorFlow it draws one float32 per element, and the random
  generator was the largest cost of dropout in a MultiModel training step on the CPU
  (docs/STACK.md). Here each 32-bit Philox word gives two elements their 16 bits, half the
  generator's work, and the gradient is one multiply by the mask. The rate is rounded to a
  multiple of 2^-16 (0.1 keeps 0.899994 of the elements); the scale corrects for the rounding.
  Other backends get keras.random.dropout.

  Args:
    rate: the probability of dropping an element, in [0, 1].
    seed: the SeedGenerator's seed (None: a random one, as in Keras).
    **kwargs: keras.layers.Layer's (`name`, `dtype`, ...).

  Example:
    >>> drop = Dropout(0.1)
    >>> y = drop(keras.ops.ones((2, 5, 8)), training=True)  # zeros and 1 / 0.9
  """

  def __init__(self, rate, seed=None, **kwargs):
    super().__init__(**kwargs)
    if not 0 <= rate <= 1:
      raise ValueError(f"Dropout: rate={rate} is not in [0, 1].")
    self.rate, self.seed = rate, seed
    if rate > 0:
      self.seed_generator = keras.random.SeedGenerator(seed)
    self.supports_masking = True
    self.built = True

  def call(self, inputs, training=False):
    threshold = round(self.rate * 2 ** _BITS)
    if not training or threshold == 0:
      return inputs
    if threshold == 2 ** _BITS:
      return ops.zeros_like(inputs)
    if keras.backend.backend() != "tensorflow":
      return keras.random.dropout(inputs, self.rate, seed=self.seed_generator)
    keep = _keep_mask(tf.shape(inputs), self.seed_generator.next(), threshold)
    scale = 2 ** _BITS / (2 ** _BITS - threshold)
    return mm_ops.times_data(inputs, ops.cast(keep, inputs.dtype) * scale)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def _keep_mask(shape, seed, threshold: int):
  """Boolean mask of `shape`, each element True with probability 1 - threshold / 2^16.

    words [ceil(n/2)] uint32 -> bitcast [ceil(n/2), 2] uint16 -> first n -> >= threshold
  """
  n = tf.reduce_prod(shape)
  # Keras's seed state is int64; the stateless ops (and XLA) want int32, as Keras casts it.
  seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
  words = tf.random.stateless_uniform(((n + 1) // 2,), seed, minval=None, maxval=None,
                                      dtype=tf.uint32)
  halves = tf.reshape(tf.bitcast(words, tf.uint16), (-1,))[:n]
  return tf.reshape(halves, shape) >= tf.constant(threshold, tf.uint16)
