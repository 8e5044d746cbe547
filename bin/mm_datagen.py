"""mm-datagen: generate TFRecord shards and vocabularies for problems.

  mm-datagen --problem=all8_mini --data_dir=DATA --tmp_dir=RAW
"""

import os
import time

from absl import flags

from t2t_mm import api
from t2t_mm.bin import common

common.define_registry_flags()
common.define_dir_flags()
common.define_gin_flags()
flags.DEFINE_string("problem", None, "Comma list of problems, suites (all8, all8_mini) or globs.")
flags.DEFINE_alias("problems", "problem")
flags.DEFINE_integer("max_cases", None, "Generate at most this many examples per split.")
flags.DEFINE_bool("progress", True, "Show progress bars.")
# Each worker starts TensorFlow; on 2 shared cores, 2 workers measured no faster than 1.
flags.DEFINE_integer("num_workers", max(1, min(4, (os.cpu_count() or 1) // 2)),
                     "Processes writing shards in parallel when there is enough work (see "
                     "--parallel_min_examples); 1 writes them in this process.")
flags.DEFINE_string("hparams_set", "multimodel_tiny", "The hparams set whose length limits "
                    "(max_input_length, max_target_length) the length report checks.")
flags.DEFINE_string("hparams", "", "Overrides of that set's hparams, e.g. "
                    "'max_target_length=128'.")
flags.DEFINE_integer("parallel_min_examples", 20_000,
                     "Use --num_workers processes only when this many examples are left.")

FLAGS = flags.FLAGS


def main() -> int:
  if common.handle_info_flags():
    return 0
  start = time.time()
  timings = api.datagen(problem=FLAGS.problem, data_dir=FLAGS.data_dir, tmp_dir=FLAGS.tmp_dir,
                        max_cases=FLAGS.max_cases, hparams_set=FLAGS.hparams_set,
                        hparams=FLAGS.hparams, gin_files=FLAGS.gin_file,
                        gin_params=FLAGS.gin_param, progress=FLAGS.progress,
                        num_workers=FLAGS.num_workers,
                        parallel_min_examples=FLAGS.parallel_min_examples)
  print(f"Generated {len(timings)} problems in {time.time() - start:.1f} s into "
        f"{FLAGS.data_dir}.")
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
