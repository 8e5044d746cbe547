"""mm-experiment: the paper's joint vs single-task comparisons and ablations, in one command.

  mm-experiment --suite=all8_mini --steps=300 --seeds=3 --output_root=exp --data_dir=data

Trains each problem alone, all jointly, the small problem (parsing) with its partner (image
classification), and the joint model without MoE and without attention, at equal steps per
problem, once per seed (docs/experiments.md); evaluates each problem's best dev checkpoint of
every run on the whole test split; finished runs are skipped, interrupted ones resume. Prints
the tables (mean ± sd over seeds, paired bootstrap tests of each difference) and writes
results.md, results.json and curves.png into --output_root.
"""

import time

from absl import flags

from t2t_mm import errors
from t2t_mm.bin import common
from t2t_mm.config import paths
from t2t_mm.experiments import plan
from t2t_mm.experiments import report as report_lib
from t2t_mm.experiments import runner

_DEFAULTS = plan.ExperimentConfig()

common.define_registry_flags()
flags.DEFINE_string("suite", _DEFAULTS.suite, "Problems to compare (suite, list or glob).")
flags.DEFINE_integer("steps", _DEFAULTS.steps, "Training steps per problem; a run on K "
                     "problems trains K x steps (mixture=uniform).")
flags.DEFINE_string("output_root", None, "Folder of the runs (one subfolder each) and results.")
flags.DEFINE_string("data_dir", None, "Folder of generated data (made or checked first).")
flags.DEFINE_string("tmp_dir", paths.DEFAULT_TMP_DIR, "Folder of raw data for generation.")
flags.DEFINE_integer("small_train_examples", _DEFAULTS.small_train_examples,
                     "Training examples of --small_problem (parsing), bound with gin "
                     "(problems.<small_problem>.num_train_examples: its data is generated "
                     "with that many, deterministically); 0: the problem's default.")
flags.DEFINE_alias("parse_train_examples", "small_train_examples")
flags.DEFINE_string("small_problem", _DEFAULTS.small_problem, "The problem with little data.")
flags.DEFINE_string("partner_problem", _DEFAULTS.partner_problem,
                    "The problem the small one is paired with (Table 3).")
flags.DEFINE_string("hparams_set", _DEFAULTS.hparams_set, "Model of the runs.")
flags.DEFINE_string("no_moe_hparams_set", None, "Ablation without MoE (default "
                    "<hparams_set>_no_moe).")
flags.DEFINE_string("no_attention_hparams_set", None, "Ablation without attention (default "
                    "<hparams_set>_no_attention).")
flags.DEFINE_integer("warmup_steps", _DEFAULTS.warmup_steps, "Learning-rate warmup of every "
                     "run (well below --steps, so single-task runs reach the peak rate).")
flags.DEFINE_string("hparams", "", "Overrides for every run, e.g. 'batch_size=16' (not mixture).")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings for data and every run.")
flags.DEFINE_integer("num_evals", _DEFAULTS.num_evals, "Evaluations per run (eval curves).")
flags.DEFINE_integer("eval_steps", _DEFAULTS.eval_steps, "Dev batches per problem per eval.")
flags.DEFINE_integer("decode_examples", _DEFAULTS.decode_examples, "Dev examples per "
                     "problem decoded in each evaluation (BLEU, WER, exact match).")
flags.DEFINE_list("runs", [], "Only these configurations (every seed), e.g. joint,single_"
                  "parse_en_mini; 'table3': single_<small>, pair_<small>_<partner>, joint.")
flags.DEFINE_integer("seeds", _DEFAULTS.seeds, "Seeds per configuration (hparams seed "
                     f"{plan.SEED_BASE}, {plan.SEED_BASE + 1}, ...: initialization, data order, "
                     "mixture draws); tables show mean ± sd.")
flags.DEFINE_integer("early_stopping_patience", _DEFAULTS.early_stopping_patience,
                     "Stop a run after this many evaluations without a better dev "
                     "log-perplexity (0: never).")
flags.DEFINE_integer("bootstrap_samples", _DEFAULTS.bootstrap_samples, "Samples of the "
                     "paired bootstrap test of each difference.")
flags.DEFINE_enum("test_split", _DEFAULTS.test_split, ["test", "dev"], "Split the best "
                  "checkpoints are evaluated on (whole split).")
flags.DEFINE_bool("test_decode", _DEFAULTS.test_decode, "Decode the test split for BLEU, "
                  "WER, exact match (--notest_decode: log-perplexity and accuracy only).")
flags.DEFINE_bool("report_only", False, "Train nothing: write the tables of what has finished.")

FLAGS = flags.FLAGS


def main() -> int:
  if common.handle_info_flags():
    return 0
  config = plan.ExperimentConfig(
      suite=FLAGS.suite, steps=FLAGS.steps, hparams_set=FLAGS.hparams_set,
      no_moe_hparams_set=FLAGS.no_moe_hparams_set,
      no_attention_hparams_set=FLAGS.no_attention_hparams_set,
      small_problem=FLAGS.small_problem, partner_problem=FLAGS.partner_problem,
      small_train_examples=FLAGS.small_train_examples or None,
      warmup_steps=FLAGS.warmup_steps, hparams=FLAGS.hparams,
      gin_params=tuple(FLAGS.gin_param), num_evals=FLAGS.num_evals,
      eval_steps=FLAGS.eval_steps, decode_examples=FLAGS.decode_examples, seeds=FLAGS.seeds,
      early_stopping_patience=FLAGS.early_stopping_patience,
      bootstrap_samples=FLAGS.bootstrap_samples, test_split=FLAGS.test_split,
      test_decode=FLAGS.test_decode)
  if not FLAGS.output_root:
    raise errors.ConfigError("--output_root is required.")
  start = time.perf_counter()
  if not FLAGS.report_only:
    runner.run_experiment(config, FLAGS.output_root, FLAGS.data_dir, FLAGS.tmp_dir,
                          only=FLAGS.runs)
  else:
    plan.plan_runs(config)  # Bad settings: a clear error before the manifest is read.
    runner.check_manifest(FLAGS.output_root, config)
  paths = report_lib.report(config, FLAGS.output_root)
  print("\n" + paths.pop("text"))
  print("Written: " + ", ".join(paths.values()))
  print(f"mm-experiment took {(time.perf_counter() - start) / 60:.1f} min.")
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
