"""CPU threads for decoding, chosen by measurement, set before TensorFlow starts.

    configure(decode_threads(batch_size=1))     # mm-decoder --decode_interactive: 1 thread
    configure(decode_threads(batch_size=32))    # file mode: every core

Measured on the 2-core development machines (docs/STACK.md, bench/decode.py, bench/peer.py):
one sentence at a time decodes faster on one thread (the steps are chains of small ops, and a
second thread only adds hand-offs); a batch of 32 decodes 1.5x faster on two.
"""

import os
from typing import Optional

from t2t_mm import errors
from t2t_mm.utils.lazy import tf


def decode_threads(batch_size: int, requested: int = 0, cores: Optional[int] = None) -> int:
  """`requested` if > 0; else 1 for batches of one, every core for larger batches."""
  if requested < 0:
    raise errors.ConfigError(f"--threads must be >= 0 (0: chosen by batch size), got "
                             f"{requested}.")
  if requested:
    return requested
  return 1 if batch_size <= 1 else (cores or os.cpu_count() or 1)


def configure(threads: int) -> None:
  """Sets TensorFlow's intra- and inter-op thread pools; before the runtime starts."""
  tf.config.threading.set_intra_op_parallelism_threads(threads)
  tf.config.threading.set_inter_op_parallelism_threads(threads)
