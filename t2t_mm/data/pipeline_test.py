"""Length bucketing: fixed batches and token batches."""

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.data import pipeline


def _sequences(n=3000, seed=0):
  lengths = np.random.default_rng(seed).integers(3, 60, n)
  return tf.data.Dataset.from_generator(
      lambda: ({"targets": np.ones([length], np.int32)} for length in lengths),
      output_signature={"targets": tf.TensorSpec([None], tf.int32)})


def _length(ex):
  return tf.shape(ex["targets"])[0]


def test_buckets_end_at_max_length_and_token_cells_follow_their_longer_side():
  # Boundaries 8, 9, ..., 20, 22, ..., 30, 33, ..., 60 (x -> max(x + 1, int(1.1 x))).
  assert pipeline.bucket_longest(64, step=1.1) == [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                                   19, 21, 23, 25, 27, 29, 32, 35, 38, 41, 45,
                                                   49, 54, 59, 64]
  assert pipeline.bucket_longest(20, step=1.5) == [7, 11, 17, 20]
  # A boundary at max_length would leave a bucket for max_length alone.
  assert pipeline.bucket_longest(64, step=2.0) == [7, 15, 31, 64]
  assert pipeline.bucket_longest(60, step=1.1)[-3:] == [49, 54, 60]
  assert pipeline.bucket_longest(5) == [5]
  # Cells (7, 7), (7, 64), (64, 7), (64, 64): 256 tokens over the longer side.
  assert pipeline.cell_batch_sizes([7, 64], [7, 64], 256) == [36, 4, 4, 4]
  assert pipeline.cell_batch_sizes([7], [1000], 100) == [1]


def _pairs(n=3000, seed=0):
  """Translation-like pairs: the target's length is the input's, give or take 3."""
  rng = np.random.default_rng(seed)
  ins = rng.integers(3, 40, n)
  outs = np.clip(ins + rng.integers(-3, 4, n), 1, 60)
  return tf.data.Dataset.from_generator(
      lambda: ({"inputs": np.full([a], 2, np.int32), "targets": np.full([b], 3, np.int32),
                "space": np.int32(1)} for a, b in zip(ins, outs)),
      output_signature={"inputs": tf.TensorSpec([None], tf.int32),
                        "targets": tf.TensorSpec([None], tf.int32),
                        "space": tf.TensorSpec([], tf.int32)})


def _pair_lengths(ex):
  return tf.shape(ex["inputs"])[0], tf.shape(ex["targets"])[0]


def _same(n):
  return n


def _padding(batches) -> float:
  real = sum(int(tf.math.count_nonzero(b[k])) for b in batches for k in ("inputs", "targets"))
  return 1 - real / sum(int(tf.size(b[k])) for b in batches for k in ("inputs", "targets"))


def test_token_batches_hold_about_batch_tokens_in_one_shape_per_length_cell():
  batches = list(pipeline.batch_by_cells(_pairs(), _pair_lengths, (40, 60), batch_tokens=512,
                                         pad_sizes=(_same, _same)))
  in_longest, out_longest = pipeline.bucket_longest(40), pipeline.bucket_longest(60)
  shapes = {(b["inputs"].shape[0], b["inputs"].shape[1], b["targets"].shape[1]) for b in batches}
  for rows, n, m in shapes:
    # Padded to the cell's longest input and target: one shape per cell, a bounded set.
    assert n in in_longest and m in out_longest, (n, m)
    assert rows == max(1, 512 // max(n, m)), (rows, n, m)
  assert len(shapes) <= len(in_longest) * len(out_longest)
  assert min(rows for rows, _, _ in shapes) < 16 and max(rows for rows, _, _ in shapes) > 50
  for b in batches:  # Every example sits in its cell: longer than the bucket below.
    n, m = b["inputs"].shape[1], b["targets"].shape[1]
    real_in = tf.math.count_nonzero(b["inputs"], axis=1).numpy()
    real_out = tf.math.count_nonzero(b["targets"], axis=1).numpy()
    assert real_in.max() <= n and real_out.max() <= m
    assert real_in.min() > max([x for x in in_longest if x < n], default=0)
    assert real_out.min() > max([x for x in out_longest if x < m], default=0)
    assert b["space"].shape == (b["inputs"].shape[0],)
  # The shorter side of a pair is not padded to the longer side's length: less padding than
  # fixed batches bucketed by the longer of the two.
  fixed = list(pipeline.batch_by_length(
      _pairs(), lambda ex: tf.maximum(*_pair_lengths(ex)), batch_size=32, max_length=60,
      train=True))
  assert {b["targets"].shape[0] for b in fixed} == {32}
  assert _padding(batches) < 0.8 * _padding(fixed), (_padding(batches), _padding(fixed))


def test_token_batches_without_pad_to_bucket_pad_each_side_to_its_longest():
  batches = list(pipeline.batch_by_cells(_pairs(500), _pair_lengths, (40, 60), batch_tokens=256,
                                         bucket_step=1.5))
  for b in batches:
    assert b["inputs"].shape[1] == int(tf.reduce_max(tf.math.count_nonzero(b["inputs"], 1)))
    assert b["targets"].shape[1] == int(tf.reduce_max(tf.math.count_nonzero(b["targets"], 1)))
  # A coarser step: fewer, larger buckets, so fewer cells.
  assert len(pipeline.bucket_longest(40, step=1.5)) < len(pipeline.bucket_longest(40))


def test_fixed_size_batches_of_static_shape_take_one_shape_per_cell():
  # Step 2: buckets 8, 16, 32, ...; the targets of fixed shape (here "space", and a side whose
  # pad size is None) keep their own padding.
  batches = list(pipeline.batch_by_cells(_pairs(600), _pair_lengths, (40, 60), batch_size=16,
                                         pad_sizes=(_same, lambda n: n + 1), bucket_step=2.0))
  in_longest = pipeline.bucket_longest(40, step=2.0)
  out_longest = pipeline.bucket_longest(60, step=2.0)
  assert in_longest == [7, 15, 31, 40] and out_longest == [7, 15, 31, 60]
  shapes = {(b["inputs"].shape[0], b["inputs"].shape[1], b["targets"].shape[1]) for b in batches}
  assert {rows for rows, _, _ in shapes} == {16}
  assert all(n in in_longest and m - 1 in out_longest for _, n, m in shapes), shapes
  assert 1 < len(shapes) <= 16
  for b in batches:  # Each example in its own side's bucket, not the longer side's.
    n, m = b["inputs"].shape[1], b["targets"].shape[1] - 1
    real_in = tf.math.count_nonzero(b["inputs"], axis=1).numpy()
    real_out = tf.math.count_nonzero(b["targets"], axis=1).numpy()
    assert real_in.max() <= n and real_out.max() <= m
    assert real_in.min() > max([x for x in in_longest if x < n], default=0)
    assert real_out.min() > max([x for x in out_longest if x < m], default=0)
  with pytest.raises(ValueError, match="batch_tokens or batch_size"):
    pipeline.batch_by_cells(_pairs(5), _pair_lengths, (40, 60), batch_tokens=64, batch_size=4)


def test_with_autotune_switches_tf_data_autotuning_and_keeps_the_elements():
  import tensorflow as tf
  ds = tf.data.Dataset.range(5).map(lambda x: x * 2, num_parallel_calls=pipeline.AUTOTUNE)
  off = pipeline.with_autotune(ds, False)
  assert off.options().autotune.enabled is False
  assert pipeline.with_autotune(ds, True).options().autotune.enabled is True
  assert [int(x) for x in off] == [0, 2, 4, 6, 8]
