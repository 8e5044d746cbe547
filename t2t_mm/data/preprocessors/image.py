"""ImagePreprocessor: encoded image bytes -> float32 [H, W, 3] in [0, 1] at the problem's size."""

from typing import Dict

import numpy as np

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data import pipeline
from t2t_mm.data.preprocessors.base import Preprocessor
from t2t_mm.data.preprocessors.base import check_bytes
from t2t_mm.data.preprocessors.base import read_file
from t2t_mm.utils.lazy import tf

_HEADER_SIZE = []


def _header_size():
  """pipeline.image_header_size as one traced graph (its GIF walk is a loop), made once."""
  if not _HEADER_SIZE:
    _HEADER_SIZE.append(tf.function(pipeline.image_header_size,
                                    input_signature=[tf.TensorSpec([], tf.string)]))
  return _HEADER_SIZE[0]


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
    return pipeline.decode_image(data, self.config.image_size, decoded=decoded)

  def from_stored(self, parts: Dict[str, "tf.Tensor"]) -> "tf.Tensor":
    return self._decode(parts["raw"])

  def from_request_tf(self, data: "tf.Tensor") -> "tf.Tensor":
    checks = [self._at_most(tf.strings.length(data), "max_image_bytes", "an image of more bytes")]
    with tf.control_dependencies(checks):
      size = pipeline.image_header_size(data)
      checks.append(tf.debugging.assert_positive(
          size[0], message=f"{self.serving_input}: not an image of a format read here "
          f"({pipeline.IMAGE_FORMATS}), or a GIF of more than {pipeline.GIF_MAX_BLOCKS} blocks"))
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
    data = read_file(value, "image", self.config.limits.max_image_bytes)
    return self.read_bytes(data, f"image={value}")

  def read_bytes(self, data: bytes, name: str) -> np.ndarray:
    check_bytes(data, name, "image", self.config.limits.max_image_bytes)
    frames, height, width = (int(n) for n in _header_size()(tf.constant(data)).numpy())
    if frames == -1:
      raise errors.DataError(f"{name}: not an image of a format read here "
                             f"({pipeline.IMAGE_FORMATS}).")
    if frames == -2:
      raise errors.DataError(f"{name}: a GIF of more than {pipeline.GIF_MAX_BLOCKS} "
                             "blocks is not read.")
    self._check_pixels(name, height, width, frames)
    try:
      image = tf.io.decode_image(data, channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
      raise errors.DataError(f"{name}: not an image TensorFlow can decode "
                             f"({pipeline.IMAGE_FORMATS}): {errors.first_line(e)}") from e
    self._check_pixels(name, int(image.shape[0]), int(image.shape[1]))
    return self._decode(tf.constant(data), decoded=image).numpy()

  def _check_pixels(self, name: str, height: int, width: int, frames: int = 1) -> None:
    limit = self.config.limits.max_image_pixels
    total = frames * height * width
    if total > limit:
      what = f"{width}x{height} pixels" if frames == 1 else f"{frames} frames of {width}x{height}"
      raise errors.DataError(f"{name}: {what} ({total}) is more than max_image_pixels="
                             f"{limit}; shrink the image or raise that decode hparam.")

  def serving_spec(self) -> "tf.TypeSpec":
    if self.config.image_size is None:
      raise errors.ConfigError(f"Problem '{self.config.problem}' has no fixed image_size, "
                               "which a SavedModel signature needs.")
    h, w = self.config.image_size
    return tf.TensorSpec([h, w, 3], tf.float32)
