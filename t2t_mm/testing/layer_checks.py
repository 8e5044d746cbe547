"""Checks every t2t_mm layer test makes the same way (KerasHub's LayerTestCase is the model).

    check_config_round_trip(ConvStep(6, 3, causal=True), x)     # clone from config == layer
    check_serialized_round_trip(ConvStep(6, 3), x)               # keras.saving (de)serializes it
    check_steps_equal_call(full, lambda t, s: block.step(x[:, t:t + 1], t, s), state, steps=9)
    y, grads = values_and_gradients(layer, x)                   # to compare with a reference

Each raises AssertionError with numpy's message when the layer breaks its contract.
"""

from typing import Any, Callable, Tuple

import keras
import numpy as np


def _outputs(y) -> list:
  return [np.asarray(v) for v in (y if isinstance(y, (tuple, list)) else [y])]


def _clone_equals(layer, clone, inputs, call_kwargs, atol) -> None:
  y = layer(*inputs, **call_kwargs)
  if not clone.built:  # A deserialized layer is built from its build_config already.
    clone.build(*[np.shape(x) for x in inputs])
  clone.set_weights(layer.get_weights())
  for got, want in zip(_outputs(clone(*inputs, **call_kwargs)), _outputs(y)):
    np.testing.assert_allclose(got, want, atol=atol)


def check_config_round_trip(layer, *inputs, atol: float = 1e-6, **call_kwargs) -> None:
  """A clone made from layer.get_config(), given the layer's weights, computes the same outputs
  on `inputs`, and its config equals the layer's."""
  clone = type(layer).from_config(layer.get_config())
  _clone_equals(layer, clone, inputs, call_kwargs, atol)
  assert clone.get_config() == layer.get_config()


def check_serialized_round_trip(layer, *inputs, atol: float = 1e-6, **call_kwargs) -> None:
  """What a .keras file stores of the layer (keras.saving's serialized form, which needs the
  class registered as serializable) rebuilds an equal layer."""
  clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
  assert type(clone) is type(layer)
  _clone_equals(layer, clone, inputs, call_kwargs, atol)


def check_steps_equal_call(full, step: Callable[[int, Any], Tuple[Any, Any]], state,
                           steps: int, axis: int = 1, atol: float = 1e-5) -> None:
  """Incremental decoding equals the full call: step(t, state) -> (output of position t,
  new state), for t < steps, concatenated along `axis`, equals `full`."""
  outputs = []
  for t in range(steps):
    y, state = step(t, state)
    outputs.append(np.asarray(y))
  np.testing.assert_allclose(np.concatenate(outputs, axis), np.asarray(full), atol=atol)


def values_and_gradients(layer, x):
  """(layer(x), gradients of a position-weighted sum of it w.r.t. [x] + trainable weights).

  The weights vary by position (sin of the flat index), so an error in any one position's
  gradient shows, where a plain sum would hide errors in, e.g., the gradient of a mean.
  """
  import tensorflow as tf
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = layer(x)
    loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.reshape(
        tf.sin(tf.range(tf.size(y), dtype=tf.float32)), tf.shape(y)))
  return y, tape.gradient(loss, [x] + layer.trainable_weights)
