"""Weightless helpers: masking and the flattened matmul, values and gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.layers import ops as mm_ops


def test_apply_mask_zeroes_padding_and_passes_gradient_only_to_real_positions():
  x = tf.constant(np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32"))
  mask = tf.constant([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])

  @tf.function(input_signature=[tf.TensorSpec((None, None, 4)), tf.TensorSpec((None, None))])
  def fn(x, mask):
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = mm_ops.apply_mask(x, mask)
      loss = tf.reduce_sum(y * 3.0)
    return y, tape.gradient(loss, x)

  y, g = fn(x, mask)
  expected = mask.numpy()[..., None]
  np.testing.assert_allclose(y.numpy(), x.numpy() * expected)
  np.testing.assert_allclose(g.numpy(), 3.0 * np.broadcast_to(expected, x.shape))
  assert mm_ops.apply_mask(x, None) is x


def test_dense_equals_the_matmul_and_its_gradients():
  rng = np.random.default_rng(1)
  x = tf.constant(rng.normal(size=(2, 3, 4)).astype("float32"))
  w = tf.constant(rng.normal(size=(4, 5)).astype("float32"))
  b = tf.constant(rng.normal(size=(5,)).astype("float32"))
  results = []
  for fn in (lambda: mm_ops.dense(x, w, b), lambda: tf.einsum("blc,cd->bld", x, w) + b):
    with tf.GradientTape() as tape:
      tape.watch([x, w, b])
      y = fn()
      loss = tf.reduce_sum(y * tf.reshape(tf.range(30, dtype=tf.float32), (2, 3, 5)))
    results.append([y] + tape.gradient(loss, [x, w, b]))
  for got, want in zip(*results):
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("taps,dilation", [(1, 1), (3, 1), (3, 2), (4, 3), (15, 1), (15, 4)])
def test_depthwise_conv1d_equals_the_depthwise_conv_op_and_its_gradients(taps, dilation):
  rng = np.random.default_rng(taps + dilation)
  x = tf.constant(rng.normal(size=(2, (taps - 1) * dilation + 5, 3)).astype("float32"))
  w = tf.constant(rng.normal(size=(taps, 3)).astype("float32"))
  results = []
  for conv in (lambda x, w: mm_ops.depthwise_conv1d(x, w, dilation),
               lambda x, w: keras.ops.depthwise_conv(x, w[:, :, None], 1, "valid",
                                                     dilation_rate=dilation)):

    @tf.function(input_signature=[tf.TensorSpec((None, None, 3)), tf.TensorSpec((taps, 3))])
    def fn(x, w, conv=conv):
      with tf.GradientTape() as tape:
        tape.watch([x, w])
        y = conv(x, w)
        loss = tf.reduce_sum(y * tf.reshape(tf.range(tf.size(y), dtype=tf.float32),
                                            tf.shape(y)))
      return y, tape.gradient(loss, [x, w])

    y, grads = fn(x, w)
    results.append([y.numpy()] + [g.numpy() for g in grads])
  assert results[0][0].shape == (2, 5, 3)
  for a, b in zip(*results):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_depthwise_conv1d_sums_its_kernel_gradient_in_float32(dtype):
  # 32 x 256 products of about 0.5 per tap: accumulated in float16 the sum stalls near 2048.
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(32, 256 + 4, 4)).astype("float32")
  w = rng.normal(size=(3, 4)).astype("float32")

  def kernel_gradient(dtype):
    xs, ws = tf.constant(x, dtype), tf.constant(w, dtype)
    with tf.GradientTape() as tape:
      tape.watch(ws)
      y = mm_ops.depthwise_conv1d(xs, ws, 2)
    return tape.gradient(y, ws)

  low, exact = kernel_gradient(dtype), kernel_gradient("float32")
  assert low.dtype == dtype
  np.testing.assert_allclose(tf.cast(low, tf.float32).numpy(), exact.numpy(), rtol=1e-2)


@pytest.mark.parametrize("length", [57, 58, 60, 61])  # Every remainder of the fold by 4.
def test_depthwise_conv1d_compiles_under_xla_at_every_length(length):
  rng = np.random.default_rng(length)
  x = tf.constant(rng.normal(size=(2, length, 3)).astype("float32"))
  w = tf.constant(rng.normal(size=(15, 3)).astype("float32"))

  def fn(x, w):
    with tf.GradientTape() as tape:
      tape.watch([x, w])
      y = mm_ops.depthwise_conv1d(x, w, 4)
      loss = tf.reduce_sum(y * y)
    return [y] + tape.gradient(loss, [x, w])

  graph = tf.function(fn)(x, w)
  compiled = tf.function(fn, jit_compile=True)(x, w)
  assert graph[0].shape == (2, length - 56, 3)
  for a, b in zip(graph, compiled):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def test_depthwise_conv1d_keeps_a_static_length_static():
  """A decoding cache's window goes through it inside a while loop, whose state must keep its
  shape."""

  @tf.function(input_signature=[tf.TensorSpec((None, 13, 3)), tf.TensorSpec((3, 3))])
  def fn(x, w):
    y = mm_ops.depthwise_conv1d(x, w, 4)
    assert y.shape.as_list() == [None, 5, 3], y.shape
    return y

  assert fn(tf.ones((2, 13, 3)), tf.ones((3, 3))).shape == (2, 5, 3)
