"""Checkpoint averaging: the mean of the model variables of a run's last N checkpoints.

    prefixes = averaging.last_checkpoints(run_dir, 5)      # newest first, complete ones
    averaging.average_into(model, prefixes)                # model now holds their mean
    averaging.save_model(model, "avg/checkpoints", step)   # a checkpoint the tools accept

Variables are matched by name (each checkpoint is restored through the same by-name restore
as a decoder's), so checkpoints of runs whose problems were listed in another order average
correctly. Averaging the last checkpoints of a run is what T2T's t2t-avg-all and fairseq's
average_checkpoints.py do before a reported BLEU.
"""

import os
from typing import List, Sequence

import numpy as np

from t2t_mm import errors
from t2t_mm.runs import checkpoints
from t2t_mm.utils import fs


def last_checkpoints(output_dir: str, num_last: int) -> List[str]:
  """The `num_last` newest complete checkpoints of the run, newest first."""
  if num_last < 1:
    raise errors.ConfigError(f"--average_last / --num_last must be >= 1, got {num_last}.")
  directory = os.path.join(output_dir, checkpoints.CHECKPOINT_DIR)
  complete = [p for p in checkpoints.candidates(directory) if fs.isfile(p + ".index")]
  if len(complete) < num_last:
    raise errors.DataError(
        f"{directory} holds {len(complete)} complete checkpoints, fewer than the {num_last} to "
        "average; keep more with --gin_param='trainer.TrainerConfig.keep_checkpoints = N' or "
        "average fewer.")
  return complete[:num_last]


def average_into(model, prefixes: Sequence[str]) -> None:
  """Sets every model variable to its mean over the checkpoints `prefixes`."""
  variables = checkpoints.variables_by_name(model.variables)
  sums = {}
  for prefix in prefixes:
    checkpoints.restore_model(model, prefix)
    for name, var in variables.items():
      value = np.asarray(var.numpy(), np.float64)
      sums[name] = value if name not in sums else sums[name] + value
  for name, var in variables.items():
    if is_float(var):  # Integer state (seed-generator counters) keeps the last restored value.
      var.assign((sums[name] / len(prefixes)).astype(np.asarray(var.numpy()).dtype))


def is_float(variable) -> bool:
  return "float" in str(variable.dtype)


def save_model(model, directory: str, step: int) -> str:
  """Writes the model's variables as checkpoint `directory/ckpt-<step>`; returns its prefix."""
  import tensorflow as tf
  fs.makedirs(directory)
  ckpt = tf.train.Checkpoint(**checkpoints.model_items(model))
  manager = tf.train.CheckpointManager(ckpt, directory, max_to_keep=None)
  return manager.save(checkpoint_number=step)
