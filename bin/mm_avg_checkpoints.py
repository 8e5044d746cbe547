"""mm-avg-checkpoints: write the mean of a run's last N checkpoints as a run of its own.

  mm-avg-checkpoints --output_dir=RUN --num_last=5 --to=RUN_AVG
  mm-decoder --output_dir=RUN_AVG ...        # and mm-eval, mm-export

The new folder holds the run's hparams.json, problems.json, gin config, vocab/ and one checkpoint,
numbered as the newest averaged, holding the mean of the model variables (matched by name).
"""

import os

from absl import flags

from t2t_mm import api
from t2t_mm.bin import common

common.define_registry_flags()
common.define_dir_flags()
common.define_gin_flags()
flags.DEFINE_integer("num_last", 5, "Average this many of the newest checkpoints.")
flags.DEFINE_string("to", None, "New folder for the averaged run (must not exist, or be empty).")

FLAGS = flags.FLAGS


def main() -> int:
  if common.handle_info_flags():
    return 0
  common.require_output_dir()
  prefixes = api.average_checkpoints(FLAGS.output_dir, FLAGS.to, FLAGS.num_last, FLAGS.gin_file,
                                     FLAGS.gin_param, usr_dir=FLAGS.usr_dir)
  print(f"Averaged {len(prefixes)} checkpoints ({', '.join(os.path.basename(p) for p in prefixes)}"
        f") into {FLAGS.to}.")
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
