import pytest

from t2t_mm import errors
from t2t_mm.config import input_limits
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.runs import resolve


def test_overrides_parse_by_type_and_bad_values_name_the_field():
  limits = input_limits.resolve("max_image_bytes=5000000,max_input_chars=10")
  assert (limits.max_image_bytes, limits.max_input_chars) == (5000000, 10)
  assert limits.max_audio_bytes == InputLimits().max_audio_bytes
  assert input_limits.resolve({"max_image_pixels": 7}).max_image_pixels == 7
  with pytest.raises(errors.ConfigError, match="input limit 'max_image_pixels' must be >= 1, "
                     "got 0"):
    input_limits.resolve("max_image_pixels=0")
  with pytest.raises(errors.ConfigError, match="'max_audio_bytes' expects int, got 'big'"):
    input_limits.resolve("max_audio_bytes=big")
  with pytest.raises(errors.UnknownNameError, match="max_image_bytes"):
    input_limits.resolve("max_image_byte=5")


@pytest.mark.parametrize("given", ["beam_size=2,max_image_bytes=5", {"max_input_chars": 5}])
def test_a_limit_given_as_a_decode_hparam_says_where_it_goes(given):
  name = "max_image_bytes" if isinstance(given, str) else "max_input_chars"
  with pytest.raises(errors.ConfigError, match=f"'{name}' is an input limit, not a decode "
                     f"hparam: give it with --input_limits='{name}=...'"):
    resolve.resolve_decode_hparams(given)
  with pytest.raises(errors.ConfigError, match="is an input limit"):
    DecodeHParams().replace(max_audio_bytes=5)


def test_search_settings_and_limits_are_apart():
  assert not set(input_limits.NAMES) & {f for f in DecodeHParams.__dataclass_fields__}
  assert resolve.resolve_decode_hparams("beam_size=2").beam_size == 2


def test_a_search_setting_given_as_a_limit_says_where_it_goes():
  with pytest.raises(errors.ConfigError, match="'beam_size' is a decode hparam, not an input "
                     "limit: give it with --decode_hparams='beam_size=...'"):
    input_limits.resolve("max_image_bytes=5,beam_size=4")
