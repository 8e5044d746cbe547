"""mm-trainer's trainer flags come from TrainerConfig: one flag per field, and the flags given
reach the config over gin's bindings (TrainerConfig is the one source of these settings)."""

import json
import subprocess
import sys

CODE = """
import dataclasses, json, sys
import gin
from absl import flags
import t2t_mm.bin.mm_trainer
from t2t_mm.bin import common
from t2t_mm.config.trainer_config import TrainerConfig
from t2t_mm.training import job
flags.FLAGS(["mm-trainer", "--eval_every=7", "--checkpoint_iterators", "--best_metric=mean/loss"])
settings = common.trainer_settings()
gin.parse_config(["trainer.TrainerConfig.log_every = 3", "trainer.TrainerConfig.eval_every = 9"])
config = job.trainer_config(settings)
try:
  job.trainer_config({"eval_evry": 1})
  unknown = ""
except Exception as e:
  unknown = str(e)
print(json.dumps({
    "fields": [f.name for f in dataclasses.fields(TrainerConfig)],
    "flags": sorted(flags.FLAGS),
    "helps": {f.name: flags.FLAGS[f.name].help for f in dataclasses.fields(TrainerConfig)},
    "settings": settings, "config": dataclasses.asdict(config), "unknown": unknown}))
"""


def test_trainer_flags_are_trainer_config_fields_and_override_gin():
  result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  out = json.loads(result.stdout.strip().splitlines()[-1])
  assert set(out["fields"]) <= set(out["flags"])
  # Each flag's help is the field's, with the default stated by TrainerConfig.
  assert "(default: 1000," in out["helps"]["eval_every"]
  assert "(default: '', or gin's trainer.TrainerConfig.best_metric)" in out["helps"][
      "best_metric"]
  # Only the flags given are settings; the rest keep gin's binding or the default.
  assert out["settings"] == {"eval_every": 7, "checkpoint_iterators": True,
                             "best_metric": "mean/loss"}
  config = out["config"]
  assert (config["eval_every"], config["log_every"], config["checkpoint_iterators"],
          config["best_metric"], config["eval_steps"]) == (7, 3, True, "mean/loss", 20)
  assert "Unknown trainer setting 'eval_evry'" in out["unknown"]
  assert "eval_every" in out["unknown"]  # Did you mean.
