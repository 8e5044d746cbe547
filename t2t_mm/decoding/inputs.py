"""From what a person types (or a file line) to model features, and from ids back to text.

    request = parse_line("image=/tmp/cat.png", command_keys)  # Request("image", "/tmp/cat.png")
    x = encode_input(problem, spec, data_dir, hparams, request)  # one example, no batch axis
    features = make_batch([x, ...], spec)                      # padded {"inputs", ...}

Lines: plain text (symbol-input problems), `image=PATH` (PNG/JPEG/GIF/BMP), `audio=PATH`
(16-bit PCM WAV, any rate: resampled to the problem's), and `KEY=VALUE` commands for the keys
the caller names (problem=NAME and the DecodeHParams fields). Every bad input raises
errors.DataError naming the input and what was expected. Inputs are bounded before they cost
memory (DecodeHParams): a line by max_input_chars, a file by max_image_bytes / max_audio_bytes
(its size, before it is read), an image by max_image_pixels (its header, before decoding).
"""

import dataclasses
import os
import re
from typing import Iterable, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.data import pipeline
from t2t_mm.data.spec import EOS_ID
from t2t_mm.data.spec import PAD_ID
from t2t_mm.data.spec import ProblemSpec

HELP = ("Type text to decode, image=PATH, audio=PATH (wav), problem=NAME to switch problem, or "
        "a decode setting such as beam_size=4.")


@dataclasses.dataclass(frozen=True)
class Request:
  kind: str  # "text", "image", "audio" or "command"
  value: str
  key: Optional[str] = None  # For commands.


def parse_line(line: str, command_keys: Iterable[str], max_chars: int = 20000) -> Request:
  """One line (without its newline) -> Request; raises DataError for empty or too long lines."""
  line = line.rstrip("\r\n")
  if not line.strip():
    raise errors.DataError(f"Empty line. {HELP}")
  if len(line) > max_chars:
    raise errors.DataError(f"Line of {len(line)} characters is longer than max_input_chars="
                           f"{max_chars}; split it or raise the decode hparam.")
  match = re.fullmatch(r"\s*([A-Za-z_]+)=(.*)", line)
  if match:
    key, value = match.group(1), match.group(2).strip()
    if key in ("image", "audio"):
      if not value:
        raise errors.DataError(f"'{key}=' needs a file path, e.g. {key}=/path/to/file.")
      return Request(key, os.path.expanduser(value))
    if key in set(command_keys) and " " not in value:
      return Request("command", value, key)
  return Request("text", line)


def _too_large(what: str, path: str, size: int, limit: int) -> errors.DataError:
  return errors.DataError(f"{what}={path}: the file has {size} bytes, more than "
                          f"max_{what}_bytes={limit}; use a smaller file or raise that decode "
                          "hparam.")


def _read(path: str, what: str, max_bytes: int) -> bytes:
  """The file's bytes; refused by its size before anything is read."""
  if not os.path.isfile(path):
    raise errors.DataError(f"{what}={path}: no such file.")
  try:
    size = os.stat(path).st_size
  except OSError as e:
    raise errors.DataError(f"{what}={path}: cannot read it ({e.strerror}).") from e
  if size > max_bytes:
    raise _too_large(what, path, size, max_bytes)
  try:
    with open(path, "rb") as f:
      data = f.read(max_bytes + 1)  # The file may have grown since stat.
  except OSError as e:
    raise errors.DataError(f"{what}={path}: cannot read it ({e.strerror}).") from e
  if len(data) > max_bytes:
    raise _too_large(what, path, len(data), max_bytes)
  return data


def _not_an_image(path: str, e: Exception) -> errors.DataError:
  return errors.DataError(f"image={path}: not an image TensorFlow can decode (PNG, JPEG, GIF, "
                          f"BMP): {str(e).splitlines()[0][:200]}")


def _check_pixels(path: str, height: int, width: int, max_pixels: int) -> None:
  if height * width > max_pixels:
    raise errors.DataError(f"image={path}: {width}x{height} pixels ({height * width}) is more "
                           f"than max_image_pixels={max_pixels}; shrink the image or raise that "
                           "decode hparam.")


