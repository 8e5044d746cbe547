"""InputLimits: how much a user may give the decoder, the server or a SavedModel.

    limits = InputLimits().replace(**typed.parse_overrides("max_image_bytes=5000000",
                                                           InputLimits))

The tools read them from `--input_limits='max_image_bytes=5000000,...'`; the search settings
are DecodeHParams (`--decode_hparams`). A limit given as a decode hparam is refused with an
error that says where it goes (refuse_in_decode_hparams), not ignored.
"""

import dataclasses
from typing import Mapping, Union

from t2t_mm import errors
from t2t_mm.config import typed

_f = typed.field  # A field with a default and its help text.


@dataclasses.dataclass(frozen=True)
class InputLimits:
  """Size limits of user inputs, checked before they cost memory."""

  max_input_chars: int = _f(20000, "Longer input lines are refused with a message (tokens beyond "
                            "the model's max_input_length are cut off); a line is read at most "
                            "4 bytes a character at a time, the rest of a longer one skipped.")
  max_image_bytes: int = _f(20 << 20, "Larger image files are refused before they are read.")
  max_image_pixels: int = _f(
      4096 * 4096, "Images of more pixels (frames x height x width, read from the file's header "
      "for PNG, JPEG, GIF, BMP and WebP; other formats are refused) are refused before they are "
      "decoded: a decoded image takes 16 bytes per pixel or more, and TensorFlow reads every "
      "frame of a GIF.")
  max_audio_bytes: int = _f(50 << 20, "Larger WAV files are refused before they are read; a WAV's "
                            "sample rate must lie in 1000..384000 Hz (t2t_mm.data.wav).")

  def __post_init__(self):
    typed.validate(self)
    typed.check_at_least(self, 1, *NAMES, what="input limit")

  def replace(self, **changes) -> "InputLimits":
    """A copy with `changes`; unknown keys and wrong types raise errors.ConfigError."""
    return typed.from_dict(InputLimits, changes, base=self)


NAMES = tuple(f.name for f in dataclasses.fields(InputLimits))


def _keys(overrides: Union[str, Mapping[str, object], None]):
  if isinstance(overrides, Mapping):
    return list(overrides)
  return [item.partition("=")[0].strip() for item in typed.split_top_level(overrides or "")]


def _refuse(overrides, names, what: str, belongs: str, flag: str) -> None:
  """ConfigError naming the first key of `overrides` that is one of `names` (`belongs`), which
  go with `flag`, not with `what`."""
  for key in _keys(overrides):
    if key in names:
      raise errors.ConfigError(
          f"'{key}' is {belongs}, not {what}: give it with --{flag}='{key}=...' ({flag}= in "
          "t2t_mm.api).")


def refuse_in_decode_hparams(overrides: Union[str, Mapping[str, object], None]) -> None:
  """ConfigError if decode hparam `overrides` ('a=1,b=2' or a dict) name an input limit."""
  _refuse(overrides, NAMES, "a decode hparam", "an input limit", "input_limits")


def resolve(overrides: Union[str, Mapping[str, object], None] = "") -> InputLimits:
  """The default limits with `overrides` ('max_image_bytes=5000000,...' or a dict); a decode
  hparam among them is refused with the flag it goes with."""
  from t2t_mm.config import hparams  # Here: hparams imports this module for the reverse check.
  _refuse(overrides, {f.name for f in dataclasses.fields(hparams.DecodeHParams)},
          "an input limit", "a decode hparam", "decode_hparams")
  return InputLimits().replace(**typed.parse_overrides(overrides or "", InputLimits))
