"""TrainerConfig: the trainer's operational settings (not hparams: they do not change the model).

    config = TrainerConfig(eval_every=500)   # or gin: trainer.TrainerConfig.log_every = 10

The one description of these settings: each field states its default and help here, and
mm-trainer has a flag of each field's name (bin/common.py define_trainer_flags). Precedence:
default < gin binding < flag (t2t_mm/training/job.py trainer_config).
"""

import dataclasses

import gin

from t2t_mm import errors
from t2t_mm.config import typed


_f = typed.field  # A field with a default and its help text.


@gin.configurable(module="trainer")
@dataclasses.dataclass
class TrainerConfig:
  """Operational settings of the trainer (gin: `trainer.TrainerConfig.log_every = 10`); every
  field documents itself (metadata "help", printed by `mm-trainer --help`)."""

  eval_every: int = _f(1000, "Evaluate every this many steps and at the end; 0: only at the end.")
  eval_steps: int = _f(20, "Dev batches per problem in each evaluation.")
  checkpoint_every: int = _f(200, "Save a checkpoint every this many steps and at the end.")
  keep_checkpoints: int = _f(3, "How many recent checkpoints to keep.")
  log_every: int = _f(50, "Print progress and write train summaries every this many steps.")
  decode_examples: int = _f(64, "Dev examples per problem decoded greedily in each evaluation "
                            "for BLEU, WER, exact match.")
  checkpoint_iterators: bool = _f(
      False, "Also checkpoint the input iterators (single-device runs), so a resumed run "
      "continues the exact data order. Off by default: each checkpoint then holds every "
      "problem's shuffle buffer, far larger than the weights, and writing it slowed training "
      "several-fold (docs/STACK.md). Without it, a resumed run reshuffles with a seed drawn "
      "from (seed, step), so it does not replay the examples it started with.")
  best_metric: str = _f(
      "", "Also keep the checkpoint with the best dev value of PROBLEM/METRIC or mean/METRIC "
      "(e.g. wmt_ende_mini/bleu, mean/loss; lower is better for loss, log_perplexity, wer, "
      "cer) in RUN/checkpoints/best (mm-decoder / mm-eval --checkpoint_path=best). "
      "Empty: none.")
  early_stopping_patience: int = _f(
      0, "Stop after this many evaluations without a better best_metric; 0: never.")
  warm_start_from: str = _f(
      "", "Start a new run from the variables of this run folder, checkpoint folder or "
      "checkpoint prefix whose names and shapes match (the rest start fresh; the lists go to "
      "RUN/warm_start.json; t2t_mm/runs/warm_start.py). Ignored once the run has checkpoints "
      "of its own. Fine-tuning: other problems than the source run's. Empty: none.")
  warm_start_optimizer: bool = _f(
      False, "With warm_start_from, also take the optimizer's slots and step (else they "
      "start fresh).")

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