def read_image(path: str, size: Optional[Sequence[int]],
               max_bytes: int = DecodeHParams.max_image_bytes,
               max_pixels: int = DecodeHParams.max_image_pixels) -> np.ndarray:
  """Image file -> float32 [H, W, 3] in [0, 1], resized to `size` (H, W) when given.

  Files over `max_bytes` are refused unread, images over `max_pixels` by their header, before
  they are decoded (a format without a header we read is checked after decoding).
  """
  data = _read(path, "image", max_bytes)
  try:
    height, width = (int(n) for n in pipeline.image_header_shape(tf.constant(data)).numpy())
  except tf.errors.InvalidArgumentError as e:  # A JPEG whose markers are broken.
    raise _not_an_image(path, e) from e
  _check_pixels(path, height, width, max_pixels)
  try:
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
  except (tf.errors.InvalidArgumentError, ValueError) as e:
    raise _not_an_image(path, e) from e
  _check_pixels(path, int(image.shape[0]), int(image.shape[1]), max_pixels)
  image = tf.image.convert_image_dtype(image, tf.float32)
  if size and tuple(image.shape[:2]) != tuple(size):
    image = tf.image.resize(image, size, antialias=True)
  return np.clip(image.numpy(), 0.0, 1.0).astype(np.float32)


def read_wav(path: str, sample_rate: Optional[int],
             max_bytes: int = DecodeHParams.max_audio_bytes) -> np.ndarray:
  """WAV file -> float32 mono waveform [N] in [-1, 1] at `sample_rate` (linear resampling);
  files over `max_bytes` are refused unread."""
  data = _read(path, "audio", max_bytes)
  try:
    audio, rate = tf.audio.decode_wav(data)
  except (tf.errors.InvalidArgumentError, ValueError) as e:
    raise errors.DataError(f"audio={path}: not a 16-bit PCM WAV file: "
                           f"{str(e).splitlines()[0][:200]}") from e
  wave, rate = audio.numpy().mean(axis=1), int(rate.numpy())
  if wave.size == 0:
    raise errors.DataError(f"audio={path}: the WAV file holds no samples.")
  if sample_rate and rate != sample_rate:
    n = max(1, int(round(wave.size * sample_rate / rate)))
    wave = np.interp(np.arange(n) * (rate / sample_rate), np.arange(wave.size), wave)
  return wave.astype(np.float32)


def encode_input(problem, spec: ProblemSpec, data_dir: str, hparams,
                 request: Request, vocab=None,
                 dhp: DecodeHParams = DecodeHParams()) -> np.ndarray:
  """One example's inputs (no batch axis) for `spec`'s input modality; `dhp` holds the size
  limits of image and audio files."""
  modality = spec.input_modality
  if modality == "symbol":
    if request.kind != "text":
      raise errors.DataError(f"Problem '{spec.name}' reads text; got {request.kind}="
                             f"{request.value}. Type the text itself.")
    vocab = vocab or problem.input_vocab(data_dir)
    ids = list(vocab.encode(request.value))[:hparams.max_input_length - 1] + [EOS_ID]
    return np.asarray(ids, np.int32)
  wanted = "image" if modality == "image" else "audio"
  if request.kind != wanted:
    raise errors.DataError(f"Problem '{spec.name}' reads {wanted}s: write {wanted}=PATH "
                           f"(got {request.kind} input).")
  if wanted == "image":
    return read_image(request.value, getattr(problem, "image_size", None),
                      dhp.max_image_bytes, dhp.max_image_pixels)
  wave = read_wav(request.value, spec.sample_rate, dhp.max_audio_bytes)
  frame_step = getattr(problem, "audio_frame_step", 160)
  return wave[:hparams.max_input_length * frame_step]


def make_batch(examples: List[np.ndarray], spec: ProblemSpec) -> dict:
  """Examples of one problem -> features {"inputs", "targets", "target_space"}, zero-padded."""
  # Pads every axis: sequences to the longest, images of unequal sizes to the largest.
  shape = np.max([x.shape for x in examples], axis=0)
  inputs = np.stack([np.pad(x, [(0, int(n) - m) for n, m in zip(shape, x.shape)])
                     for x in examples])
  b = len(examples)
  return {"inputs": inputs, "targets": np.full((b, 1), PAD_ID, np.int32),
          "target_space": np.full((b,), int(spec.target_space), np.int32)}


def input_length(x: np.ndarray) -> int:
  """What file decoding sorts by: tokens, samples or pixels."""
  return int(x.shape[0]) if x.ndim == 1 else int(np.prod(x.shape))


def output_text(vocab, spec: ProblemSpec, ids: np.ndarray) -> str:
  """One hypothesis' ids [L] -> text (or the class name for class labels)."""
  if spec.target_modality == "class_label":
    return vocab.decode([int(ids[0])])
  out = []
  for i in np.asarray(ids).tolist():
    if i in (PAD_ID, EOS_ID):
      break
    out.append(int(i))
  return vocab.decode(out)
