"""Checkpoint averaging: the mean of the model variables of a run's last N checkpoints.

    prefixes = averaging.last_checkpoints(run_dir, 5)      # newest first, complete ones
    averaging.average_into(model, prefixes)                # model now holds their mean
    averaging.save_model(model, "avg/checkpoints", step)   # a checkpoint the tools accept
    averaging.write_run(model, run_dir, prefixes, "RUN_AVG")  # a run of its own (the tool's)

Variables are matched by name (each checkpoint is restored through the same by-name restore
as a decoder's), so checkpoints of runs whose problems were listed in another order average
correctly. Averaging the last checkpoints of a run is what T2T's t2t-avg-all and fairseq's
average_checkpoints.py do before a reported BLEU.
"""

import os
import re
from typing import List, Sequence

import numpy as np

from t2t_mm import errors
from t2t_mm.runs import checkpoints
from t2t_mm.runs import outputs
from t2t_mm.runs import run_vocab
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


# The files of a run that an averaged run keeps (besides vocab/ and its one checkpoint).
RUN_FILES = ("hparams.json", outputs.PROBLEMS_FILE, "config.gin", "operative_config.gin")


def check_target(output_dir: str, to: str) -> None:
  """ConfigError unless `to` is a new or empty folder outside the run: before any work."""
  if not to:
    raise errors.ConfigError("--to is required: the folder to write the averaged run to.")
  outputs.check_output_path(output_dir, to, "--to")
  if fs.exists(to) and (not fs.isdir(to) or fs.listdir(to)):
    raise errors.ConfigError(f"--to={to} exists and is not an empty folder; nothing "
                             "was written.")


def write_run(model, output_dir: str, prefixes: Sequence[str], to: str) -> str:
  """Writes `model` (the average of `prefixes`) as a run of its own in `to`: the run's files,
  vocab/ and one checkpoint numbered as the newest averaged. Locally the run is made beside
  `to` and renamed into place (it appears whole or not at all); off the local disk, where a
  folder cannot be renamed at once, it is written into `to` and its checkpoint comes last."""
  to = to.rstrip("/")
  tmp = to + ".partial" if fs.is_local(to) else to
  fs.rmtree(tmp, ignore_errors=True)
  fs.makedirs(tmp)
  for name in RUN_FILES:
    if fs.isfile(os.path.join(output_dir, name)):
      fs.copy(os.path.join(output_dir, name), os.path.join(tmp, name))
  vocab = os.path.join(output_dir, run_vocab.VOCAB_DIR)
  if fs.isdir(vocab):
    fs.copytree(vocab, os.path.join(tmp, run_vocab.VOCAB_DIR))
  step = int(re.search(r"ckpt-(\d+)$", prefixes[0]).group(1))
  save_model(model, os.path.join(tmp, checkpoints.CHECKPOINT_DIR), step)
  if tmp != to:
    if fs.isdir(to):
      fs.rmtree(to)  # Empty (check_target).
    fs.replace(tmp, to)
  return to
