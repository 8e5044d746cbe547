"""dtype_policy=mixed_float16: dynamic loss scaling; non-finite updates are skipped, counted."""

import numpy as np

from t2t_mm.config.hparams import HParams
from t2t_mm.testing import fake_problems
from t2t_mm.training import trainer as trainer_lib

HP = HParams(hidden_size=32, filter_size=64, num_heads=2, moe_num_experts=4, moe_k=2,
             num_encoder_blocks=1, num_decoder_blocks=1, batch_size=16, learning_rate=3e-3,
             learning_rate_warmup_steps=10, dtype_policy="mixed_float16")


def test_mixed_float16_trains_to_a_falling_finite_loss_and_skips_overflowing_updates(tmp_path):
  trainer = trainer_lib.Trainer(
      [fake_problems.FakeCopyProblem()], HP, "in_memory", str(tmp_path),
      config=trainer_lib.TrainerConfig(log_every=10, checkpoint_every=100, eval_steps=2,
                                       eval_every=0))
  block = trainer.model.encoder.blocks[0]
  assert block.compute_dtype == "float16" and block.variable_dtype == "float32"
  before = trainer.evaluate()["fake_copy"]["loss"]
  trainer.restore()
  # A loss scale of 2^40 overflows float16 gradients: those updates are skipped (the step
  # does not advance) and the scale halves until the gradients are finite again.
  trainer.optimizer.dynamic_scale.assign(2.0 ** 40)
  results = trainer.train(60)
  assert trainer.step == 60
  assert trainer.skipped_updates >= 1
  assert float(trainer.optimizer.dynamic_scale.numpy()) < 2.0 ** 40
  after = results["fake_copy"]["loss"]
  assert np.isfinite(after) and after < before - 0.3, (before, after)
