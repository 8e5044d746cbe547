"""ImagePreprocessor: encoded image bytes -> float32 [H, W, 3] in [0, 1] at the problem's size."""

from typing import Dict, Optional, Sequence

import numpy as np

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data.preprocessors.base import Preprocessor
from t2t_mm.data.preprocessors.base import check_bytes
from t2t_mm.data.preprocessors.base import read_file
from t2t_mm.utils.lazy import tf

_HEADER_SIZE = []


def _header_size():
  """image_header_size as one traced graph (its GIF walk is a loop), made once."""
  if not _HEADER_SIZE:
    _HEADER_SIZE.append(tf.function(image_header_size,
                                    input_signature=[tf.TensorSpec([], tf.string)]))
  return _HEADER_SIZE[0]


# --- The codec: sizes from headers, then decoding (tf.data and serving alike). ---

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


@registry.register_preprocessor(name="image")
class ImagePreprocessor(Preprocessor):
  """PNG / JPEG / GIF / BMP / WebP bytes -> float32 [H, W, 3] in [0, 1], resized to `image_size`.

  What a user gives is bounded before it costs memory: a file by max_image_bytes (its size,
  before it is read), an image by max_image_pixels (its header, before it is decoded: a GIF's
  frames add up, as TensorFlow decodes them all); other formats are refused undecoded.

  Args:
    config: a SideConfig with `image_size` (H, W); None keeps each image's own size.

  Example:
    >>> pre = ImagePreprocessor(SideConfig("p", 0, image_size=(32, 32)))
    >>> pre.read_request("/tmp/cat.png").shape     # (32, 32, 3)
  """

  request_kind = "image"
  serving_input = "image_bytes"

  @property
  def fixed_shape(self) -> bool:
    return self.config.image_size is not None

  @classmethod
  def to_feature(cls, raw) -> "tf.train.Feature":
    if isinstance(raw, np.ndarray):
      if raw.dtype != np.uint8 or raw.ndim != 3 or raw.shape[-1] != 3:
        raise errors.DataError(f"Expected a uint8 [H, W, 3] image, got {raw.dtype} {raw.shape}.")
      raw = tf.io.encode_png(raw).numpy()
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[bytes(raw)]))

  def _decode(self, data: "tf.Tensor", decoded=None) -> "tf.Tensor":
    if self.config.image_size is None:
      image = (tf.io.decode_image(data, channels=3, expand_animations=False) if decoded is None
               else decoded)
      return tf.image.convert_image_dtype(image, tf.float32)
    return decode_image(data, self.config.image_size, decoded=decoded)

  def from_stored(self, parts: Dict[str, "tf.Tensor"]) -> "tf.Tensor":
    return self._decode(parts["raw"])

  def from_request_tf(self, data: "tf.Tensor") -> "tf.Tensor":
    checks = [self._at_most(tf.strings.length(data), "max_image_bytes", "an image of more bytes")]
    with tf.control_dependencies(checks):
      size = image_header_size(data)
      checks.append(tf.debugging.assert_positive(
          size[0], message=f"{self.serving_input}: not an image of a format read here "
          f"({IMAGE_FORMATS}), or a GIF of more than {GIF_MAX_BLOCKS} blocks"))
    with tf.control_dependencies(checks):
      checks.append(self._at_most(size[0] * size[1] * size[2], "max_image_pixels",
                                  "an image of more pixels (header; a GIF's frames add up)"))
    with tf.control_dependencies(checks):
      image = tf.io.decode_image(data, channels=3, expand_animations=False)
      shape = tf.shape(image, out_type=tf.int64)
    with tf.control_dependencies([self._at_most(shape[0] * shape[1], "max_image_pixels",
                                                "an image of more pixels")]):
      return self._decode(data, decoded=image)

  def read_request(self, value: str) -> np.ndarray:
    data = read_file(value, "image", self.config.input_limits.max_image_bytes)
    return self.read_bytes(data, f"image={value}")

  def read_bytes(self, data: bytes, name: str) -> np.ndarray:
    check_bytes(data, name, "image", self.config.input_limits.max_image_bytes)
    frames, height, width = (int(n) for n in _header_size()(tf.constant(data)).numpy())
    if frames == -1:
      raise errors.DataError(f"{name}: not an image of a format read here "
                             f"({IMAGE_FORMATS}).")
    if frames == -2:
      raise errors.DataError(f"{name}: a GIF of more than {GIF_MAX_BLOCKS} "
                             "blocks is not read.")
    self._check_pixels(name, height, width, frames)
    try:
      image = tf.io.decode_image(data, channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
      raise errors.DataError(f"{name}: not an image TensorFlow can decode "
                             f"({IMAGE_FORMATS}): {errors.first_line(e)}") from e
    self._check_pixels(name, int(image.shape[0]), int(image.shape[1]))
    return self._decode(tf.constant(data), decoded=image).numpy()

  def _check_pixels(self, name: str, height: int, width: int, frames: int = 1) -> None:
    limit = self.config.input_limits.max_image_pixels
    total = frames * height * width
    if total > limit:
      what = f"{width}x{height} pixels" if frames == 1 else f"{frames} frames of {width}x{height}"
      raise errors.DataError(f"{name}: {what} ({total}) is more than max_image_pixels="
                             f"{limit}; shrink the image or raise that input limit.")

  def serving_spec(self) -> "tf.TypeSpec":
    if self.config.image_size is None:
      raise errors.ConfigError(f"Problem '{self.config.problem}' has no fixed image_size, "
                               "which a SavedModel signature needs.")
    h, w = self.config.image_size
    return tf.TensorSpec([h, w, 3], tf.float32)
