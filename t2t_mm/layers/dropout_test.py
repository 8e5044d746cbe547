"""Dropout: the kept share and scale, unbiased, seeded, its gradient, XLA, config, names."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.layers.dropout import Dropout
from t2t_mm.runs import checkpoints
from t2t_mm.testing import layer_checks


def _x(shape, seed=0):
  return tf.constant(np.random.default_rng(seed).uniform(1.0, 2.0, size=shape).astype("float32"))


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_drops_the_rate_and_scales_the_rest_so_the_mean_is_kept(rate):
  x = _x((64, 37, 41))  # An odd element count: the last 32-bit word gives one element.
  y = Dropout(rate, seed=3)(x, training=True).numpy()
  kept = y != 0
  n = kept.size
  # Binomial(n, 1 - rate): 5 standard deviations.
  assert abs(kept.mean() - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / n)
  threshold = round(rate * 2 ** 16)
  np.testing.assert_allclose(y[kept], x.numpy()[kept] * 2 ** 16 / (2 ** 16 - threshold),
                             rtol=1e-6)
  # Unbiased: the mean of y / x is 1 within its sampling error.
  ratio = y / x.numpy()
  assert abs(ratio.mean() - 1) < 5 * ratio.std() / np.sqrt(n)


def test_masks_are_independent_of_position():
  """Both halves of a 32-bit word are used: neighbours are not dropped together."""
  y = Dropout(0.5, seed=1)(tf.ones((200_000,)), training=True).numpy() != 0
  both = np.mean(y[0::2] & y[1::2])
  assert abs(both - 0.25) < 0.01


def test_identity_outside_training_and_at_rate_0_zeros_at_rate_1():
  x = _x((3, 5))
  assert Dropout(0.3)(x, training=False) is x
  assert Dropout(0.0)(x, training=True) is x
  np.testing.assert_array_equal(Dropout(1.0)(x, training=True).numpy(), np.zeros((3, 5)))
  with pytest.raises(ValueError, match="rate=1.5"):
    Dropout(1.5)


def test_seeded_layers_repeat_and_each_call_draws_a_new_mask():
  x = _x((16, 33))
  first, second = Dropout(0.3, seed=7), Dropout(0.3, seed=7)
  a1, a2 = first(x, training=True), first(x, training=True)
  b1 = second(x, training=True)
  np.testing.assert_array_equal(a1.numpy(), b1.numpy())
  assert np.any(a1.numpy() != a2.numpy())


def test_gradient_is_the_mask_times_the_scale():
  drop = Dropout(0.25, seed=2)
  x = _x((8, 9, 10))
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = drop(x, training=True)
  grad = tape.gradient(y, x).numpy()
  np.testing.assert_allclose(grad, y.numpy() / x.numpy(), rtol=1e-6)


def test_compiles_under_xla_and_traces_with_unknown_shapes():
  drop = Dropout(0.2, seed=4)
  dynamic = tf.function(lambda x: drop(x, training=True),
                        input_signature=[tf.TensorSpec((None, None, 6))])
  assert dynamic(_x((3, 7, 6))).shape == (3, 7, 6)
  compiled = tf.function(lambda x: drop(x, training=True), jit_compile=True)
  y = compiled(_x((5, 7, 6))).numpy()
  assert 0 < np.mean(y == 0) < 0.6


def test_a_float16_layer_computes_in_float16():
  y = Dropout(0.5, seed=0, dtype="float16")(tf.ones((4, 8), tf.float16), training=True)
  assert y.dtype == tf.float16
  assert set(np.unique(y.numpy())) <= {0.0, 2.0}


def test_config_round_trips():
  layer = Dropout(0.3, seed=5, name="drop")
  layer_checks.check_config_round_trip(layer, _x((2, 3)))
  layer_checks.check_serialized_round_trip(layer, _x((2, 3)))
  assert (layer.get_config()["rate"], layer.get_config()["seed"]) == (0.3, 5)


def test_seed_state_has_the_checkpoint_name_of_keras_dropout():
  """The seed generator's variable gets the name keras.layers.Dropout's got, so checkpoints
  written before this layer replaced Keras's restore."""

  class Owner(keras.layers.Layer):
    """Makes its dropout in build(), as the model's layers do."""

    def __init__(self, drop_cls, **kwargs):
      super().__init__(**kwargs)
      self.drop_cls = drop_cls

    def build(self, input_shape):
      self.drop = self.drop_cls(0.1)

    def call(self, x, training=False):
      return self.drop(x, training=training)

  names = []
  for drop_cls in (Dropout, keras.layers.Dropout):
    owner = Owner(drop_cls, name="owner")
    owner(_x((2, 3)), training=True)
    names.append(list(checkpoints.variables_by_name(owner.variables)))
  assert names[0] == names[1] == ["owner/seed_generator_state_0"]
