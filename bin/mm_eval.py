"""mm-eval: evaluate a trained run on a whole dev or test split, with the field's metrics.

  mm-eval --output_dir=RUN --split=test --average_last=5 --decode_hparams='beam_size=4'
  mm-eval --output_dir=RUN --problems=wmt_ende_mini --checkpoint_path=RUN/checkpoints/ckpt-900
  mm-eval --output_dir=RUN --data_dir=DATA   # the data at a new place (default: the trainer's)

Per problem: sacreBLEU BLEU (with its signature) and chrF, WER / CER, top-1 / top-5, exact
match and labeled bracket F1, CIDEr-D against every caption of an image: those the problem
lists, plus log-perplexity and token accuracy against chance. Results go to
RUN/eval/<split>-step<N>[-avg<K>][-best].<digest>.json, hypotheses to
<same stem>.<problem>.txt beside it; the digest covers the problems, every decode hparam and
the checkpoints, so evaluations of other problems or settings never replace each other's files
(a rerun of the same one replaces its own). RUN/eval/index.json lists every evaluation with its
settings, checkpoints and time.
"""

import os

from absl import flags

from t2t_mm import errors
from t2t_mm.bin import common
from t2t_mm.decoding import loading
from t2t_mm.eval import full_split
from t2t_mm.eval import records
from t2t_mm.runs import averaging
from t2t_mm.runs import resolve

common.define_registry_flags()
common.define_dir_flags()
common.define_gin_flags()
flags.DEFINE_enum("split", "dev", ["dev", "test"], "The split to evaluate.")
flags.DEFINE_list("problems", None, "Trained problems to evaluate (comma list; default: all).")
flags.DEFINE_string("decode_hparams", "", "Search settings, e.g. 'beam_size=4,alpha=0.6'; "
                    "batch_size is the examples decoded together.")
flags.DEFINE_string("checkpoint_path", None, "Checkpoint to evaluate (default: the latest; "
                    "'best': the trainer's best checkpoint, see mm-trainer --best_metric).")
flags.DEFINE_integer("average_last", 0, "Evaluate the mean of the last N checkpoints' weights "
                     "(0: no averaging).")
flags.DEFINE_bool("progress", True, "Show progress bars.")

FLAGS = flags.FLAGS


def main() -> int:
  if common.handle_info_flags():
    return 0
  common.require_output_dir()
  dhp = resolve.resolve_decode_hparams(FLAGS.decode_hparams)
  if FLAGS.average_last and FLAGS.checkpoint_path:
    raise errors.ConfigError("Pass --checkpoint_path or --average_last, not both.")
  if FLAGS.average_last < 0:
    raise errors.ConfigError(f"--average_last must be >= 0, got {FLAGS.average_last}.")
  out_dir = os.path.join(FLAGS.output_dir, "eval")
  records.check_index(out_dir)  # A damaged index refuses now, not after the decoding.
  prefixes = (averaging.last_checkpoints(FLAGS.output_dir, FLAGS.average_last)
              if FLAGS.average_last else None)
  run = loading.open_run(FLAGS.output_dir, FLAGS.gin_file, FLAGS.gin_param,
                         checkpoint=prefixes[0] if prefixes else FLAGS.checkpoint_path,
                         data_dir=FLAGS.data_dir)
  names = FLAGS.problems or list(run.specs)
  for name in names:
    run.check_problem(name)
  full_split.check_data(run, names)  # Before averaging and tracing (minutes).
  if prefixes:
    averaging.average_into(run.model, prefixes)
  used = prefixes or [run.checkpoint]
  averaged = len(prefixes) if prefixes else 0
  name = records.evaluation_name(FLAGS.split, used, names, dhp, FLAGS.output_dir, averaged,
                                 best=FLAGS.checkpoint_path == "best")
  results = full_split.evaluate_run(run, FLAGS.split, names, dhp, out_dir, name, used,
                                    progress=FLAGS.progress)
  records.add_to_index(out_dir, records.index_entry(name, FLAGS.split, names, dhp, used,
                                                    averaged))
  print(full_split.table(results))
  print(f"\nWritten: {os.path.join(out_dir, name)}.json and one {name}.<problem>.txt per "
        f"problem, listed in {os.path.join(out_dir, records.INDEX_FILE)}.")
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
