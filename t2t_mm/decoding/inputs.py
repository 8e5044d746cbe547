"""From what a person types (or a file line) to model features (ids back to text: spec.output_text).

    request = parse_line("image=/tmp/cat.png", command_keys)  # Request("image", "/tmp/cat.png")
    x = encode_input(problem, spec, data_dir, hparams, request)  # one example, no batch axis
                                                    # (the problem's input Preprocessor)
    features = make_batch([x, ...], spec)                      # padded {"inputs", ...}

Lines: plain text (symbol-input problems), `KIND=PATH` for the file kinds of the registered
preprocessors (`image=PATH`: PNG/JPEG/GIF/BMP/WebP; `audio=PATH`: 16-bit PCM WAV, any rate), and
`KEY=VALUE` commands for the keys the caller names (problem=NAME, the DecodeHParams and the
InputLimits fields). Every bad input raises errors.DataError naming the input and what was
expected.
Inputs are bounded before they cost memory (InputLimits): a line by max_input_chars (read
with read_line, at most 4 bytes a character, before it is decoded), a file by
max_image_bytes / max_audio_bytes (its size, before it is read), an image by
max_image_pixels (its header, before decoding).
"""

import dataclasses
import os
import re
from typing import Iterable, List, Optional

import numpy as np

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.data import preprocessors
from t2t_mm.data.spec import PAD_ID
from t2t_mm.data.spec import ProblemSpec

HELP = ("Type text to decode, image=PATH, audio=PATH (wav), problem=NAME to switch problem, or "
        "a decode setting such as beam_size=4.")


@dataclasses.dataclass(frozen=True)
class Request:
  kind: str  # "text", "image", "audio" or "command"
  value: str
  key: Optional[str] = None  # For commands.


# An over-long line's rest is skipped, in chunks, up to this many bytes; a stream that goes on
# longer without a newline (/dev/zero) ends the session with StreamError.
MAX_SKIPPED_BYTES = 1 << 30
_SKIP_CHUNK = 1 << 16


class StreamError(errors.DataError):
  """The input stream cannot be read as lines any further."""


def read_line(stream, max_chars: int, max_skipped: Optional[int] = None):
  """The next line of `stream` (binary or text; "" or b"" at its end), never holding more than
  4 * max_chars + 2 bytes of it: a longer line is skipped up to its newline, in bounded chunks,
  and refused with DataError; StreamError if no newline comes within `max_skipped` bytes
  (default MAX_SKIPPED_BYTES)."""
  max_skipped = MAX_SKIPPED_BYTES if max_skipped is None else max_skipped
  limit = 4 * max_chars + 2  # UTF-8 takes up to 4 bytes a character; then CR LF.
  line = stream.readline(limit + 1)
  newline = "\n" if isinstance(line, str) else b"\n"
  if len(line) <= limit or line.endswith(newline):
    return line
  skipped = len(line)
  while True:
    chunk = stream.readline(_SKIP_CHUNK)
    skipped += len(chunk)
    if not chunk or chunk.endswith(newline):
      raise errors.DataError(f"Line of more than {limit} bytes is longer than max_input_chars="
                             f"{max_chars}; split it or raise the input limit.")
    if skipped > max_skipped:
      raise StreamError(f"the input has more than {max_skipped} bytes without a newline; it is "
                        "not lines of text.")


def parse_line(line: str, command_keys: Iterable[str], max_chars: int = 20000) -> Request:
  """One line (without its newline) -> Request; raises DataError for empty or too long lines."""
  line = line.rstrip("\r\n")
  if not line.strip():
    raise errors.DataError(f"Empty line. {HELP}")
  check_length(line, max_chars)
  match = re.fullmatch(r"\s*([A-Za-z_]+)=(.*)", line)
  if match:
    key, value = match.group(1), match.group(2).strip()
    if key in file_kinds():
      if not value:
        raise errors.DataError(f"'{key}=' needs a file path, e.g. {key}=/path/to/file.")
      return Request(key, os.path.expanduser(value))
    if key in set(command_keys) and " " not in value:
      return Request("command", value, key)
  return Request("text", line)


def check_length(text: str, max_chars: int) -> None:
  """DataError if `text` is longer than the input limit max_input_chars."""
  if len(text) > max_chars:
    raise errors.DataError(f"Line of {len(text)} characters is longer than max_input_chars="
                           f"{max_chars}; split it or raise the input limit.")


def file_kinds() -> List[str]:
  """The KEY of `KEY=PATH` lines: what the registered preprocessors read from files."""
  kinds = {registry.preprocessor(name).request_kind for name in registry.names("preprocessors")}
  return sorted(k for k in kinds if k not in (None, "text"))


def preprocessor(problem, spec: ProblemSpec, data_dir: str, hparams, vocab=None,
                 input_limits: InputLimits = InputLimits()):
  """The Preprocessor of `spec`'s inputs, with `input_limits` (data/preprocessors/)."""
  vocab = vocab if vocab is not None else problem.input_vocab(data_dir)
  return preprocessors.for_side(spec, "inputs", vocab, hparams.max_input_length,
                                input_limits)


def encode_input(problem, spec: ProblemSpec, data_dir: str, hparams,
                 request: Request, vocab=None,
                 input_limits: InputLimits = InputLimits()) -> np.ndarray:
  """One example's inputs (no batch axis), converted as training converts them;
  `input_limits` bound what a user gives."""
  pre = preprocessor(problem, spec, data_dir, hparams, vocab, input_limits)
  if request.kind != pre.request_kind:
    if pre.request_kind == "text":
      raise errors.DataError(f"Problem '{spec.name}' reads text; got {request.kind}="
                             f"{request.value}. Type the text itself.")
    raise errors.DataError(f"Problem '{spec.name}' reads {pre.request_kind}s: write "
                           f"{pre.request_kind}=PATH (got {request.kind} input).")
  return pre.read_request(request.value)


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
