"""Measures what mm-experiment's default size rests on: multimodel_tiny's cost per problem.

Run as `python bench/experiment.py --data_dir=DATA [--steps=8]` on generated all8_mini data.
For each problem of the suite, one single-problem Trainer is built and timed:
  setup_s   building the model, datasets and optimizer (once per run)
  first_s   the first training step (tracing the step function)
  step_s    seconds per training step after that (median of `--steps`)
  eval_s    the first evaluation (eval_steps dev batches + greedy decoding of decode_examples;
            includes tracing the eval step and the decoding loop)
  eval2_s   a second evaluation (traced already): the cost of each later one
The last line is one JSON object {problem: {...}, "mean_step_s": ..., "mean_first_s": ...,
"mean_eval_s": ..., "mean_eval2_s": ...}. Defaults mirror mm-experiment's (eval_steps 8,
decode_examples 32).
The machine may be shared: the figures are upper bounds of a quiet machine's.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--data_dir", required=True)
  parser.add_argument("--suite", default="all8_mini", help="Problems (suite, list or glob).")
  parser.add_argument("--hparams_set", default="multimodel_tiny")
  parser.add_argument("--steps", type=int, default=8)
  parser.add_argument("--eval_steps", type=int, default=8)
  parser.add_argument("--decode_examples", type=int, default=32)
  args = parser.parse_args()

  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from t2t_mm import registry  # pylint: disable=g-import-not-at-top
  from t2t_mm.training import trainer as trainer_lib  # pylint: disable=g-import-not-at-top

  hparams = registry.hparams(args.hparams_set)
  out = {}
  for name in registry.expand_problem_names(args.suite):
    tf.keras.backend.clear_session()
    start = time.perf_counter()
    config = trainer_lib.TrainerConfig(eval_every=0, eval_steps=args.eval_steps,
                                       decode_examples=args.decode_examples)
    trainer = trainer_lib.Trainer([registry.problem(name)], hparams, args.data_dir,
                                  tempfile.mkdtemp(prefix="bench_exp_"), config=config)
    setup_s = time.perf_counter() - start
    # pylint: disable-next=protected-access
    step_fn, iterator = trainer._steps[name], trainer._iterators[name]
    start = time.perf_counter()
    float(step_fn(next(iterator))[0])
    first_s = time.perf_counter() - start
    times = []
    for _ in range(args.steps):
      start = time.perf_counter()
      float(step_fn(next(iterator))[0])
      times.append(time.perf_counter() - start)
    start = time.perf_counter()
    trainer.evaluator.evaluate(args.eval_steps)
    eval_s = time.perf_counter() - start
    start = time.perf_counter()
    trainer.evaluator.evaluate(args.eval_steps)
    eval2_s = time.perf_counter() - start
    out[name] = {"setup_s": round(setup_s, 2), "first_s": round(first_s, 2),
                 "step_s": round(statistics.median(times), 4), "eval_s": round(eval_s, 2),
                 "eval2_s": round(eval2_s, 2)}
    print(name, out[name], flush=True)
  out["mean_step_s"] = round(statistics.mean(
      v["step_s"] for v in out.values() if isinstance(v, dict)), 4)
  for key in ("first_s", "eval_s", "eval2_s"):
    out[f"mean_{key}"] = round(statistics.mean(
        v[key] for v in out.values() if isinstance(v, dict)), 2)
  print(json.dumps(out))


if __name__ == "__main__":
  main()
