"""Registered models (registry.model(name)): the MultiModel and its body parts."""

from t2t_mm.models import multimodel  # noqa: F401

import keras  # noqa: E402

from t2t_mm import registry  # noqa: E402


def _check_model_class(obj):
  if not (isinstance(obj, type) and issubclass(obj, keras.Model)):
    return "a model is a keras.Model subclass built as cls(hparams=..., specs=[...])."
  missing = [m for m in ("start_decoding", "decode_step") if not callable(getattr(obj, m, None))]
  if missing:  # Every search calls them (docs/DESIGN.md); found here, not deep in a trace.
    return (f"a model defines start_decoding and decode_step (cached decoding, as "
            f"t2t_mm/testing/fake_model.py does); {obj.__name__} lacks {', '.join(missing)}.")
  return None


registry.set_check("models", _check_model_class)
