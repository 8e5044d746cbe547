"""Dense: equal to keras.layers.Dense, values and gradients, at any rank; config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.layers.dense import Dense
from t2t_mm.testing import layer_checks


def _x(shape, seed=0):
  return tf.constant(np.random.default_rng(seed).normal(size=shape).astype("float32"))


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (2, 3, 2, 4)])
@pytest.mark.parametrize("kwargs", [{}, {"use_bias": False}, {"activation": "relu"}])
def test_values_and_gradients_equal_the_keras_layer(shape, kwargs):
  ours = Dense(6, **kwargs)
  ours.build(shape)
  rng = np.random.default_rng(2)
  ours.set_weights([rng.normal(size=w.shape) for w in ours.get_weights()])
  theirs = keras.layers.Dense(6, **kwargs)
  theirs.build(shape)
  theirs.set_weights(ours.get_weights())
  x = _x(shape)
  y, grads = layer_checks.values_and_gradients(ours, x)
  y_ref, grads_ref = layer_checks.values_and_gradients(theirs, x)
  assert tuple(y.shape) == shape[:-1] + (6,)
  np.testing.assert_allclose(y.numpy(), y_ref.numpy(), atol=1e-5)
  for got, want in zip(grads, grads_ref):
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)


def test_traced_with_unknown_batch_and_length_keeps_the_leading_shape():
  dense = Dense(3)
  dense.build((None, None, 4))
  fn = tf.function(dense.__call__, input_signature=[tf.TensorSpec((None, None, 4))])
  assert tuple(fn(_x((2, 5, 4))).shape) == (2, 5, 3)
  assert fn.get_concrete_function().structured_outputs.shape.as_list() == [None, None, 3]


def test_mixed_bfloat16_computes_in_bfloat16_with_float32_variables():
  dense = Dense(3, dtype="mixed_bfloat16")
  y = dense(_x((2, 5, 4)))
  assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
  assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in dense.weights)


def test_config_round_trip_and_serialization():
  dense = Dense(3, activation="relu", name="d")
  layer_checks.check_config_round_trip(dense, _x((2, 5, 4)))
  layer_checks.check_serialized_round_trip(dense, _x((2, 5, 4)))
