"""tf.data building blocks: reading shards, truncation/filtering, bucketing, batching.

Used by Problem.dataset; each function takes and returns a tf.data.Dataset.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence

from t2t_mm.data.spec import EOS_ID
from t2t_mm.utils.lazy import tf

AUTOTUNE = -1  # tf.data.AUTOTUNE, without importing TensorFlow here.


def read_records(paths: Sequence[str], train: bool, shuffle: bool, seed: Optional[int],
                 num_shards: int = 1, shard_index: int = 0) -> tf.data.Dataset:
  """Serialized records of `paths`; worker `shard_index` of `num_shards` gets a disjoint part.

  Whole files go to workers when there are at least as many files as workers; otherwise the
  records are split. Train data is shuffled (file order and records) and repeats forever.
  """
  files = tf.data.Dataset.from_tensor_slices(list(paths))
  by_file = num_shards > 1 and len(paths) >= num_shards
  if by_file:
    files = files.shard(num_shards, shard_index)
  if train and shuffle:
    files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
  if train:
    files = files.repeat()
  records = files.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(paths)),
                             num_parallel_calls=AUTOTUNE, deterministic=True)
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


def bucket_batch_sizes(bounds: Sequence[int], max_length: int, batch_size: int,
                       batch_tokens: int = 0) -> List[int]:
  """Examples per batch of each length bucket of `bounds` (len(bounds) + 1 buckets).

  Bucket i holds lengths < bounds[i] (the last one lengths up to max_length). With
  batch_tokens, a bucket whose longest example has L positions takes batch_tokens // L
  examples (at least 1), as Tensor2Tensor's and fairseq's token batches do.
  """
  if not batch_tokens:
    return [batch_size] * (len(bounds) + 1)
  longest = [b - 1 for b in bounds] + [max_length]
  return [max(1, batch_tokens // max(length, 1)) for length in longest]


def batch_by_length(ds: tf.data.Dataset, length_fn: Callable[[dict], tf.Tensor],
                    batch_size: int, max_length: int, train: bool,
                    min_bucket: int = 8, batch_tokens: int = 0,
                    pad_to_bucket: bool = False) -> tf.data.Dataset:
  """Batches of zero-padded examples; train batches come from length buckets.

  Train: `batch_size` examples per batch, or with `batch_tokens` about that many positions
  (bucket_batch_sizes), padded to the longest example; with `pad_to_bucket`, to the
  bucket's longest length, so a problem's batches take one shape per bucket (a bounded set
  for XLA and TPUs; only where every padded dimension is counted by `length_fn`, as tokens).
  Dev/test batches keep the file order (no bucketing) and take `batch_size` examples, so
  decodes line up with the data.
  """
  if not train:
    return ds.padded_batch(batch_size)
  bounds = bucket_boundaries(max_length + 1, min_length=min_bucket)
  if pad_to_bucket:  # Every length is below the last boundary, as padding to it requires.
    bounds.append(max_length + 1)
  return ds.bucket_by_sequence_length(
      length_fn, bucket_boundaries=bounds,
      bucket_batch_sizes=bucket_batch_sizes(bounds, max_length, batch_size, batch_tokens),
      pad_to_bucket_boundary=pad_to_bucket, drop_remainder=True)


def decode_image(encoded: tf.Tensor, size: Sequence[int],
                 decoded: Optional[tf.Tensor] = None) -> tf.Tensor:
  """PNG/JPEG bytes -> float32 [H, W, 3] in [0, 1], resized to `size` = (H, W). `decoded`: the
  uint8 image of `encoded` when the caller decoded it already."""
  image = (tf.io.decode_image(encoded, channels=3, expand_animations=False) if decoded is None
           else decoded)
  image = tf.image.convert_image_dtype(image, tf.float32)
  if image.shape[0] != size[0] or image.shape[1] != size[1]:
    image = tf.image.resize(image, size, antialias=True)
  image = tf.ensure_shape(image, [size[0], size[1], 3])
  return tf.clip_by_value(image, 0.0, 1.0)


_PNG = b"\x89PNG\r\n\x1a\n"


def image_header_shape(encoded: tf.Tensor) -> tf.Tensor:
  """Encoded image bytes -> int64 [2] (height, width) from the header alone, before any decoding:
  PNG (IHDR), GIF (logical screen), BMP (DIB header), JPEG (tf.io.extract_jpeg_shape); [-1, -1]
  for other bytes."""
  # The first 26 bytes, zero-padded, hold every size field read here.
  head = tf.strings.substr(tf.strings.join([tf.strings.substr(encoded, 0, 26), b"\0" * 26]),
                           0, 26)
  b = tf.cast(tf.io.decode_raw(head, tf.uint8), tf.int64)

  def big32(i):
    return b[i] * (1 << 24) + b[i + 1] * (1 << 16) + b[i + 2] * (1 << 8) + b[i + 3]

  def little(i, n):
    return tf.add_n([b[i + k] * (1 << (8 * k)) for k in range(n)])

  bmp_height = little(22, 4)
  bmp_height = tf.abs(tf.where(bmp_height >= 1 << 31, bmp_height - (1 << 32), bmp_height))
  unknown = tf.constant([-1, -1], tf.int64)
  prefix = tf.strings.substr(encoded, 0, 6)
  shape = tf.where(tf.strings.substr(encoded, 0, 8) == _PNG, tf.stack([big32(20), big32(16)]),
                   tf.where((prefix == b"GIF87a") | (prefix == b"GIF89a"),
                            tf.stack([little(8, 2), little(6, 2)]),
                            tf.where(tf.strings.substr(encoded, 0, 2) == b"BM",
                                     tf.stack([bmp_height, little(18, 4)]), unknown)))
  # extract_jpeg_shape parses the markers only; it fails on bytes that are not JPEG.
  return tf.cond(tf.io.is_jpeg(encoded),
                 lambda: tf.cast(tf.io.extract_jpeg_shape(encoded)[:2], tf.int64),
                 lambda: shape)


def decode_audio(pcm: tf.Tensor) -> tf.Tensor:
  """Little-endian int16 PCM bytes -> float32 [N] in [-1, 1]."""
  return tf.cast(tf.io.decode_raw(pcm, tf.int16), tf.float32) / 32768.0
