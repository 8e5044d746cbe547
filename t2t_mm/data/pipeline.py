"""tf.data building blocks: reading shards, truncation/filtering, bucketing, batching (the
modalities' codecs are in their preprocessors, t2t_mm/data/preprocessors/).

Used by Problem.dataset; each function takes and returns a tf.data.Dataset.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

from t2t_mm.data.spec import EOS_ID
from t2t_mm.utils.lazy import tf

AUTOTUNE = -1  # tf.data.AUTOTUNE, without importing TensorFlow here.


def read_records(paths: Sequence[str], train: bool, shuffle: bool, seed: Optional[int],
                 num_shards: int = 1, shard_index: int = 0) -> tf.data.Dataset:
  """Serialized records of `paths`; worker `shard_index` of `num_shards` gets a disjoint part.

  Whole files go to workers when there are at least as many files as workers; otherwise the
  records are split. Train data is shuffled (file order and records) and repeats forever;
  other splits are read file after file, so records come in split order (mm-eval's hypotheses
  files follow it).
  """
  files = tf.data.Dataset.from_tensor_slices(list(paths))
  by_file = num_shards > 1 and len(paths) >= num_shards
  if by_file:
    files = files.shard(num_shards, shard_index)
  if train and shuffle:
    files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
  if train:
    files = files.repeat()
  if train:
    records = files.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(paths)),
                               num_parallel_calls=AUTOTUNE, deterministic=True)
  else:  # Interleaving would take record i of every shard in turn: not the split's order.
    records = files.flat_map(tf.data.TFRecordDataset)
  if num_shards > 1 and not by_file:
    records = records.shard(num_shards, shard_index)
  return records


def with_autotune(ds: tf.data.Dataset, autotune: bool) -> tf.data.Dataset:
  """`ds` with tf.data's autotuning of parallelism and buffers switched on or off."""
  options = tf.data.Options()
  options.autotune.enabled = autotune
  return ds.with_options(options)


def bucket_boundaries(max_length: int, min_length: int = 8, step: float = 1.1) -> List[int]:
  """Geometric bucket boundaries 8, 9, 10, ..., < max_length (as in Tensor2Tensor)."""
  bounds, x = [], min_length
  while x < max_length:
    bounds.append(x)
    x = max(x + 1, int(x * step))
  return bounds


def add_eos_and_truncate(ids: tf.Tensor, max_length: int) -> tf.Tensor:
  """int32 [n] -> int32 [min(n + 1, max_length)], ending with EOS."""
  ids = ids[: max_length - 1]
  return tf.concat([ids, tf.constant([EOS_ID], tf.int32)], axis=0)


def bucket_longest(max_length: int, min_length: int = 8, step: float = 1.1) -> List[int]:
  """The longest length of each bucket up to `max_length`: one less than each boundary of
  bucket_boundaries(max_length, min_length, step), then max_length. 64 -> [7, 8, ..., 59, 64];
  step 2: 64 -> [7, 15, 31, 64] (no bucket of the max_length examples alone)."""
  bounds = bucket_boundaries(max_length, min_length=min_length, step=step)
  return [b - 1 for b in bounds] + [max_length]


