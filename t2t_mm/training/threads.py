"""CPU thread pools of a training process, chosen by measurement, set before TensorFlow starts.

    configure(*train_threads())          # chosen: (1, every core) on a machine without a GPU
    configure(*train_threads(intra=4), requested=True)      # mm-trainer --intra_op_threads=4

A MultiModel training step is thousands of small ops (multimodel_tiny: ~7,500). On a machine
without a GPU one thread per op, with every core running independent ops side by side, trains
faster than TensorFlow's default of splitting each op over every core: the hand-offs of a split
cost more than they save on ops this small (docs/STACK.md, "XLA compile time, static batch
shapes and thread pools for training"). With a GPU the host threads only launch kernels, so
TensorFlow's own defaults stay.
"""

import os
from typing import Optional, Tuple

from t2t_mm import errors
from t2t_mm.utils.lazy import tf


def train_threads(intra: int = 0, inter: int = 0, cores: Optional[int] = None,
                  gpu: Optional[bool] = None) -> Tuple[int, int]:
  """(intra-op, inter-op) threads: each as requested if > 0, else chosen: 1 and every core
  without a GPU, 0 (TensorFlow's default) with one. `gpu`: None looks for one."""
  if intra < 0 or inter < 0:
    raise errors.ConfigError(f"intra_op_threads and inter_op_threads must be >= 0 (0: chosen), "
                             f"got {intra} and {inter}.")
  if gpu is None:
    gpu = bool(tf.config.list_physical_devices("GPU"))
  chosen = (0, 0) if gpu else (1, cores or os.cpu_count() or 1)
  return intra or chosen[0], inter or chosen[1]


def configure(intra: int, inter: int, requested: bool = False) -> None:
  """Sets TensorFlow's pools (0 keeps its default). Once its runtime has started they cannot
  change: a `requested` setting then fails with ConfigError; chosen ones leave the process's
  pools as they are (a library caller that already ran TensorFlow)."""
  threading = tf.config.threading
  if (threading.get_intra_op_parallelism_threads(),
      threading.get_inter_op_parallelism_threads()) == (intra, inter):
    return
  try:
    threading.set_intra_op_parallelism_threads(intra)
    threading.set_inter_op_parallelism_threads(inter)
  except RuntimeError as e:
    if requested:
      raise errors.ConfigError(
          f"intra_op_threads={intra}, inter_op_threads={inter} must be set before TensorFlow "
          f"starts its runtime: {e}") from e
