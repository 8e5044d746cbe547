"""mm-decoder: decode with a trained model, interactively or from a file.

  mm-decoder --output_dir=RUN --decode_interactive
  mm-decoder --output_dir=RUN --decode_from_file=in.txt --decode_to_file=out.txt
"""

from absl import flags

from t2t_mm import errors
from t2t_mm.bin import common
from t2t_mm.config import gin_config
from t2t_mm.config import resolve

common.define_registry_flags()
common.define_dir_flags()
common.define_hparams_flags()
common.define_gin_flags()
flags.DEFINE_string("problem", None, "Problem to decode; default: the first one trained.")
flags.DEFINE_string("decode_hparams", "", "Search settings, e.g. 'beam_size=4,alpha=0.6'.")
flags.DEFINE_bool("decode_interactive", False, "Read inputs from stdin, one per line.")
flags.DEFINE_string("decode_from_file", None, "Decode every line of this file.")
flags.DEFINE_string("decode_to_file", None, "Write decodes here (default: beside the input).")

FLAGS = flags.FLAGS


def main() -> int:
  if common.handle_info_flags():
    return 0
  if not FLAGS.output_dir:
    raise errors.ConfigError("--output_dir is required: the folder the trainer wrote.")
  resolve.resolve_hparams(FLAGS.hparams_set, FLAGS.hparams, FLAGS.output_dir)
  resolve.resolve_decode_hparams(FLAGS.decode_hparams)
  gin_config.setup(FLAGS.output_dir, FLAGS.gin_file, FLAGS.gin_param)
  raise errors.NotBuiltError("decoding is not built yet (issue #6).")


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