def cell_batch_sizes(in_longest: Sequence[int], out_longest: Sequence[int],
                     batch_tokens: int) -> List[int]:
  """Examples per token batch of each (input bucket i, target bucket j) cell, in the order
  i * len(out_longest) + j: batch_tokens // (the longer of the cell's longest input and
  target), at least 1, as Tensor2Tensor's and fairseq's token batches size them."""
  return [max(1, batch_tokens // max(n, m, 1)) for n in in_longest for m in out_longest]


def batch_by_length(ds: tf.data.Dataset, length_fn: Callable[[dict], tf.Tensor],
                    batch_size: int, max_length: int, train: bool,
                    min_bucket: int = 8, bucket_step: float = 1.1,
                    bucket: Optional[bool] = None) -> tf.data.Dataset:
  """Batches of `batch_size` zero-padded examples; train batches come from length buckets.

  Train: buckets of length_fn's value on boundaries bucket_boundaries(max_length + 1,
  min_bucket, bucket_step); each batch is padded to its longest example. Dev/test batches
  keep the file order (no bucketing), so decodes line up with the data, unless `bucket`
  (an evaluation whose examples carry their index): then buckets too, the last partial
  batch of each kept.
  """
  if not (train if bucket is None else bucket):
    return ds.padded_batch(batch_size)
  bounds = bucket_boundaries(max_length + 1, min_length=min_bucket, step=bucket_step)
  return ds.bucket_by_sequence_length(
      length_fn, bucket_boundaries=bounds, bucket_batch_sizes=[batch_size] * (len(bounds) + 1),
      drop_remainder=train)


def batch_by_cells(ds: tf.data.Dataset,
                   lengths_fn: Callable[[dict], Tuple[tf.Tensor, tf.Tensor]],
                   max_lengths: Tuple[int, int], batch_tokens: int = 0, batch_size: int = 0,
                   pad_sizes: Tuple[Optional[Callable[[int], Optional[int]]],
                                    Optional[Callable[[int], Optional[int]]]] = (None, None),
                   min_bucket: int = 8, bucket_step: float = 1.1) -> tf.data.Dataset:
  """Train batches from buckets of (input, target) length; token batches or fixed-size ones.

      example {"inputs": [n], "targets": [m]}
        -> cell (bucket of n, bucket of m)          each side: bucket_longest(max, ...)
        -> batch of max(1, batch_tokens // max(N, M)) examples of that cell (token batches,
           as Tensor2Tensor's and fairseq's), or of batch_size examples,
           N, M: the cell's longest input and target length
        -> "inputs" padded to pad_sizes[0](N) rows, "targets" to pad_sizes[1](M)

  Bucketing on both lengths, not on the longer one, keeps the shorter side of a pair from
  being padded to the longer side's length. A side whose pad_sizes entry is None, or returns
  None (a value of fixed shape), is padded to its longest example instead; when both sides
  are padded by their pad_sizes, a problem's batches take one shape per cell: a bounded set,
  at most (input buckets) x (target buckets), for XLA and TPUs. Other features are padded
  to their longest. `lengths_fn`: example -> (input length, target length); exactly one of
  batch_tokens and batch_size is > 0.
  """
  if (batch_tokens > 0) == (batch_size > 0):
    raise ValueError(f"batch_by_cells takes batch_tokens or batch_size, got {batch_tokens} and "
                     f"{batch_size}.")
  in_longest, out_longest = (bucket_longest(m, min_length=min_bucket, step=bucket_step)
                             for m in max_lengths)
  num_out = len(out_longest)
  sizes = tf.constant(cell_batch_sizes(in_longest, out_longest, batch_tokens) if batch_tokens
                      else [batch_size] * (len(in_longest) * num_out), tf.int64)
  # -1: padded to the batch's longest.
  in_pad, out_pad = (tf.constant([(fn and fn(n)) or -1 for n in longest], tf.int64)
                     for fn, longest in zip(pad_sizes, (in_longest, out_longest)))
  in_bound, out_bound = tf.constant(in_longest, tf.int64), tf.constant(out_longest, tf.int64)

  def cell(ex):
    n, m = (tf.cast(x, tf.int64) for x in lengths_fn(ex))
    # The first bucket whose longest length is at least the length (past max: the last).
    i = tf.minimum(tf.reduce_sum(tf.cast(in_bound < n, tf.int64)), len(in_longest) - 1)
    j = tf.minimum(tf.reduce_sum(tf.cast(out_bound < m, tf.int64)), num_out - 1)
    return i * num_out + j

  def padded_shapes(key):
    shapes = {}
    for name, spec in ds.element_spec.items():
      dims = [-1 if d is None else d for d in spec.shape.as_list()]
      if name in ("inputs", "targets") and dims and spec.shape[0] is None:
        dims[0] = in_pad[key // num_out] if name == "inputs" else out_pad[key % num_out]
      shapes[name] = tf.stack([tf.cast(d, tf.int64) for d in dims]) if dims else []
    return shapes

  def batch(key, window):
    return window.padded_batch(sizes[key], padded_shapes=padded_shapes(key),
                               drop_remainder=True)

  return ds.group_by_window(cell, batch, window_size_func=lambda key: sizes[key])
