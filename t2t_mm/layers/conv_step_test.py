"""ConvStep: shapes, causality, padding invariance, config round trip."""

import keras
import numpy as np
import pytest

from t2t_mm.layers.conv_step import ConvStep
from t2t_mm.testing import layer_checks


def _x(b=2, n=9, c=6, seed=0):
  return np.random.default_rng(seed).standard_normal((b, n, c)).astype("float32")


@pytest.mark.parametrize("stride,expected", [(1, 9), (2, 5), (3, 3)])
def test_shapes(stride, expected):
  y = ConvStep(4, 3, stride=stride)(_x())
  assert tuple(y.shape) == (2, expected, 4)


def test_causal_output_ignores_the_future():
  step = ConvStep(6, 3, dilation=2, causal=True)
  x = _x()
  y1 = np.asarray(step(x))
  x2 = x.copy()
  x2[:, 5:] = 7.0
  y2 = np.asarray(step(x2))
  np.testing.assert_allclose(y1[:, :5], y2[:, :5], atol=1e-5)
  assert not np.allclose(y1[:, 5:], y2[:, 5:])


@pytest.mark.parametrize("causal,stride", [(False, 1), (False, 2), (True, 1)])
def test_padding_never_changes_real_positions(causal, stride):
  step = ConvStep(6, 5, stride=stride, causal=causal)
  x = _x(b=1, n=6)
  short = np.asarray(step(x, np.ones((1, 6), "float32")))
  padded_x = np.concatenate([x, np.full((1, 5, 6), 3.0, "float32")], axis=1)
  mask = np.concatenate([np.ones((1, 6)), np.zeros((1, 5))], axis=1).astype("float32")
  long = np.asarray(step(padded_x, mask))
  n = short.shape[1]
  np.testing.assert_allclose(short, long[:, :n], atol=1e-5)
  assert np.all(long[:, n:] == 0)


def test_config_round_trip_gives_equal_outputs():
  step = ConvStep(6, 3, dilation=2, causal=True, name="s")
  layer_checks.check_config_round_trip(step, _x())
  layer_checks.check_serialized_round_trip(step, _x())


def test_stride_with_dilation_is_an_error():
  with pytest.raises(ValueError, match="dilation=2 and stride=2"):
    ConvStep(4, 3, dilation=2, stride=2)


def test_keras_symbolic_shape():
  assert ConvStep(4, 3, stride=2).compute_output_shape((None, 9, 6)) == (None, 5, 4)
  assert keras.ops.shape(ConvStep(4, 3)(_x()))[2] == 4


def test_incremental_steps_equal_the_causal_call():
  step = ConvStep(6, 3, dilation=2, causal=True)
  x = _x(b=2, n=7)
  full = np.asarray(step(x))
  state = step.init_state(2, 7)
  assert tuple(state["cache"].shape) == (2, 4, 6)  # (k - 1) * d inputs.
  layer_checks.check_steps_equal_call(full, lambda t, s: step.step(x[:, t:t + 1], t, s), state,
                                      steps=7)
  with pytest.raises(ValueError, match="causal=True"):
    ConvStep(6, 3).init_state(2, 7)


@pytest.mark.parametrize("kernel,dilation,stride", [(3, 1, 1), (5, 2, 1), (3, 1, 2), (5, 1, 1)])
def test_the_matmul_form_equals_the_separable_conv_layer_and_its_gradients(kernel, dilation,
                                                                           stride):
  import tensorflow as tf
  step = ConvStep(6, kernel, dilation=dilation, stride=stride)
  step.build((None, None, 4))
  x = tf.constant(np.random.default_rng(0).normal(size=(2, 9, 4)).astype("float32"))
  grads = []
  for fn in (step.conv, step._separable):
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = fn(x)
      loss = tf.reduce_sum(y * tf.reshape(tf.range(tf.size(y), dtype=tf.float32), y.shape))
    grads.append((y.numpy(), [g.numpy() for g in tape.gradient(loss, [x] + step.conv.weights)]))
  np.testing.assert_allclose(grads[0][0], grads[1][0], atol=1e-5)
  for a, b in zip(grads[0][1], grads[1][1]):
    np.testing.assert_allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_computes_in_half_and_keeps_float32_variables(policy):
  step = ConvStep(6, 3, causal=True, dtype=policy)
  y = step(_x(c=4), np.ones((2, 9), "float32"))
  assert keras.backend.standardize_dtype(y.dtype) == policy.split("_")[1]
  assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in step.weights)
  reference = ConvStep(6, 3, causal=True)
  reference.build((None, None, 4))
  reference.set_weights(step.get_weights())
  np.testing.assert_allclose(np.asarray(keras.ops.cast(y, "float32")),
                             np.asarray(reference(_x(c=4), np.ones((2, 9), "float32"))),
                             atol=0.1)


@pytest.mark.parametrize("kernel,dilation,causal", [(3, 1, False), (3, 1, True), (5, 2, False),
                                                    (4, 3, True), (15, 1, True)])
def test_folded_depthwise_equals_the_depthwise_conv_op_with_masks_and_gradients(
    kernel, dilation, causal, monkeypatch):
  import tensorflow as tf
  step = ConvStep(6, kernel, dilation=dilation, causal=causal)
  step.build((None, None, 4))
  assert step.folded_depthwise()
  x = tf.constant(_x(n=11, c=4, seed=3))
  mask = tf.constant(np.arange(11)[None, :] < np.array([[11], [6]]), tf.float32)
  outs = []
  for folded in (True, False):  # The same layer, its depthwise part either way.
    monkeypatch.setattr(step, "folded_depthwise", lambda folded=folded: folded)

    # Length-free, as the trainer traces its step.
    @tf.function(input_signature=[tf.TensorSpec((None, None, 4)), tf.TensorSpec((None, None))])
    def fn(x, mask):
      with tf.GradientTape() as tape:
        tape.watch(x)
        y = step(x, mask)
        loss = tf.reduce_sum(y * tf.reshape(tf.range(tf.size(y), dtype=tf.float32),
                                            tf.shape(y)))
      return y, tape.gradient(loss, [x] + step.trainable_weights)

    y, grads = fn(x, mask)
    outs.append((y.numpy(), [g.numpy() for g in grads]))
  np.testing.assert_allclose(outs[0][0], outs[1][0], atol=1e-5)
  assert np.all(outs[0][0][1, 6:] == 0)  # Padding stays zero.
  for a, b in zip(outs[0][1], outs[1][1]):  # Float rounding, relative to each gradient's scale.
    np.testing.assert_allclose(a, b, atol=2e-5 * np.abs(b).max())
