"""Cross-entropy with label smoothing and padding weights; the learning-rate schedule."""

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.config.hparams import HParams
from t2t_mm.training import losses
from t2t_mm.training import optimization


def test_smoothed_cross_entropy_matches_the_formula():
  logits = tf.constant(np.random.default_rng(0).normal(size=(2, 3, 5)), tf.float32)
  targets = tf.constant([[2, 3, 0], [4, 1, 0]])
  weights = losses.target_weights(targets, False)
  np.testing.assert_array_equal(weights.numpy(), [[1, 1, 0], [1, 1, 0]])
  total, count = losses.smoothed_cross_entropy(logits, targets, weights, label_smoothing=0.1)
  log_probs = tf.nn.log_softmax(logits).numpy()
  expected = 0.0
  for b in range(2):
    for t in range(2):
      q = np.full(5, 0.1 / 4)
      q[targets[b, t]] = 0.9
      expected += -(q * log_probs[b, t]).sum()
  assert float(count) == 4
  assert float(total) == pytest.approx(expected, rel=1e-5)
  plain, _ = losses.smoothed_cross_entropy(logits, targets, weights, 0.0)
  assert float(plain) == pytest.approx(
      -sum(log_probs[b, t, targets[b, t]] for b in range(2) for t in range(2)), rel=1e-5)


def test_class_label_zero_counts():
  weights = losses.target_weights(tf.constant([[0], [2]]), True)
  np.testing.assert_array_equal(weights.numpy(), [[1], [1]])


def test_token_stats_counts_correct_argmax():
  logits = tf.constant([[[0., 5., 0.], [5., 0., 0.]]])
  nll, correct, count = losses.token_stats(logits, tf.constant([[1, 2]]), tf.ones([1, 2]))
  assert (float(correct), float(count)) == (1.0, 2.0) and float(nll) > 0


def test_warmup_rsqrt_schedule_peaks_after_warmup():
  schedule = optimization.learning_rate_schedule(
      HParams(learning_rate=0.01, learning_rate_warmup_steps=100))
  lr = [float(schedule(s)) for s in (0, 49, 99, 399)]
  assert lr[0] < lr[1] < lr[2] == pytest.approx(0.01)
  assert lr[3] == pytest.approx(0.01 * 0.5)
  assert optimization.learning_rate_schedule(
      HParams(learning_rate=0.1, learning_rate_schedule="constant")) == 0.1
