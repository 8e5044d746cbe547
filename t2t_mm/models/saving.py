"""Saving a MultiModel: a whole-model .keras file and weights-only checkpoints, both atomic.

    save_model(model, "out/model.keras");   keras.saving.load_model("out/model.keras")
    save_weights(model, "out/ckpt/model.weights.h5");  load_weights(model, same_path)

Every layer of t2t_mm is registered with keras.saving.register_keras_serializable, and the
MultiModel's config holds its hparams and ProblemSpecs, so a .keras file rebuilds the model
with no other file. Writes go to a temp file in the same folder, then rename.
"""

import os
import tempfile

import keras

from t2t_mm import errors


def _atomic_save(path: str, suffix: str, write) -> None:
  if not path.endswith(suffix):
    raise errors.ConfigError(f"'{path}': the file name must end with '{suffix}' (Keras 3).")
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
  os.close(fd)
  try:
    write(tmp)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def save_model(model: keras.Model, path: str) -> None:
  """Writes the whole model (config + weights) to `path` (*.keras) atomically."""
  _atomic_save(path, ".keras", lambda tmp: model.save(tmp, overwrite=True))


def save_weights(model: keras.Model, path: str) -> None:
  """Writes the weights to `path` (*.weights.h5) atomically."""
  _atomic_save(path, ".weights.h5", lambda tmp: model.save_weights(tmp, overwrite=True))


def load_weights(model: keras.Model, path: str) -> None:
  """Loads weights saved by save_weights into a model built with the same hparams and specs."""
  if not os.path.exists(path):
    raise errors.DataError(f"No weights file at '{path}'.")
  model.load_weights(path)
