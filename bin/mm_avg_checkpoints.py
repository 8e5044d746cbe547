"""mm-avg-checkpoints: write the mean of a run's last N checkpoints as a run of its own.

  mm-avg-checkpoints --output_dir=RUN --num_last=5 --to=RUN_AVG
  mm-decoder --output_dir=RUN_AVG ...        # and mm-eval, mm-export

The new folder holds the run's hparams.json, problems.json, gin config, vocab/ and one checkpoint,
numbered as the newest averaged, holding the mean of the model variables (matched by name).
"""

import os
import re
import shutil

from absl import flags

from t2t_mm import errors
from t2t_mm.bin import common
from t2t_mm.decoding import loading
from t2t_mm.runs import averaging
from t2t_mm.runs import checkpoints
from t2t_mm.runs import outputs
from t2t_mm.runs import run_vocab

common.define_registry_flags()
common.define_dir_flags()
common.define_gin_flags()
flags.DEFINE_integer("num_last", 5, "Average this many of the newest checkpoints.")
flags.DEFINE_string("to", None, "New folder for the averaged run (must not exist, or be empty).")

FLAGS = flags.FLAGS
RUN_FILES = ("hparams.json", outputs.PROBLEMS_FILE, "config.gin", "operative_config.gin")


def main() -> int:
  if common.handle_info_flags():
    return 0
  common.require_output_dir()
  if not FLAGS.to:
    raise errors.ConfigError("--to is required: the folder to write the averaged run to.")
  outputs.check_output_path(FLAGS.output_dir, FLAGS.to, "--to")
  if os.path.exists(FLAGS.to) and (not os.path.isdir(FLAGS.to) or os.listdir(FLAGS.to)):
    raise errors.ConfigError(f"--to={FLAGS.to} exists and is not an empty folder; nothing "
                             "was written.")
  prefixes = averaging.last_checkpoints(FLAGS.output_dir, FLAGS.num_last)
  run = loading.open_run(FLAGS.output_dir, FLAGS.gin_file, FLAGS.gin_param,
                         checkpoint=prefixes[0])
  averaging.average_into(run.model, prefixes)
  tmp = FLAGS.to.rstrip(os.sep) + ".partial"
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(tmp)
  for name in RUN_FILES:
    if os.path.isfile(os.path.join(FLAGS.output_dir, name)):
      shutil.copy2(os.path.join(FLAGS.output_dir, name), tmp)
  vocab = os.path.join(FLAGS.output_dir, run_vocab.VOCAB_DIR)
  if os.path.isdir(vocab):
    shutil.copytree(vocab, os.path.join(tmp, run_vocab.VOCAB_DIR))
  step = int(re.search(r"ckpt-(\d+)$", prefixes[0]).group(1))
  averaging.save_model(run.model, os.path.join(tmp, checkpoints.CHECKPOINT_DIR), step)
  if os.path.isdir(FLAGS.to):
    os.rmdir(FLAGS.to)
  os.replace(tmp, FLAGS.to)  # The new run appears whole or not at all.
  print(f"Averaged {len(prefixes)} checkpoints ({', '.join(os.path.basename(p) for p in prefixes)}"
        f") into {FLAGS.to}.")
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
