"""Learning-rate schedule and optimizer from hparams (reference: Adam 0.85/0.997/1e-6, clip 2)."""

import keras
from keras import ops

from t2t_mm.config.hparams import HParams


@keras.saving.register_keras_serializable(package="t2t_mm")
class WarmupRsqrtDecay(keras.optimizers.schedules.LearningRateSchedule):
  """Linear warmup to `peak` over `warmup_steps`, then decay as 1/sqrt(step).

      lr(step) = peak * min(step / warmup, 1) * sqrt(warmup / max(step, warmup))
  """

  def __init__(self, peak: float, warmup_steps: int):
    self.peak = peak
    self.warmup_steps = warmup_steps

  def __call__(self, step):
    step = ops.cast(step, "float32") + 1.0
    warmup = float(max(self.warmup_steps, 1))
    return self.peak * ops.minimum(step / warmup, 1.0) * ops.sqrt(
        warmup / ops.maximum(step, warmup))

  def get_config(self):
    return {"peak": self.peak, "warmup_steps": self.warmup_steps}


def learning_rate_schedule(hp: HParams):
  if hp.learning_rate_schedule == "constant":
    return hp.learning_rate
  return WarmupRsqrtDecay(hp.learning_rate, hp.learning_rate_warmup_steps)


def make_optimizer(hp: HParams) -> keras.optimizers.Optimizer:
  return keras.optimizers.Adam(
      learning_rate=learning_rate_schedule(hp), beta_1=hp.adam_beta1, beta_2=hp.adam_beta2,
      epsilon=hp.adam_epsilon, global_clipnorm=hp.clip_grad_norm or None)
