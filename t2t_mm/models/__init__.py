"""Registered models (registry.model(name)): the MultiModel and its body parts."""

from t2t_mm.models import multimodel  # noqa: F401

import keras  # noqa: E402

from t2t_mm import registry  # noqa: E402


def _check_model_class(obj):
  if not (isinstance(obj, type) and issubclass(obj, keras.Model)):
    return "a model is a keras.Model subclass built as cls(hparams=..., specs=[...])."
  return None


registry.set_check("models", _check_model_class)
