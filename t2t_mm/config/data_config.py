"""DataConfig: what a problem's input pipeline reads of a run's settings, derived once.

    config = DataConfig.from_hparams(hparams)                 # batch_size, lengths, seed
    ds = problem.dataset("train", data_dir, config.replace(batch_size=16))

TF Model Garden's DataConfig is the model: the data pipeline and the preprocessors see these
few typed fields, not the whole HParams, so the trainer sizes per-replica batches here
instead of rewriting hparams.
"""

import dataclasses
from typing import Optional

from t2t_mm import errors
from t2t_mm.config import typed


def check_bucket_step(step: float, what: str, name: str = "length_bucket_step") -> None:
  """Raises ConfigError unless `step` (the setting `name`) is above 1."""
  if not step > 1.0:
    raise errors.ConfigError(f"{what} '{name}' must be > 1 (each length bucket's "
                             f"boundary times it gives the next), got {step}.")


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """The settings of one problem's batches.

  Args:
    batch_size: examples per batch (per replica, when the trainer makes it).
    batch_tokens: > 0: train batches of sequence problems hold about this many positions
      (per replica), bucketed by input and by target length: a cell whose longest input or
      target has L positions takes max(1, batch_tokens // L) examples. 0: batch_size
      examples per batch, bucketed by the longer of input and target.
    length_bucket_step: growth of the length buckets' boundaries (8, 9, ..., x * step):
      a larger step makes fewer shapes (fewer XLA compilations) and more padding.
    static_shapes: train batches take a bounded set of shapes, for XLA and TPUs: each
      sequence side is bucketed by its own length and padded to its bucket's longest (audio:
      that many frames' samples), batch_size examples per batch (or the token cell's count).
      False: a batch is padded to its longest example.
    max_input_length: inputs are cut to this many tokens, or audio frames.
    max_target_length: targets are cut to this many tokens.
    seed: seed of the shuffling of train data.
    autotune: tf.data's autotuning of parallelism and buffer sizes while batches are read.
      Evaluation turns it off: on a 2-core CPU the autotuner's work beside the model slowed
      decoding a dev split 1.2-1.4x, while training steps ran at the same speed either way
      (docs/STACK.md).
  """

  batch_size: int = 32
  batch_tokens: int = 0
  length_bucket_step: float = 1.1
  static_shapes: bool = False
  max_input_length: int = 256
  max_target_length: int = 256
  seed: int = 1234
  autotune: bool = True

  def __post_init__(self):
    typed.validate(self)
    typed.check_at_least(self, 1, "batch_size", "max_input_length", "max_target_length",
                         what="data setting")
    typed.check_at_least(self, 0, "batch_tokens", what="data setting")
    check_bucket_step(self.length_bucket_step, "data setting")

  @classmethod
  def from_hparams(cls, hparams, compiled: Optional[bool] = None) -> "DataConfig":
    """The DataConfig of a run's HParams (a DataConfig is returned as it is). `compiled`
    (default: hparams.jit_compile; the trainer adds TPUs): batches of static shapes, bucketed
    by jit_length_bucket_step."""
    if isinstance(hparams, DataConfig):
      return hparams
    compiled = hparams.jit_compile if compiled is None else compiled
    return cls(batch_size=hparams.batch_size, batch_tokens=hparams.batch_tokens,
               length_bucket_step=(hparams.jit_length_bucket_step if compiled
                                   else hparams.length_bucket_step),
               static_shapes=compiled,
               max_input_length=hparams.max_input_length,
               max_target_length=hparams.max_target_length, seed=hparams.seed)

  def replace(self, **changes) -> "DataConfig":
    return typed.from_dict(DataConfig, changes, base=self)
