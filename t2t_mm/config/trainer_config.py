"""TrainerConfig: the trainer's operational settings (not hparams: they do not change the model).

    config = TrainerConfig(eval_every=500)   # or gin: trainer.TrainerConfig.log_every = 10
"""

import dataclasses

import gin

from t2t_mm import errors
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
    best_metric: "PROBLEM/METRIC" or "mean/METRIC": also keep the checkpoint with the best
      dev value of it (in checkpoints/best/; lower is better for loss, log_perplexity, wer,
      cer). Empty: none.
    early_stopping_patience: stop after this many evaluations without a better best_metric;
      0: never.
    warm_start_from: a run folder, checkpoint folder or checkpoint prefix: a fresh run starts
      from its variables whose names and shapes match (t2t_mm/runs/warm_start.py; the list
      goes to warm_start.json). Ignored once the run has checkpoints of its own. Empty: none.
    warm_start_optimizer: with warm_start_from, also take the optimizer's slots and step.
  """

  eval_every: int = 1000
  eval_steps: int = 20
  checkpoint_every: int = 200
  keep_checkpoints: int = 3
  log_every: int = 50
  decode_examples: int = 64
  checkpoint_iterators: bool = False
  best_metric: str = ""
  early_stopping_patience: int = 0
  warm_start_from: str = ""
  warm_start_optimizer: bool = False

  def __post_init__(self):
    typed.validate(self)
    if self.warm_start_optimizer and not self.warm_start_from:
      raise errors.ConfigError("warm_start_optimizer needs warm_start_from (the run whose "
                               "optimizer state to take).")
    typed.check_at_least(self, 1, "eval_steps", "checkpoint_every", "keep_checkpoints",
                         "log_every", what="trainer setting")
    typed.check_at_least(self, 0, "eval_every", "decode_examples", "early_stopping_patience",
                         what="trainer setting")
    if self.early_stopping_patience and not self.best_metric:
      raise errors.ConfigError("early_stopping_patience needs best_metric (the metric whose "
                               "evaluations it counts).")
    if self.best_metric and not self.eval_every:
      raise errors.ConfigError(f"best_metric={self.best_metric} needs eval_every > 0: the best "
                               "checkpoint is chosen among the evaluations during training.")
