"""mm-decoder: decode with a trained model, interactively or from a file.

  mm-decoder --output_dir=RUN --decode_interactive
  mm-decoder --output_dir=RUN --decode_from_file=in.txt --decode_to_file=out.txt \
      --decode_hparams='beam_size=4,return_beams=true'
  mm-decoder --output_dir=RUN --score_file=pairs.tsv      # log P(target | input) per line
"""

import sys

from absl import flags

from t2t_mm import errors
from t2t_mm.bin import common
from t2t_mm.config import input_limits
from t2t_mm.runs import outputs
from t2t_mm.runs import resolve
from t2t_mm.decoding import file_decode
from t2t_mm.decoding import loading
from t2t_mm.decoding import scoring
from t2t_mm.decoding import session as session_lib
from t2t_mm.decoding import threads

common.define_registry_flags()
common.define_dir_flags()
common.define_hparams_flags()
common.define_gin_flags()
common.define_input_limits_flag()
flags.DEFINE_string("problem", None, "Problem to decode; default: the first one trained.")
flags.DEFINE_string("decode_hparams", "", "Search settings, e.g. 'beam_size=4,alpha=0.6'.")
flags.DEFINE_bool("decode_interactive", False, "Read inputs from stdin, one per line.")
flags.DEFINE_string("decode_from_file", None, "Decode every line of this file.")
flags.DEFINE_string("decode_to_file", None, "Write decodes here (default: the input path + "
                    "'.decoded').")
flags.DEFINE_string("score_file", None, "Score every `input<TAB>target` line of this file: "
                    "writes `log_prob<TAB>per_token_log_prob` per line to --decode_to_file "
                    "(default: the input path + '.scores').")
flags.DEFINE_string("checkpoint_path", None, "Checkpoint to restore (default: the latest in "
                    "output_dir/checkpoints; 'best': the trainer's best checkpoint).")
flags.DEFINE_integer("threads", 0, "CPU threads; 0: by measurement, 1 for one input at a time "
                     "(interactive, batch_size=1), every core for batches.")

FLAGS = flags.FLAGS


def main() -> int:
  if common.handle_info_flags():
    return 0
  common.require_output_dir()
  modes = [FLAGS.decode_interactive, bool(FLAGS.decode_from_file), bool(FLAGS.score_file)]
  if sum(modes) != 1:
    raise errors.ConfigError("Pass exactly one of --decode_interactive, --decode_from_file and "
                             "--score_file.")
  if FLAGS.hparams_set:
    resolve.resolve_hparams(FLAGS.hparams_set, FLAGS.hparams, FLAGS.output_dir)  # Checks it.
  dhp = resolve.resolve_decode_hparams(FLAGS.decode_hparams)
  limits = input_limits.resolve(FLAGS.input_limits)
  out_path = None
  in_path = FLAGS.decode_from_file or FLAGS.score_file
  if in_path:  # Checked before the model is loaded.
    out_path = FLAGS.decode_to_file or in_path + (".decoded" if FLAGS.decode_from_file
                                                  else ".scores")
    file_decode.check_paths(in_path, out_path, "--decode_from_file" if FLAGS.decode_from_file
                            else "--score_file")
    outputs.check_output_path(FLAGS.output_dir, out_path, "--decode_to_file", [in_path])
  threads.configure(threads.decode_threads(
      1 if FLAGS.decode_interactive else dhp.batch_size, FLAGS.threads))
  run = loading.open_run(FLAGS.output_dir, FLAGS.gin_file, FLAGS.gin_param, FLAGS.hparams,
                         FLAGS.checkpoint_path)
  session = session_lib.DecodeSession(run, dhp, FLAGS.problem, limits)
  if FLAGS.decode_interactive:
    session_lib.interactive_loop(session, sys.stdin.buffer, sys.stdout)
    return 0
  if FLAGS.score_file:
    n = scoring.score_file(session, FLAGS.score_file, out_path)
    print(f"Scored {n} lines of {FLAGS.score_file} into {out_path}.", file=sys.stderr)
    return 0
  n = file_decode.decode_file(session, FLAGS.decode_from_file, out_path)
  print(f"Decoded {n} lines of {FLAGS.decode_from_file} into {out_path}.", file=sys.stderr)
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
