"""TrainerConfig: the trainer's operational settings (not hparams: they do not change the model).

    config = TrainerConfig(eval_every=500)   # or gin: trainer.TrainerConfig.log_every = 10
"""

import dataclasses

import gin

from t2t_mm.config import typed


@gin.configurable(module="trainer")
@dataclasses.dataclass
class TrainerConfig:
  """Operational settings of the trainer (gin: `trainer.TrainerConfig.log_every = 10`).

  Args:
    eval_every: evaluate every this many steps (and at the end); 0: only at the end.
    eval_steps: dev batches per problem in each evaluation.
    checkpoint_every: save a checkpoint every this many steps (and at the end).
    keep_checkpoints: how many recent checkpoints to keep.
    log_every: print progress and write train summaries every this many steps.
    decode_examples: dev examples per problem decoded greedily for BLEU, WER, exact match.
    checkpoint_iterators: also checkpoint the input iterators (single-device runs), so a
      resumed run continues the exact data order. Off by default: each checkpoint then holds
      every problem's shuffle buffer, far larger than the weights, and writing it slowed
      training several-fold (docs/STACK.md). Without it, a resumed run
      reshuffles with a seed drawn from (seed, step), so it does not replay the examples it
      started with.
  """

  eval_every: int = 1000
  eval_steps: int = 20
  checkpoint_every: int = 200
  keep_checkpoints: int = 3
  log_every: int = 50
  decode_examples: int = 64
  checkpoint_iterators: bool = False

  def __post_init__(self):
    typed.validate(self)
    typed.check_at_least(self, 1, "eval_steps", "checkpoint_every", "keep_checkpoints",
                         "log_every", what="trainer setting")
    typed.check_at_least(self, 0, "eval_every", "decode_examples", what="trainer setting")
