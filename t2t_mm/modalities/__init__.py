"""Modality nets: map one kind of data into the shared representation [B, L, d] or out of it.

Registered by name (registry.modality(name)); the MultiModel builds one net per distinct
ProblemSpec.input_key / target_key, so problems of a modality and vocabulary share it.

Input nets:   bottom(inputs, training) -> (x [B, L, d], mask [B, L] float 1 = real)
Target nets:  targets_bottom(targets) -> (x [B, T, d], mask [B, T])   (decoder inputs)
              top(body_output [B, T, d], mask, training) -> float32 logits [B, T, V] / [B, 1, C]
Every net is built from hparams with `cls.from_hparams(hparams, spec, dtype=policy)`.
"""

from t2t_mm.modalities import audio  # noqa: F401
from t2t_mm.modalities import class_label  # noqa: F401
from t2t_mm.modalities import image  # noqa: F401
from t2t_mm.modalities import symbol  # noqa: F401

import keras  # noqa: E402

from t2t_mm import registry  # noqa: E402


def _check_modality_class(obj):
  if not (isinstance(obj, type) and issubclass(obj, keras.layers.Layer)
          and callable(getattr(obj, "from_hparams", None))):
    return "a modality is a keras.layers.Layer subclass with a from_hparams classmethod."
  return None


registry.set_check("modalities", _check_modality_class)
