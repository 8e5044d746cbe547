"""Token-level cross-entropy with label smoothing and padding weights.

    logits [B, T, V], targets [B, T], weights [B, T]
      -> (sum of weighted token losses, sum of weights)

Returning sums (not a mean) lets the trainer divide by the *global* number of target tokens
across replicas, so a distributed step computes the same loss as a single-device one.
"""

import tensorflow as tf

from t2t_mm.data import spec as spec_lib


def target_weights(targets: tf.Tensor, one_token: bool) -> tf.Tensor:
  """1.0 where a target counts: non-padding symbols; every one-token target (label 0 is a class).

  `one_token` is the problem's ProblemSpec.one_token_targets.
  """
  if one_token:
    return tf.ones_like(targets, tf.float32)
  return tf.cast(tf.not_equal(targets, spec_lib.PAD_ID), tf.float32)


def smoothed_cross_entropy(logits: tf.Tensor, targets: tf.Tensor, weights: tf.Tensor,
                           label_smoothing: float = 0.0):
  """(sum of weighted losses, sum of weights); smoothing spreads mass over the other classes."""
  logits = tf.cast(logits, tf.float32)
  vocab_size = tf.shape(logits)[-1]
  log_probs = tf.nn.log_softmax(logits, axis=-1)
  nll = -tf.gather(log_probs, targets, axis=-1, batch_dims=2)
  if label_smoothing > 0:
    # Target distribution: 1 - eps on the label, eps / (V - 1) elsewhere.
    off = label_smoothing / tf.cast(vocab_size - 1, tf.float32)
    smooth = -tf.reduce_sum(log_probs, axis=-1) * off
    loss = (1.0 - label_smoothing - off) * nll + smooth
  else:
    loss = nll
  return tf.reduce_sum(loss * weights), tf.reduce_sum(weights)


def token_stats(logits: tf.Tensor, targets: tf.Tensor, weights: tf.Tensor):
  """(sum of weighted NLL, sum of weighted correct argmax, sum of weights): eval statistics."""
  logits = tf.cast(logits, tf.float32)
  log_probs = tf.nn.log_softmax(logits, axis=-1)
  nll = -tf.gather(log_probs, targets, axis=-1, batch_dims=2)
  correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=targets.dtype), targets),
                    tf.float32)
  return (tf.reduce_sum(nll * weights), tf.reduce_sum(correct * weights),
          tf.reduce_sum(weights))
