"""ConvRes: shapes, config round trip, and gradients that oneDNN computes right.

The oneDNN regression: a strided 1x1 Conv2D on NHWC input with fewer channels than oneDNN's
channel block (the waveform net's first blocks have 1, 2, 4, 8) gets its kernel
gradient from oneDNN's "reduce to unit stride" 1x1 backward-weights kernel, which writes past
its workspace (uxlfoundation/oneDNN#6035): a wrong gradient, then a segfault or glibc heap
corruption (figures in docs/STACK.md). TensorFlow routes convolutions to oneDNN by default
only on CPUs with AVX512_VNNI / AVX512_BF16 / AMX; TF_ENABLE_ONEDNN_OPTS=1 forces it on any
x86 CPU, so the test reproduces it everywhere (it crashed on an AVX2-only AMD EPYC as well).
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.layers import conv_res
from t2t_mm.layers.conv_res import ConvRes
from t2t_mm.testing import layer_checks

# The smallest graph found that crashes without the fix, every run: the waveform net's first
# four ConvRes blocks (input channels 1, 2, 4, 8; time stride 2 on [B, T, 1, C]) on 8 clips of
# 4,000 samples, forward and backward, as the trainer runs them.
_GRADIENTS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, keras, tensorflow as tf
    from t2t_mm.modalities.audio import AudioWaveformModality
    keras.utils.set_random_seed(0)
    net = AudioWaveformModality(hidden_size=16, num_blocks=4)
    net.build((None, None))
    wave = tf.constant(np.random.default_rng(0).uniform(-0.5, 0.5, (8, 4000)), tf.float32)

    @tf.function
    def grads(wave):
      with tf.GradientTape() as tape:
        y, _ = net.bottom(wave)
        loss = tf.reduce_sum(y * y)
      return tape.gradient(loss, net.trainable_variables)

    for _ in range(3):  # The heap damage can show on a later call.
      out = grads(wave)
    json.dump({v.path: g.numpy().tolist() for v, g in zip(net.trainable_variables, out)},
              sys.stdout)
""")


def _gradients(onednn: bool):
  # Two intra-op threads, as on the tools' default machine: with one thread the bug still
  # crashes, but sometimes only at exit.
  env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1" if onednn else "0", TF_CPP_MIN_LOG_LEVEL="3",
             TF_NUM_INTRAOP_THREADS="2")
  proc = subprocess.run([sys.executable, "-c", _GRADIENTS_SCRIPT], capture_output=True,
                        text=True, env=env, timeout=300, check=False)
  assert proc.returncode == 0, (
      f"Waveform-net gradients with TF_ENABLE_ONEDNN_OPTS={int(onednn)} exited with "
      f"{proc.returncode}: {proc.stderr[-2000:]}")
  return {k: np.asarray(v) for k, v in json.loads(proc.stdout).items()}


def test_gradients_under_onednn_match_eigen():
  with_onednn, without = _gradients(onednn=True), _gradients(onednn=False)
  assert sorted(with_onednn) == sorted(without)
  assert any(k.endswith("block0/residual/kernel") for k in without)
  for name, ref in without.items():
    err = np.abs(with_onednn[name] - ref).max() / max(np.abs(ref).max(), 1e-12)
    assert err < 1e-2, f"{name}: oneDNN gradient differs from Eigen's by {err:.3g} (relative)"


def test_subsampled_residual_equals_the_strided_1x1_conv():
  x = tf.random.normal((2, 9, 5, 4))
  kernel = tf.random.normal((1, 1, 4, 8))
  for strides in [(2, 1), (2, 2), (1, 1)]:
    strided = tf.nn.conv2d(x, kernel, strides=[1, *strides, 1], padding="VALID")
    unit = tf.nn.conv2d(conv_res.subsample(x, strides), kernel, strides=1, padding="VALID")
    np.testing.assert_allclose(unit, strided, atol=1e-5)


def test_shapes_and_config_round_trip():
  block = ConvRes(16, (3, 3), (2, 2), res_relu=False)
  y = block(keras.ops.ones((2, 9, 7, 4)))
  assert tuple(y.shape) == (2, 5, 4, 16)
  assert block.compute_output_shape((2, 9, 7, 4)) == (2, 5, 4, 16)
  x = np.random.default_rng(0).standard_normal((2, 9, 7, 4)).astype("float32")
  layer_checks.check_config_round_trip(block, x)
  layer_checks.check_serialized_round_trip(block, x)


@pytest.mark.parametrize("res_relu", [True, False])
def test_the_residual_matmul_equals_the_layers_own_conv_values_and_gradients(res_relu):
  block = ConvRes(8, (3, 3), (2, 2), res_relu=res_relu)
  x = tf.random.normal((2, 9, 7, 4))
  got, got_grads = layer_checks.values_and_gradients(block, x)

  def reference(x):  # The same block with its residual run as the Keras Conv2D it holds.
    y = block.norm1(block.sep1(conv_res.pad_2d(keras.ops.relu(x), (3, 3))))
    y = block.norm2(block.sep2(conv_res.pad_2d(keras.ops.relu(y), (3, 3))))
    y = block.pool(conv_res.pad_2d(y, (3, 3)))
    return y + block.residual(conv_res.subsample(keras.ops.relu(x) if res_relu else x, (2, 2)))

  with tf.GradientTape() as tape:
    tape.watch(x)
    want = reference(x)
    loss = tf.reduce_sum(want * tf.reshape(tf.sin(tf.range(tf.size(want), dtype=tf.float32)),
                                           tf.shape(want)))
  want_grads = tape.gradient(loss, [x] + block.trainable_weights)
  np.testing.assert_allclose(got, want, atol=1e-5)
  for g, w in zip(got_grads, want_grads):
    np.testing.assert_allclose(g, w, atol=1e-4)


def test_an_image_training_step_logs_no_remapper_error():
  # Grappler's remapper fused the residual's Conv2D+BiasAdd with the block's add, then failed
  # on the next block reading that sum and logged an error line in every image run.
  script = textwrap.dedent("""\
      import t2t_mm.bin, tensorflow as tf
      from t2t_mm.layers.conv_res import ConvRes
      blocks = [ConvRes(8, name="block0"), ConvRes(16, res_relu=False, name="block1")]
      x = tf.random.normal((2, 16, 16, 3))
      blocks[1](blocks[0](x))
      variables = [v for b in blocks for v in b.trainable_variables]
      @tf.function
      def step(x):
        with tf.GradientTape() as tape:
          loss = tf.reduce_sum(blocks[1](blocks[0](x)))
        return tape.gradient(loss, variables)
      step(x)
      print("done")
      """)
  result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=False)
  assert result.returncode == 0 and "done" in result.stdout, result.stderr[-2000:]
  assert "remapper failed" not in result.stderr, result.stderr[-2000:]
