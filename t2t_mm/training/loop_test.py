"""The loop's schedule: which steps log, checkpoint, evaluate, and where a block of steps ends."""

from t2t_mm.config.trainer_config import TrainerConfig
from t2t_mm.training import loop


def _steps(due, train_steps, config):
  return [s for s in range(1, train_steps + 1) if due(s, train_steps, config)]


def test_checkpoints_every_checkpoint_every_steps_and_at_the_last():
  config = TrainerConfig(checkpoint_every=4)
  assert _steps(loop.checkpoint_due, 10, config) == [4, 8, 10]
  assert _steps(loop.checkpoint_due, 8, config) == [4, 8]


def test_evaluates_every_eval_every_steps_but_not_at_the_last():
  # The last step's evaluation comes after the loop (once, even when eval_every divides it).
  assert _steps(loop.evaluation_due, 10, TrainerConfig(eval_every=5)) == [5]
  assert _steps(loop.evaluation_due, 12, TrainerConfig(eval_every=5)) == [5, 10]
  assert _steps(loop.evaluation_due, 10, TrainerConfig(eval_every=0)) == []


def test_logs_every_log_every_steps():
  config = TrainerConfig(log_every=3)
  assert [s for s in range(1, 11) if loop.log_due(s, config)] == [3, 6, 9]


def test_a_block_ends_at_the_next_checkpoint_evaluation_or_last_step():
  config = TrainerConfig(checkpoint_every=6, eval_every=4)

  def blocks(start, train_steps, steps_per_call):
    ends, step = [], start
    while step < train_steps:
      step += loop.block_length(step, train_steps, steps_per_call, config)
      ends.append(step)
    return ends

  assert blocks(0, 14, 10) == [4, 6, 8, 12, 14]
  assert blocks(0, 14, 3) == [3, 4, 6, 8, 11, 12, 14]
  assert blocks(5, 7, 10) == [6, 7]  # Resumed mid-way.
  assert loop.block_length(0, 100, 10, TrainerConfig(checkpoint_every=50, eval_every=0)) == 10
