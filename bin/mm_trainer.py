"""mm-trainer: train one model on one or many problems.

  mm-trainer --problems=all8_mini --hparams_set=multimodel_tiny \
      --data_dir=DATA --output_dir=RUN --train_steps=2000
"""

from absl import flags

from t2t_mm import api
from t2t_mm import errors
from t2t_mm.bin import common
from t2t_mm.training import distribution

common.define_registry_flags()
common.define_dir_flags()
common.define_hparams_flags()
common.define_gin_flags()
common.define_trainer_flags()  # --eval_every, --best_metric, ...: TrainerConfig's fields.
flags.DEFINE_string("problems", None, "Comma list of problems, suites (all8, all8_mini) or "
                    "globs. Optional when resuming an --output_dir.")
flags.DEFINE_alias("problem", "problems")
flags.DEFINE_integer("train_steps", 1000, "Train until the global step reaches this.")
flags.DEFINE_enum("distribution", "default", distribution.STRATEGIES, "tf.distribute strategy.")
flags.DEFINE_string("tpu", None, "The TPU to train on: 'local' on a Cloud TPU VM, a Cloud TPU "
                    "name, or grpc://HOST:8470; implies --distribution=tpu.")
flags.DEFINE_integer("cpu_devices", 1, "Split the CPU into this many logical devices (for "
                     "mirrored runs without GPUs).")
flags.DEFINE_integer("intra_op_threads", 0, "Threads each TensorFlow op may use; 0: chosen "
                     "(1 on a machine without a GPU, where a step's ops are small; TensorFlow's "
                     "default with a GPU).")
flags.DEFINE_integer("inter_op_threads", 0, "Ops TensorFlow runs side by side; 0: chosen (every "
                     "core without a GPU; TensorFlow's default with one).")
flags.DEFINE_bool("generate_data", False, "Generate missing data in --data_dir first.")

FLAGS = flags.FLAGS


def main() -> int:
  if common.handle_info_flags():
    return 0
  if FLAGS.tpu and FLAGS.distribution not in ("default", "tpu"):
    raise errors.ConfigError(f"--tpu={FLAGS.tpu} trains under TPUStrategy; drop "
                             f"--distribution={FLAGS.distribution}.")
  common.load_run_plugins(FLAGS.output_dir)  # Resuming without --usr_dir.
  api.train(
      usr_dir=FLAGS.usr_dir,
      problems=FLAGS.problems, hparams_set=FLAGS.hparams_set, hparams=FLAGS.hparams,
      data_dir=FLAGS.data_dir, output_dir=FLAGS.output_dir, tmp_dir=FLAGS.tmp_dir,
      train_steps=FLAGS.train_steps, gin_files=FLAGS.gin_file, gin_params=FLAGS.gin_param,
      distribution="tpu" if FLAGS.tpu else FLAGS.distribution,
      cpu_devices=FLAGS.cpu_devices, tpu=FLAGS.tpu, generate_data=FLAGS.generate_data,
      intra_op_threads=FLAGS.intra_op_threads, inter_op_threads=FLAGS.inter_op_threads,
      **common.trainer_settings())
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
