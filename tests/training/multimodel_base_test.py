"""multimodel_base, the paper-scale set (1.04 B parameters, 240 experts), builds and trains.

It needs about 17.5 GiB (weights, Adam's two slots and the dense expert gradients, float32),
so it runs alone: the `whole_machine` mark makes the other test workers wait (conftest.py).
"""

import numpy as np
import pytest

from t2t_mm import registry
from t2t_mm.testing import fake_problems
from t2t_mm.training import trainer as trainer_lib


@pytest.mark.whole_machine
def test_multimodel_base_takes_two_training_steps_on_a_small_batch(tmp_path):
  # Without gradient clipping: its temporaries add 2 GiB to the 17.5 GiB peak (clipping is
  # tested on smaller models, t2t_mm/training/optimization_test.py).
  hp = registry.hparams("multimodel_base").replace(batch_size=2, clip_grad_norm=0.0)
  problems = [fake_problems.FakeCopyProblem(length=12), fake_problems.FakeLabelProblem()]
  trainer = trainer_lib.Trainer(problems, hp, "in_memory", str(tmp_path),
                                config=trainer_lib.TrainerConfig(eval_every=0))
  params = sum(int(np.prod(v.shape)) for v in trainer.model.trainable_variables)
  assert 1.0e9 < params < 1.1e9, params  # 2 MoE layers x 240 experts x 2 x 512 x 2048 + body.
  gate = trainer.model.encoder.moes["moe3"].w_gate
  before = gate.numpy().copy()
  trainer._start_iterators(0)
  for name in ("fake_copy", "fake_label"):  # No checkpoint: it would write 12 GiB.
    loss, aux = trainer._steps[name](next(trainer._iterators[name]))
    assert np.isfinite(float(loss)) and float(loss) > 0 and np.isfinite(float(aux))
  assert trainer.step == 2
  assert not np.array_equal(gate.numpy(), before)  # The router learned: the MoE trained.
