"""Trains the fake problems with the fake model; run as a subprocess by the trainer tests.

usage: fake_train_script.py OUTPUT_DIR STEPS STRATEGY CPU_DEVICES [CHECKPOINT_EVERY]
Prints one JSON line: {"step", "eval_loss", "losses"}.
"""

import json
import sys

from t2t_mm.training import distribution  # Strategy before any other TensorFlow work.

output_dir, steps, strategy_name, cpu_devices = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(
    sys.argv[4])
checkpoint_every = int(sys.argv[5]) if len(sys.argv) > 5 else 10
strategy = distribution.make_strategy(strategy_name, cpu_devices=cpu_devices)

from t2t_mm.config.hparams import HParams  # noqa: E402
from t2t_mm.testing import fake_model  # noqa: E402,F401
from t2t_mm.testing import fake_problems  # noqa: E402
from t2t_mm.training.trainer import Trainer  # noqa: E402
from t2t_mm.training.trainer import TrainerConfig  # noqa: E402

hp = HParams(model="fake_seq2seq", hidden_size=32, batch_size=16, learning_rate=0.01,
             learning_rate_warmup_steps=10, label_smoothing=0.1)
trainer = Trainer([fake_problems.FakeCopyProblem(), fake_problems.FakeLabelProblem()], hp,
                  "in_memory", output_dir, strategy,
                  TrainerConfig(log_every=10, checkpoint_every=checkpoint_every, eval_steps=2,
                                eval_every=0))
results = trainer.train(steps)
print(json.dumps({"step": trainer.step,
                  "eval_loss": {k: v["loss"] for k, v in results.items()
                                if not k.startswith("_")}}))
