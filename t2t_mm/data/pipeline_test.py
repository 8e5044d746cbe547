"""Length bucketing: fixed batches and token batches."""

import numpy as np
import tensorflow as tf

from t2t_mm.data import pipeline


def _sequences(n=3000, seed=0):
  lengths = np.random.default_rng(seed).integers(3, 60, n)
  return tf.data.Dataset.from_generator(
      lambda: ({"targets": np.ones([length], np.int32)} for length in lengths),
      output_signature={"targets": tf.TensorSpec([None], tf.int32)})


def _length(ex):
  return tf.shape(ex["targets"])[0]


def test_bucket_batch_sizes_follow_the_longest_length_of_each_bucket():
  bounds = [8, 9, 10, 16]
  assert pipeline.bucket_batch_sizes(bounds, 64, 32) == [32] * 5
  # Longest lengths 7, 8, 9, 15 and 64 (max_length).
  assert pipeline.bucket_batch_sizes(bounds, 64, 32, batch_tokens=256) == [36, 32, 28, 17, 4]
  assert pipeline.bucket_batch_sizes([8], 1000, 32, batch_tokens=100) == [14, 1]


def test_token_batches_hold_about_batch_tokens_and_short_sequences_come_many_at_once():
  batches = list(pipeline.batch_by_length(_sequences(), _length, batch_size=32, max_length=64,
                                          train=True, batch_tokens=512, pad_to_bucket=True))
  shapes = [tuple(b["targets"].shape) for b in batches]
  assert all(rows * length <= 512 for rows, length in shapes), shapes
  rows_by_length = {length: rows for rows, length in shapes}
  assert min(rows_by_length.values()) < 12 and max(rows_by_length.values()) > 50
  # Padded to the bucket's longest length: one shape per bucket.
  assert len(set(shapes)) == len(rows_by_length) <= len(pipeline.bucket_boundaries(65)) + 1
  assert all(length + 1 in pipeline.bucket_boundaries(65) + [65] for length in rows_by_length)
  fixed = [tuple(b["targets"].shape) for b in pipeline.batch_by_length(
      _sequences(), _length, batch_size=32, max_length=64, train=True)]
  assert {rows for rows, _ in fixed} == {32}
  # The same examples in fewer, fuller batches of positions: more tokens per step on average.
  tokens = sum(int(tf.reduce_sum(b["targets"])) for b in batches)
  positions = sum(rows * length for rows, length in shapes)
  assert tokens / positions > 0.85  # Padding under 15%: similar lengths share a batch.


def test_with_autotune_switches_tf_data_autotuning_and_keeps_the_elements():
  import tensorflow as tf
  ds = tf.data.Dataset.range(5).map(lambda x: x * 2, num_parallel_calls=pipeline.AUTOTUNE)
  off = pipeline.with_autotune(ds, False)
  assert off.options().autotune.enabled is False
  assert pipeline.with_autotune(ds, True).options().autotune.enabled is True
  assert [int(x) for x in off] == [0, 2, 4, 6, 8]
