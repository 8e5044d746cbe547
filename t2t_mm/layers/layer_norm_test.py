"""LayerNorm: equal to keras.layers.LayerNormalization, values and gradients; config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.layers.layer_norm import LayerNorm
from t2t_mm.testing import layer_checks


def _x(shape, seed=0):
  return tf.constant(np.random.default_rng(seed).normal(3.0, 2.0, shape).astype("float32"))


@pytest.mark.parametrize("shape", [(3, 7, 8), (2, 4, 5, 6), (5, 8)])
def test_values_and_gradients_equal_the_keras_layer(shape):
  ours = LayerNorm(epsilon=1e-6, name="norm")
  ours.build(shape)
  rng = np.random.default_rng(1)
  ours.set_weights([rng.normal(1.0, 0.5, shape[-1:]), rng.normal(0.0, 0.5, shape[-1:])])
  keras_norm = keras.layers.LayerNormalization(epsilon=1e-6)
  keras_norm.build(shape)
  keras_norm.set_weights(ours.get_weights())
  x = _x(shape)
  y, grads = layer_checks.values_and_gradients(ours, x)
  y_ref, grads_ref = layer_checks.values_and_gradients(keras_norm, x)
  np.testing.assert_allclose(y.numpy(), y_ref.numpy(), atol=1e-5)
  for got, want in zip(grads, grads_ref):
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


def test_inside_a_traced_function_with_unknown_batch_and_length():
  ours, theirs = LayerNorm(), keras.layers.LayerNormalization()
  for norm in (ours, theirs):
    norm.build((None, None, 4))
  theirs.set_weights([np.full(4, 1.5), np.full(4, -0.5)])
  ours.set_weights(theirs.get_weights())

  def grad_of(norm):
    @tf.function(input_signature=[tf.TensorSpec((None, None, 4))])
    def fn(x):
      return layer_checks.values_and_gradients(norm, x)[1]
    return fn

  x = _x((2, 3, 4))
  for got, want in zip(grad_of(ours)(x), grad_of(theirs)(x)):
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_policies_compute_in_float32_and_return_the_compute_dtype(policy):
  norm = LayerNorm(dtype=policy)
  x = _x((2, 3, 16))
  y, grads = layer_checks.values_and_gradients(norm, tf.cast(x, policy.split("_")[1]))
  assert keras.backend.standardize_dtype(y.dtype) == policy.split("_")[1]
  assert all(g.dtype == v.dtype for g, v in zip(grads[1:], norm.trainable_weights))
  np.testing.assert_allclose(tf.cast(y, tf.float32).numpy(),
                             keras.layers.LayerNormalization()(x).numpy(), atol=0.05)


def test_other_settings_run_the_keras_call():
  x = _x((2, 3, 4))
  for kwargs in ({"scale": False}, {"center": False}, {"axis": [1, 2]}):
    ours, theirs = LayerNorm(**kwargs), keras.layers.LayerNormalization(**kwargs)
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), atol=1e-5)


def test_config_round_trip_and_serialization():
  norm = LayerNorm(epsilon=1e-3, name="n")
  layer_checks.check_config_round_trip(norm, _x((2, 3, 4)))
  layer_checks.check_serialized_round_trip(norm, _x((2, 3, 4)))
