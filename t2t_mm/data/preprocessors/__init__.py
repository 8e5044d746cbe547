"""One preprocessor per modality, registered under the modality's name (see base.py).

    pre = preprocessors.for_side(spec, "inputs", vocab, max_length, input_limits)
"""

from typing import Optional

from t2t_mm import registry
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.data.preprocessors import audio  # noqa: F401  (registers)
from t2t_mm.data.preprocessors import class_label  # noqa: F401
from t2t_mm.data.preprocessors import image  # noqa: F401
from t2t_mm.data.preprocessors import symbol  # noqa: F401
from t2t_mm.data.preprocessors.base import Preprocessor
from t2t_mm.data.preprocessors.base import SideConfig


def _check_preprocessor_class(obj) -> Optional[str]:
  if not (isinstance(obj, type) and issubclass(obj, Preprocessor)):
    return "a preprocessor is a subclass of t2t_mm.data.preprocessors.base.Preprocessor."
  return None


registry.set_check("preprocessors", _check_preprocessor_class)


def for_side(spec, side: str, vocab, max_length: int,
             input_limits: InputLimits = InputLimits()) -> Preprocessor:
  """The preprocessor of `spec`'s inputs or targets ("inputs" / "targets")."""
  modality = spec.input_modality if side == "inputs" else spec.target_modality
  cls = registry.preprocessor(modality)
  config = SideConfig(problem=spec.name, max_length=cls.max_length_for(spec, max_length),
                      vocab=vocab,
                      image_size=spec.image_size, sample_rate=spec.sample_rate,
                      frame_step=spec.audio_frame_step, input_limits=input_limits)
  return cls(config)
