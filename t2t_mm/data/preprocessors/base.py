"""Preprocessor: one modality's raw values -> the model's tensors, the same everywhere.

    pre = preprocessors.for_side(spec, "inputs", vocab, max_length=256,
                                 input_limits=InputLimits())
    feature = pre.to_feature(raw)             # datagen: a raw value -> tf.train.Feature
    x = pre.from_stored(pre.prepare_batch(raw_batch)[...])  # tf.data: a shard's value -> tensor
    x = pre.from_request_tf(data)             # SavedModel: user bytes/text (scalar) -> tensor
    x = pre.read_request(value)               # decoder: a line's value (text or path) -> numpy

The training pipeline (data/problem.py), the decoder (decoding/inputs.py) and the exported
SavedModel (decoding/serving.py) all convert through these objects, chosen by the modality's
registered name (registry.preprocessor(spec.input_modality)), so a new modality is one
Preprocessor and one modality net. KerasHub's preprocessors and SeqIO's paired
encode / encode_tf are the models.
"""

import dataclasses
from typing import Dict, Optional, Tuple

import numpy as np

from t2t_mm import errors
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.utils.lazy import tf
from t2t_mm.utils import fs


@dataclasses.dataclass(frozen=True)
class SideConfig:
  """What one side (inputs or targets) of a problem needs to convert its values.

  Args:
    problem: the problem's name (for messages).
    max_length: keep at most this many tokens (EOS included), or audio frames.
    vocab: the side's vocabulary (symbols, class labels); None otherwise.
    image_size: (H, W) images are resized to; None keeps their size.
    sample_rate: Hz of the problem's audio.
    frame_step: audio samples per frame (what max_input_length counts for audio).
    input_limits: the size limits of what a user gives the decoder or a SavedModel.
  """

  problem: str
  max_length: int
  vocab: object = None
  image_size: Optional[Tuple[int, int]] = None
  sample_rate: Optional[int] = None
  frame_step: int = 1
  input_limits: InputLimits = InputLimits()


class Preprocessor:
  """Base class: the conversions of one modality (see the module docstring).

  Args:
    config: a SideConfig.

  Subclasses set `stored_dtype` (how a shard holds the raw value), `request_kind` (what a
  decoder line gives: "text", "image" or "audio"; None if users never give this modality),
  `serving_input` (the SavedModel signature's input name) and `fixed_shape` (every example
  has one shape: batched, not bucketed by length). As targets, `one_token` says each example's
  target is one token: no EOS, every position counts (label 0 is a class), one decoding step.
  """

  stored_dtype = "string"
  request_kind: Optional[str] = None
  serving_input = "input"
  fixed_shape = False
  one_token = False
  length_unit: Optional[str] = None  # What length() counts ("tokens", "frames"); None: none.

  def __init__(self, config: SideConfig):
    self.config = config

  @classmethod
  def max_length_for(cls, spec, max_length: int) -> int:
    """The length limit of this modality in `spec`'s problem, given the run's limit."""
    del spec
    return max_length

  @property
  def max_length(self) -> int:
    return self.config.max_length

  def seconds(self, length: int) -> Optional[float]:
    """`length` (as length() counts) in seconds, for modalities in time; None otherwise."""
    del length
    return None

  # --- Data generation ---

  @classmethod
  def to_feature(cls, raw) -> "tf.train.Feature":
    """A raw example value (data/problem.py's module docstring) -> tf.train.Feature."""
    raise NotImplementedError

  # --- tf.data ---

  def prepare_batch(self, raw: "tf.Tensor") -> Dict[str, "tf.Tensor"]:
    """A batch of stored values -> named tensors per example; the default passes them on.
    (Batched work, such as SentencePiece over 256 strings at once, goes here.)"""
    return {"raw": raw}

  def from_stored(self, parts: Dict[str, "tf.Tensor"]) -> "tf.Tensor":
    """One example's parts from prepare_batch -> the model's tensor."""
    raise NotImplementedError

  def length(self, x: "tf.Tensor") -> "tf.Tensor":
    """What batching buckets by (tokens, frames); 0 for values without a length."""
    return tf.constant(0, tf.int32)

  def padded_size(self, longest: int) -> Optional[int]:
    """The first axis of a value whose length() is at most `longest`, padded: what batches of
    static shape pad this side to (DataConfig.static_shapes). None: values of fixed shape, or
    without a length, are not padded by length."""
    del longest
    return None

  # --- Decoding and serving ---

  def from_request_tf(self, data: "tf.Tensor") -> "tf.Tensor":
    """One user value (scalar string: text, or a file's bytes) -> the model's tensor, in the
    graph; a value over the input limits fails with InvalidArgumentError naming the limit."""
    raise errors.ConfigError(f"Problem '{self.config.problem}': {type(self).__name__} values "
                             "are not given by users.")

  def read_request(self, value: str) -> np.ndarray:
    """A decoder line's value (text, or a file path) -> the model's tensor (no batch axis);
    errors.DataError, one line, for anything bad."""
    raise errors.DataError(f"Problem '{self.config.problem}' reads no user input of this kind.")

  def read_bytes(self, data: bytes, name: str) -> np.ndarray:
    """A file's bytes given in Python (t2t_mm.api) -> as read_request, with the same bounds;
    `name` names the value in errors."""
    raise errors.DataError(f"{name}: problem '{self.config.problem}' reads no file bytes.")

  def serving_spec(self) -> "tf.TypeSpec":
    """The per-example output spec of from_request_tf (for tf.map_fn)."""
    raise NotImplementedError

  def resources(self) -> Dict[str, object]:
    """Trackable objects a SavedModel must hold (e.g. the SentencePiece model)."""
    return {}

  def _at_most(self, value: "tf.Tensor", limit: str, what: str):
    """An assertion that `value` <= the input limit `limit`; its message names both."""
    bound = getattr(self.config.input_limits, limit)
    return tf.debugging.assert_less_equal(
        tf.cast(value, tf.int64), tf.constant(bound, tf.int64),
        message=f"{self.serving_input}: {what} is more than {limit}={bound} (set when "
        f"exported: mm-export --input_limits='{limit}=N')")


def check_bytes(data: bytes, name: str, what: str, max_bytes: int) -> None:
  """DataError if the bytes of `name` are more than max_<what>_bytes."""
  if len(data) > max_bytes:
    raise errors.DataError(f"{name}: {len(data)} bytes, more than max_{what}_bytes={max_bytes}; "
                           "give less or raise that input limit.")


def read_file(path: str, what: str, max_bytes: int) -> bytes:
  """A file's bytes for the decoder; refused by its size before anything is read."""

  def too_large(size):
    return errors.DataError(f"{what}={path}: the file has {size} bytes, more than "
                            f"max_{what}_bytes={max_bytes}; use a smaller file or raise that "
                            "input limit.")

  if not fs.isfile(path):
    raise errors.DataError(f"{what}={path}: no such file.")
  try:
    size = fs.size(path)
  except OSError as e:
    raise errors.DataError(f"{what}={path}: cannot read it ({e.strerror}).") from e
  if size > max_bytes:
    raise too_large(size)
  try:
    with fs.open(path, "rb") as f:
      data = f.read(max_bytes + 1)  # The file may have grown since stat.
  except OSError as e:
    raise errors.DataError(f"{what}={path}: cannot read it ({e.strerror}).") from e
  if len(data) > max_bytes:
    raise too_large(len(data))
  return data
