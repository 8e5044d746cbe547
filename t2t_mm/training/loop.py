"""The training loop: when to run steps, log, checkpoint, evaluate and stop.

    results = loop.train(trainer, train_steps=2000)   # what Trainer.train does

The decisions are pure functions of the step and TrainerConfig (checkpoint_due, evaluation_due,
log_due, block_length); `train` applies them to a Trainer (t2t_mm/training/trainer.py), which
runs the steps (t2t_mm/training/steps.py) and writes the run folder (t2t_mm/runs/run_folder.py).

Each round: the mixture picks a problem by (seed, step) -> that problem's step runs on its
next batch (steps_per_call > 1: a block of steps, ending at the next checkpoint, evaluation or
last step) -> summaries every log_every steps, a checkpoint every checkpoint_every steps and at
the last, an evaluation every eval_every steps -> stop at train_steps or when best_metric's
patience runs out, then evaluate (unless the last step was just evaluated). A NaN or Inf loss
stops with TrainingDivergedError; so do 50 updates in a row skipped for non-finite gradients
under mixed_float16 (each skipped update is counted in `trainer.skipped_updates` and logged).
"""

from typing import Dict

from absl import logging
import numpy as np

from t2t_mm import errors
from t2t_mm.config.trainer_config import TrainerConfig
from t2t_mm.training import progress as progress_lib

# Updates in a row with non-finite gradients (mixed_float16) after which training stops.
MAX_SKIPPED_IN_A_ROW = 50


class TrainingDivergedError(errors.T2TMMError):
  """The loss became NaN or Inf; the last good checkpoint is kept."""


def checkpoint_due(step: int, train_steps: int, config: TrainerConfig) -> bool:
  """Whether a checkpoint is saved once the global step reaches `step`."""
  return step % config.checkpoint_every == 0 or step == train_steps


def evaluation_due(step: int, train_steps: int, config: TrainerConfig) -> bool:
  """Whether the dev sets are evaluated at `step` during training (the final evaluation after
  the loop is not counted here)."""
  return bool(config.eval_every) and step % config.eval_every == 0 and step < train_steps


def log_due(step: int, config: TrainerConfig) -> bool:
  """Whether train summaries are written at `step`."""
  return step % config.log_every == 0


def block_length(step: int, train_steps: int, steps_per_call: int,
                 config: TrainerConfig) -> int:
  """How many steps one call runs from `step`: up to steps_per_call, ending at the next
  checkpoint, evaluation or last step (so those happen between calls)."""
  n = min(steps_per_call, train_steps - step,
          config.checkpoint_every - step % config.checkpoint_every)
  if config.eval_every:
    n = min(n, config.eval_every - step % config.eval_every)
  return n


def train(trainer, train_steps: int) -> Dict[str, Dict[str, float]]:
  """Trains `trainer` until its global step is `train_steps` (or early stopping), then
  evaluates; returns the eval results of the last step."""
  config, hparams = trainer.config, trainer.hparams
  step = trainer.begin()
  best = trainer.best
  progress = progress_lib.Progress(train_steps, config.log_every)
  results = {}
  skipped_in_a_row = 0
  while step < train_steps and not (best and best.should_stop):
    n = (block_length(step, train_steps, hparams.steps_per_call, config)
         if hparams.steps_per_call > 1 else 1)
    ran = trainer.run_steps(step, n)  # [(problem, loss, MoE loss)] per step run.
    before, step = step, trainer.step
    skipped = len(ran) - (step - before)
    if skipped and hparams.dtype_policy == "mixed_float16":
      # Loss scaling skipped updates with non-finite gradients.
      trainer.skipped_updates += skipped
      skipped_in_a_row = skipped_in_a_row + skipped if step == before else skipped
      logging.warning("Step %d on problem '%s': gradients not finite under mixed_float16; "
                      "%d update(s) skipped, loss scale halved (%d skipped so far).", step,
                      ran[-1][0], skipped, trainer.skipped_updates)
      if skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
        raise TrainingDivergedError(
            f"{MAX_SKIPPED_IN_A_ROW} updates in a row had non-finite gradients at step {step} "
            f"(problem '{ran[-1][0]}'); training stopped. Last good checkpoint: "
            f"{trainer.latest_checkpoint}.")
      if step == before:
        continue
    else:
      skipped_in_a_row = 0
    for at, (name, loss, aux) in enumerate(ran, start=before):
      if not np.isfinite(loss) or not np.isfinite(aux):
        raise TrainingDivergedError(
            f"loss became {loss} (MoE loss {aux}) at step {at} on problem '{name}'; "
            f"training stopped. Last good checkpoint: "
            f"{trainer.latest_checkpoint}. Try a lower learning_rate.")
    if step == before:  # Only loss scaling may skip an update; anything else would loop.
      raise RuntimeError(f"The training step of '{ran[-1][0]}' did not advance the step "
                         f"({step}).")
    for at, (name, loss, _) in enumerate(ran[:step - before], start=before + 1):
      progress.update(at, name, loss)
      if log_due(at, config):
        trainer.write_train_summaries(at, progress)
    if checkpoint_due(step, train_steps, config):
      trainer.save_checkpoint(step)
    if evaluation_due(step, train_steps, config):
      results = trainer.evaluate()
  progress.close()
  if best and best.should_stop and step < train_steps:
    logging.warning("Stopped early at step %d: %d evaluations without a better %s (best %s "
                    "at step %s).", step, best.patience, best.metric,
                    best.state["value"], best.state["step"])
    trainer.save_checkpoint(step)
  if not results or step != results.get("_step"):
    results = trainer.evaluate()
  return results
