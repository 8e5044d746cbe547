"""What a checkpoint holds of a model: every variable, in the model's own deterministic order.

Keras 3 layers kept in Python lists and dicts (the MultiModel's modality nets, the encoder's
conv blocks) are not children in TensorFlow's checkpoint object graph, so
`tf.train.Checkpoint(model=model)` silently leaves their variables out. A list of
`model.variables` (trainable and not) reaches all of them; the order is fixed by the model's
structure, which hparams.json and problems.json rebuild identically, and a restore checks that
every variable found its value.

    tf.train.Checkpoint(**model_items(model), optimizer=optimizer).save(path)
    restore_model(model, path)        # the decoder: model variables only
"""

import tensorflow as tf

from t2t_mm import errors

CHECKPOINT_DIR = "checkpoints"


def model_items(model) -> dict:
  """Checkpoint kwargs that hold every variable of `model`."""
  return {"model_variables": list(model.variables)}


def restore_model(model, path: str) -> None:
  """Restores every variable of `model` from checkpoint `path` (optimizer state skipped)."""
  checkpoint = tf.train.Checkpoint(**model_items(model))
  try:
    checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
  except (AssertionError, ValueError) as e:
    raise errors.DataError(f"Checkpoint {path} does not fit the model built from its run's "
                           f"hparams.json and problems.json: {str(e)[:300]}") from e
