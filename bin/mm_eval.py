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

from t2t_mm import api
from t2t_mm.bin import common
from t2t_mm.runs import outputs
from t2t_mm.eval import records

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
  evaluation = api.evaluate(
      output_dir=FLAGS.output_dir, split=FLAGS.split, problems=FLAGS.problems,
      decode_hparams=FLAGS.decode_hparams, checkpoint_path=FLAGS.checkpoint_path,
      average_last=FLAGS.average_last, data_dir=FLAGS.data_dir, gin_files=FLAGS.gin_file,
      gin_params=FLAGS.gin_param, progress=FLAGS.progress, usr_dir=FLAGS.usr_dir)
  print(outputs.results_table({n: r["metrics"] for n, r in evaluation.results.items()},
                              {n: r["examples"] for n, r in evaluation.results.items()}))
  index = os.path.join(os.path.dirname(evaluation.path), records.INDEX_FILE)
  name = os.path.basename(evaluation.path)
  print(f"\nWritten: {evaluation.path}.json and one {name}.<problem>.txt per problem, listed in "
        f"{index}.")
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
