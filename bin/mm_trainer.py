"""mm-trainer: train one model on one or many problems.

  mm-trainer --problems=all8_mini --hparams_set=multimodel_tiny \
      --data_dir=DATA --output_dir=RUN --train_steps=2000
"""

from absl import flags

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.bin import common
from t2t_mm.config import gin_config
from t2t_mm.config import resolve

common.define_registry_flags()
common.define_dir_flags()
common.define_hparams_flags()
common.define_gin_flags()
flags.DEFINE_string("problems", None, "Comma list of problems, suites (all8, all8_mini) or globs.")
flags.DEFINE_alias("problem", "problems")
flags.DEFINE_integer("train_steps", 1000, "Train until the global step reaches this.")
flags.DEFINE_integer("eval_steps", 20, "Batches per problem in each evaluation.")

FLAGS = flags.FLAGS


def main() -> int:
  if common.handle_info_flags():
    return 0
  if not FLAGS.problems:
    raise errors.ConfigError("--problems is required, e.g. --problems=all8_mini.")
  registry.expand_problem_names(FLAGS.problems)
  resolve.resolve_hparams(FLAGS.hparams_set, FLAGS.hparams, FLAGS.output_dir)
  gin_config.setup(FLAGS.output_dir, FLAGS.gin_file, FLAGS.gin_param)
  raise errors.NotBuiltError("training is not built yet (issue #5); the problems and hparams "
                             "given are valid.")


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
