"""tf.data building blocks: reading shards, truncation/filtering, bucketing, batching.

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
  bucket_boundaries(max_length + 1, min_length, step), then max_length. 64 -> [7, 8, ..., 64]."""
  bounds = bucket_boundaries(max_length + 1, min_length=min_length, step=step)
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


def batch_by_tokens(ds: tf.data.Dataset,
                    lengths_fn: Callable[[dict], Tuple[tf.Tensor, tf.Tensor]],
                    batch_tokens: int, max_lengths: Tuple[int, int],
                    pad_to_bucket: bool = False, min_bucket: int = 8,
                    bucket_step: float = 1.1) -> tf.data.Dataset:
  """Train batches of about `batch_tokens` positions, from buckets of (input, target) length.

      example {"inputs": [n], "targets": [m]}
        -> cell (bucket of n, bucket of m)          each side: bucket_longest(max, ...)
        -> batch of max(1, batch_tokens // max(N, M)) examples of that cell,
           N, M: the cell's longest input and target length

  Bucketing on both lengths, not on the longer one, keeps the shorter side of a pair from
  being padded to the longer side's length. With `pad_to_bucket`, "inputs" is padded to N
  and "targets" to M, so a problem's batches take one shape per cell: a bounded set, at most
  (input buckets) x (target buckets), for XLA and TPUs; only where length_fn counts every
  padded dimension, as for tokens. Else each side is padded to its longest example. Other
  features are padded to their longest. `lengths_fn`: example -> (input length, target length).
  """
  in_longest, out_longest = (bucket_longest(m, min_length=min_bucket, step=bucket_step)
                             for m in max_lengths)
  num_out = len(out_longest)
  sizes = tf.constant(cell_batch_sizes(in_longest, out_longest, batch_tokens), tf.int64)
  in_pad, out_pad = tf.constant(in_longest, tf.int64), tf.constant(out_longest, tf.int64)

  def cell(ex):
    n, m = (tf.cast(x, tf.int64) for x in lengths_fn(ex))
    # The first bucket whose longest length is at least the length (past max: the last).
    i = tf.minimum(tf.reduce_sum(tf.cast(in_pad < n, tf.int64)), len(in_longest) - 1)
    j = tf.minimum(tf.reduce_sum(tf.cast(out_pad < m, tf.int64)), num_out - 1)
    return i * num_out + j

  def padded_shapes(key):
    shapes = {}
    for name, spec in ds.element_spec.items():
      dims = [-1 if d is None else d for d in spec.shape.as_list()]
      if pad_to_bucket and name in ("inputs", "targets") and dims:
        dims[0] = (in_pad[key // num_out] if name == "inputs" else out_pad[key % num_out])
      shapes[name] = tf.stack([tf.cast(d, tf.int64) for d in dims]) if dims else []
    return shapes

  def batch(key, window):
    return window.padded_batch(sizes[key], padded_shapes=padded_shapes(key),
                               drop_remainder=True)

  return ds.group_by_window(cell, batch, window_size_func=lambda key: sizes[key])


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
# The formats tf.io.decode_image reads (TensorFlow 2.21), as image_header_size names them.
IMAGE_FORMATS = "PNG, JPEG, GIF, BMP or WebP"
# A GIF's frames are counted by walking its blocks in a loop, one block per step; a GIF of more
# blocks than this (some 16 MB of data in the 255-byte blocks encoders write) is refused rather
# than walked: bytes crafted into 1-byte blocks would otherwise cost a step per 2 bytes.
GIF_MAX_BLOCKS = 1 << 16


def _gif_size(b: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
  """A GIF's bytes `b` (uint8, n of them, then zeros) -> int64 [3]: (frames, height, width)
  with the largest frame extent (and the logical screen), as TensorFlow's decoder sizes every
  frame it decodes; frames = -2 if the walk would take more than GIF_MAX_BLOCKS steps."""
  last = tf.shape(b, out_type=tf.int64)[0] - 1

  def byte(i):
    return tf.cast(tf.gather(b, tf.minimum(tf.cast(i, tf.int64), last)), tf.int64)

  def le16(i):
    return byte(i) + byte(i + 1) * 256

  def table(packed):  # The size of a colour table that the packed byte announces.
    return tf.where(packed >= 128, 3 * tf.bitwise.left_shift(tf.constant(2, tf.int64),
                                                              packed % 8), 0)

  def skip_sub_blocks(pos, steps):  # Length-prefixed data sub-blocks, ended by a 0.
    return tf.while_loop(lambda p, k: (byte(p) != 0) & (p < n) & (k < GIF_MAX_BLOCKS),
                         lambda p, k: (p + byte(p) + 1, k + 1), (pos, steps))

  def block(pos, steps, frames, height, width, done):
    # An image descriptor (10 bytes, local colour table, LZW code size) or an extension's
    # introducer and label, each followed by sub-blocks; anything else (the trailer) ends it.
    c = byte(pos)
    is_frame, is_ext = c == 0x2C, c == 0x21
    data, steps = skip_sub_blocks(tf.where(is_frame, pos + 11 + table(byte(pos + 9)), pos + 2),
                                  steps + 1)
    done = tf.logical_not(is_frame | is_ext) | (data + 1 >= n) | (steps >= GIF_MAX_BLOCKS)
    return (data + 1, steps, frames + tf.cast(is_frame, tf.int64),
            tf.where(is_frame, tf.maximum(height, le16(pos + 3) + le16(pos + 7)), height),
            tf.where(is_frame, tf.maximum(width, le16(pos + 1) + le16(pos + 5)), width), done)

  start = (13 + table(byte(10)), tf.constant(0, tf.int64), tf.constant(0, tf.int64), le16(8),
           le16(6), tf.constant(False))
  _, steps, frames, height, width, _ = tf.while_loop(
      lambda *state: tf.logical_not(state[-1]), block, start)
  return tf.stack([tf.where(steps < GIF_MAX_BLOCKS, frames, -2), height, width])


def image_header_size(encoded: tf.Tensor) -> tf.Tensor:
  """Encoded image bytes -> int64 [3] (frames, height, width) before any decoding, for every
  format tf.io.decode_image reads: PNG (IHDR), JPEG (tf.io.extract_jpeg_shape), BMP (DIB
  header), WebP (VP8 / VP8L / VP8X chunk) and GIF, whose frames TensorFlow reads all (even with
  expand_animations=False; a byte per pixel each), at the largest frame's size: its blocks are
  walked.
  Frames = -1 for other bytes (and animated WebP, which decode_image refuses for 3 channels),
  -2 for a GIF of more than GIF_MAX_BLOCKS blocks; height and width are then meaningless."""
  # The first 30 bytes, zero-padded, hold every size field read here but GIF's.
  head = tf.strings.substr(tf.strings.join([tf.strings.substr(encoded, 0, 30), b"\0" * 30]),
                           0, 30)
  b = tf.cast(tf.io.decode_raw(head, tf.uint8), tf.int64)

  def big32(i):
    return b[i] * (1 << 24) + b[i + 1] * (1 << 16) + b[i + 2] * (1 << 8) + b[i + 3]

  def little(i, n):
    return tf.add_n([b[i + k] * (1 << (8 * k)) for k in range(n)])

  def prefix(at, length, value):
    return tf.strings.substr(head, at, length) == value

  bmp_height = little(22, 4)
  bmp_height = tf.abs(tf.where(bmp_height >= 1 << 31, bmp_height - (1 << 32), bmp_height))
  vp8l = little(21, 4)
  webp = prefix(0, 4, b"RIFF") & prefix(8, 4, b"WEBP")
  one = tf.constant(1, tf.int64)
  unknown = tf.constant([-1, -1, -1], tf.int64)
  cases = [  # (is this format, its size); the first that matches counts.
      (prefix(0, 8, _PNG), tf.stack([one, big32(20), big32(16)])),
      (prefix(0, 2, b"BM"), tf.stack([one, bmp_height, little(18, 4)])),
      # VP8X: 24-bit canvas width - 1 and height - 1; flag 0x02: animated.
      (webp & prefix(12, 4, b"VP8X") & (b[20] // 2 % 2 == 0),
       tf.stack([one, little(27, 3) + 1, little(24, 3) + 1])),
      # VP8 (lossy): a 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height.
      (webp & prefix(12, 4, b"VP8 ") & prefix(23, 3, b"\x9d\x01\x2a"),
       tf.stack([one, little(28, 2) % (1 << 14), little(26, 2) % (1 << 14)])),
      # VP8L (lossless): signature 0x2f, then 14 bits width - 1 and 14 bits height - 1.
      (webp & prefix(12, 4, b"VP8L") & (b[20] == 0x2F),
       tf.stack([one, vp8l // (1 << 14) % (1 << 14) + 1, vp8l % (1 << 14) + 1])),
  ]
  size = unknown
  for match, value in reversed(cases):
    size = tf.where(match, value, size)

  def gif():
    data = tf.io.decode_raw(tf.strings.join([encoded, b"\0" * 16]), tf.uint8)
    return _gif_size(data, tf.cast(tf.strings.length(encoded), tf.int64))

  size = tf.cond(prefix(0, 6, b"GIF87a") | prefix(0, 6, b"GIF89a"), gif, lambda: size)
  # extract_jpeg_shape parses the markers only; it fails on bytes that are not JPEG.
  return tf.cond(tf.io.is_jpeg(encoded),
                 lambda: tf.concat([[one], tf.cast(tf.io.extract_jpeg_shape(encoded)[:2],
                                                   tf.int64)], 0),
                 lambda: size)


def decode_audio(pcm: tf.Tensor) -> tf.Tensor:
  """Little-endian int16 PCM bytes -> float32 [N] in [-1, 1]."""
  return tf.cast(tf.io.decode_raw(pcm, tf.int16), tf.float32) / 32768.0
