"""Measures what mm-experiment's default size rests on: multimodel_tiny's cost per problem.

Run as `python bench/experiment.py --data_dir=DATA [--steps=8]` on generated all8_mini data.
For each problem of the suite, one single-problem Trainer is built and timed:
  setup_s   building the model, datasets and optimizer (once per run)
  first_s   the first training step (tracing the step function)
  step_s    seconds per training step after that (median of `--steps`)
  eval_s    the first evaluation (eval_steps dev batches + greedy decoding of decode_examples;
            includes tracing the eval step and the decoding loop)
  eval2_s   a second evaluation (traced already): the cost of each later one
The last line is one JSON object {problem: {...}, "mean_<figure>": ...}. Defaults mirror
mm-experiment's (eval_steps 8, decode_examples 32).
Each figure is measured twice: wall seconds (`*_s`) and this process's CPU seconds (`*_cpu`).
On a shared machine the wall figures grow with the other load; the CPU seconds do not, and
bound a quiet machine's wall time from above (TensorFlow's threads run at once there).
"""

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _timed(fn):
  """(wall seconds, process CPU seconds) of fn()."""
  wall, cpu = time.perf_counter(), time.process_time()
  fn()
  return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--data_dir", required=True)
  parser.add_argument("--suite", default="all8_mini", help="Problems (suite, list or glob).")
  parser.add_argument("--hparams_set", default="multimodel_tiny")
  parser.add_argument("--steps", type=int, default=8)
  parser.add_argument("--eval_steps", type=int, default=8)
  parser.add_argument("--decode_examples", type=int, default=32)
  args = parser.parse_args()

  import tensorflow as tf
  from t2t_mm import registry
  from t2t_mm.training import trainer as trainer_lib

  hparams = registry.hparams(args.hparams_set)
  out = {}
  for name in registry.expand_problem_names(args.suite):
    tf.keras.backend.clear_session()
    config = trainer_lib.TrainerConfig(eval_every=0, eval_steps=args.eval_steps,
                                       decode_examples=args.decode_examples)
    made = []
    setup = _timed(lambda: made.append(trainer_lib.Trainer(
        [registry.problem(name)], hparams, args.data_dir,
        tempfile.mkdtemp(prefix="bench_exp_"), config=config)))
    trainer = made[0]
    step_fn, iterator = trainer._steps[name], trainer._iterators[name]
    first = _timed(lambda: float(step_fn(next(iterator))[0]))
    steps = [_timed(lambda: float(step_fn(next(iterator))[0])) for _ in range(args.steps)]
    eval1 = _timed(lambda: trainer.evaluator.evaluate(args.eval_steps))
    eval2 = _timed(lambda: trainer.evaluator.evaluate(args.eval_steps))
    out[name] = {}
    for key, (wall, cpu) in (("setup", setup), ("first", first), ("eval", eval1),
                             ("eval2", eval2)):
      out[name].update({f"{key}_s": round(wall, 2), f"{key}_cpu": round(cpu, 2)})
    out[name]["step_s"] = round(statistics.median(w for w, _ in steps), 4)
    out[name]["step_cpu"] = round(statistics.median(c for _, c in steps), 4)
    print(name, out[name], flush=True)
  problems = [v for v in out.values() if isinstance(v, dict)]
  for key in list(problems[0]):
    out[f"mean_{key}"] = round(statistics.mean(v[key] for v in problems), 4)
  print(json.dumps(out))


if __name__ == "__main__":
  main()
