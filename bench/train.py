"""Benchmark of the trainer's overhead and of MirroredStrategy on two logical CPU devices.

Run as `python bench/train.py [--problems=all8_mini] [--steps=400]`. Last line:
  trainer_overhead=<ratio> mirrored_2dev_vs_1=<ratio>
trainer_overhead: time per step of the full trainer with its default settings (input
  pipelines, mixture, progress, summaries every 50 steps, checkpoints every 200 and at the end
  of each train() call) over the same compiled steps on batches already in memory drawn from
  the same pipelines, in the same order of problems; 4 alternating rounds (target <= 1.10).
mirrored_2dev_vs_1: time per step of the full trainer under MirroredStrategy on two logical
  CPU devices over one device (a separate process each; the CPU split must precede TF start).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def _measure(args) -> dict:
  """Runs in a child process: {"trainer_s": per-step s, "bare_s": per-step s}."""
  # The tools' TensorFlow runtime defaults (BFC allocator), as mm-trainer runs.
  import t2t_mm.bin  # noqa: F401
  from t2t_mm.training import distribution
  strategy = distribution.make_strategy(args.distribution, cpu_devices=args.cpu_devices)
  from t2t_mm import registry
  from t2t_mm.training import trainer as trainer_lib

  names = registry.expand_problem_names(args.problems)
  problems = [registry.problem(n) for n in names]
  for p in problems:
    if not p.has_data(args.data_dir):
      p.generate_data(args.data_dir, os.path.join(args.data_dir, "tmp"))
  hparams = registry.hparams(args.hparams_set)
  output_dir = tempfile.mkdtemp(prefix="bench_train_")
  # The trainer's own defaults (checkpoint every 200 steps, summaries every 50), no evals.
  config = trainer_lib.TrainerConfig(eval_every=0)
  trainer = trainer_lib.Trainer(problems, hparams, args.data_dir, output_dir, strategy, config)
  trainer.evaluate = lambda: {}  # Timing covers training only.
  warmup = 3 * len(names)  # Traces every problem's step.
  trainer.train(warmup)
  # Rounds alternate the trainer and the bare loop so that drift in the machine's speed (a
  # shared VM) hits both alike; each side's time is summed over the rounds.
  # Each train() call also checkpoints at its last step: 4 checkpoints in `steps` trainer steps.
  rounds, per_round = 4, args.steps // 4
  trainer_total = bare_total = 0.0
  for _ in range(rounds):
    start = time.perf_counter()
    trainer.train(trainer.step + per_round)
    trainer_total += time.perf_counter() - start
    begin = trainer.step
    if args.distribution != "default":
      continue
    # The same compiled steps and problem order on batches already in memory, drawn from the
    # same pipelines (so with the same mix of bucketed lengths as the trainer saw).
    order = [trainer.sampler.problem_at(s) for s in range(begin, begin + per_round)]
    batches = [next(trainer._iterators[name]) for name in order]
    start = time.perf_counter()
    for name, batch in zip(order, batches):
      loss, _ = trainer._steps[name](batch)
      float(loss)  # The trainer also reads the loss every step.
    bare_total += time.perf_counter() - start
  result = {"trainer_s": trainer_total / (rounds * per_round)}
  if args.distribution == "default":
    result["bare_s"] = bare_total / (rounds * per_round)
  return result


def _child(args, distribution: str, cpu_devices: int) -> dict:
  cmd = [sys.executable, __file__, "--child", f"--problems={args.problems}",
         f"--hparams_set={args.hparams_set}", f"--data_dir={args.data_dir}",
         f"--steps={args.steps}", f"--distribution={distribution}",
         f"--cpu_devices={cpu_devices}"]
  out = subprocess.run(cmd, capture_output=True, text=True, check=False,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  if out.returncode:
    raise SystemExit(f"benchmark child failed:\n{out.stderr[-3000:]}")
  return json.loads(out.stdout.strip().splitlines()[-1])


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--problems", default="all8_mini")
  parser.add_argument("--hparams_set", default="multimodel_tiny")
  parser.add_argument("--data_dir", default=os.path.join(tempfile.gettempdir(), "bench_data"))
  parser.add_argument("--steps", type=int, default=400)
  parser.add_argument("--distribution", default="default")
  parser.add_argument("--cpu_devices", type=int, default=1)
  parser.add_argument("--child", action="store_true")
  args = parser.parse_args()
  if args.child:
    print(json.dumps(_measure(args)))
    return
  one = _child(args, "default", 1)
  two = _child(args, "mirrored", 2)
  print(f"one device: trainer {1000 * one['trainer_s']:.1f} ms/step, bare compiled step "
        f"{1000 * one['bare_s']:.1f} ms/step; mirrored on 2 logical CPUs: "
        f"{1000 * two['trainer_s']:.1f} ms/step ({args.steps} steps of {args.problems})")
  print(f"trainer_overhead={one['trainer_s'] / one['bare_s']:.3f} "
        f"mirrored_2dev_vs_1={two['trainer_s'] / one['trainer_s']:.3f}")


if __name__ == "__main__":
  main()
