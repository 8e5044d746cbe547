"""Benchmark of the trainer's overhead and of MirroredStrategy on two logical CPU devices.

Run as `python bench/train.py [--problems=all8_mini] [--steps=400]`. Last line:
  trainer_overhead=<ratio> trainer_overhead_k8=<ratio> mirrored_2dev_vs_1=<ratio>
trainer_overhead: time per step of the full trainer with its default settings (input
  pipelines, mixture, progress, summaries every 50 steps, checkpoints every 200 and at the end
  of each train() call) over the same compiled steps on batches already in memory drawn from
  the same pipelines, in the same order of problems; 4 alternating rounds (target <= 1.10).
  trainer_overhead_k8: the same with hparam steps_per_call=8 (8 steps per host call).
mirrored_2dev_vs_1: time per step of the full trainer under MirroredStrategy on two logical
  CPU devices over one device (a separate process each; the CPU split must precede TF start).
Then, on wmt_ende_mini alone, fixed batches (batch_size examples, bucketed by the longer of
input and target) against token batches (hparam batch_tokens, set to the mean positions of the
fixed batches, so both steps hold about as many positions; bucketed by input and by target
length): the padding fraction of inputs and targets, the distinct batch shapes drawn, and
target tokens/s of the compiled step on batches drawn from each pipeline, in 4 alternating
rounds. The last line goes on with
  token_vs_fixed_tokens_per_s=<ratio> padding_fixed=<f> padding_tokens=<f>
  shapes_fixed=<n> shapes_tokens=<n> xla_vs_graph_train=<ratio>
xla_vs_graph_train: target tokens/s of the compiled steps with hparam jit_compile over the
graph executor's (its default), on the same batches of the problems in the mixture's order
(--xla_steps of them, cycling through the first --xla_distinct drawn, so that XLA compiles at
most that many batch shapes: all8_mini's mixture draws a new shape nearly every batch, and
compiling each took over 20 CPU-minutes), after a pass that compiles them; 2 alternating rounds.
--parts picks what runs (default all); the last line then holds only those figures.
"""

import argparse
import json
import os
import tempfile
import time

import child  # bench/child.py


def _measure(args) -> dict:
  """Runs in a child process: {"trainer_s": per-step s, "bare_s": per-step s}."""
  # The tools' TensorFlow runtime defaults (BFC allocator) and thread pools, as mm-trainer runs.
  import t2t_mm.bin  # noqa: F401
  from t2t_mm.training import distribution
  from t2t_mm.training import threads
  threads.configure(*threads.train_threads())
  strategy = distribution.make_strategy(args.distribution, cpu_devices=args.cpu_devices)
  from t2t_mm import registry
  from t2t_mm.training import trainer as trainer_lib

  names = registry.expand_problem_names(args.problems)
  problems = [registry.problem(n) for n in names]
  for p in problems:
    if not p.has_data(args.data_dir):
      p.generate_data(args.data_dir, os.path.join(args.data_dir, "tmp"))
  hparams = registry.hparams(args.hparams_set).replace(steps_per_call=args.steps_per_call)
  output_dir = tempfile.mkdtemp(prefix="bench_train_")
  # The trainer's own defaults (checkpoint every 200 steps, summaries every 50), no evals.
  config = trainer_lib.TrainerConfig(eval_every=0)
  trainer = trainer_lib.Trainer(problems, hparams, args.data_dir, output_dir, strategy, config)
  trainer.evaluate = lambda: {}  # Timing covers training only.
  warmup = 3 * len(names)  # Traces every problem's step.
  trainer.train(warmup)
  # With steps_per_call > 1 the trainer ran blocks, so the single steps the bare loop calls are
  # not traced yet: trace them here, not inside the timed bare loop.
  trainer._start_iterators(trainer.step)
  for name in names:
    float(trainer._steps[name](next(trainer._iterators[name]))[0])
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


def _positions(batch) -> tuple:
  """(non-padding input + target tokens, target tokens, positions) of a batch."""
  import numpy as np
  inputs, targets = batch["inputs"].numpy(), batch["targets"].numpy()
  real_targets = int(np.sum(targets != 0))
  return (int(np.sum(inputs != 0)) + real_targets, real_targets,
          inputs.size + targets.size)


def _token_batches(args) -> dict:
  """Runs in a child process: fixed vs token batches on wmt_ende_mini."""
  import t2t_mm.bin  # noqa: F401
  from t2t_mm.training import threads
  threads.configure(*threads.train_threads())  # mm-trainer's pools.
  from t2t_mm import registry
  from t2t_mm.training import trainer as trainer_lib

  problem = registry.problem("wmt_ende_mini")
  if not problem.has_data(args.data_dir):
    problem.generate_data(args.data_dir, os.path.join(args.data_dir, "tmp"))
  hparams = registry.hparams(args.hparams_set)
  config = trainer_lib.TrainerConfig(eval_every=0)

  def make(hp):
    trainer = trainer_lib.Trainer([problem], hp, args.data_dir, tempfile.mkdtemp(), None, config)
    trainer._start_iterators(0)
    return trainer

  fixed = make(hparams)
  sample = [next(fixed._iterators[problem.name]) for _ in range(50)]
  mean_positions = sum(max(b["inputs"].shape[1], b["targets"].shape[1]) * b["targets"].shape[0]
                       for b in sample) / len(sample)
  trainers = {"fixed": fixed,
              "tokens": make(hparams.replace(batch_tokens=int(round(mean_positions))))}
  # A Trainer seeds TensorFlow (tf.random.set_seed), which clears the eager kernel cache and
  # with it tensorflow-text's kernel-owned SentencePiece resource: the first trainer's input
  # pipelines would fail ("Resource ..._0_SentencepieceOp ... does not exist", STACK.md).
  fixed._iterators = None
  fixed._datasets = {problem.name: fixed._distributed_dataset(problem.name)}
  fixed._start_iterators(0)
  totals = {k: {"seconds": 0.0, "real": 0, "targets": 0, "positions": 0, "steps": 0}
            for k in trainers}
  shapes = {k: set() for k in trainers}
  per_round = max(args.steps // 8, 10)
  for kind, trainer in trainers.items():  # Traces the step.
    trainer._steps[problem.name](next(trainer._iterators[problem.name]))
  for _ in range(4):
    for kind, trainer in trainers.items():
      batches = [next(trainer._iterators[problem.name]) for _ in range(per_round)]
      start = time.perf_counter()
      for batch in batches:
        loss, _ = trainer._steps[problem.name](batch)
        float(loss)
      totals[kind]["seconds"] += time.perf_counter() - start
      for batch in batches:
        real, targets, positions = _positions(batch)
        totals[kind]["real"] += real
        totals[kind]["targets"] += targets
        totals[kind]["positions"] += positions
        shapes[kind].add((tuple(batch["inputs"].shape), tuple(batch["targets"].shape)))
      totals[kind]["steps"] += per_round
  return {"batch_tokens": int(round(mean_positions)), "batch_size": hparams.batch_size,
          **{kind: {"padding": 1 - t["real"] / t["positions"], "shapes": len(shapes[kind]),
                    "target_tokens_per_s": t["targets"] / t["seconds"],
                    "ms_per_step": 1000 * t["seconds"] / t["steps"]}
             for kind, t in totals.items()}}


def _xla_vs_graph(args) -> dict:
  """Runs in a child process: target tokens/s of the XLA step over the graph step."""
  import t2t_mm.bin  # noqa: F401
  from t2t_mm.training import threads
  threads.configure(*threads.train_threads())  # mm-trainer's pools.
  from t2t_mm import registry
  from t2t_mm.training import trainer as trainer_lib

  problems = [registry.problem(n) for n in registry.expand_problem_names(args.problems)]
  for p in problems:
    if not p.has_data(args.data_dir):
      p.generate_data(args.data_dir, os.path.join(args.data_dir, "tmp"))
  hparams = registry.hparams(args.hparams_set)
  config = trainer_lib.TrainerConfig(eval_every=0)
  trainers = {kind: trainer_lib.Trainer(problems, hparams.replace(jit_compile=kind == "xla"),
                                        args.data_dir, tempfile.mkdtemp(), None, config)
              for kind in ("graph", "xla")}
  graph = trainers["graph"]
  # The second Trainer's seeding dropped the first's SentencePiece resources (see
  # _token_batches): its pipelines are made again before batches are drawn from them.
  graph._datasets = {name: graph._distributed_dataset(name) for name in graph.problems}
  graph._start_iterators(0)
  drawn = [graph.sampler.problem_at(s) for s in range(min(args.xla_distinct, args.xla_steps))]
  drawn_batches = [next(graph._iterators[name]) for name in drawn]
  order = [drawn[i % len(drawn)] for i in range(args.xla_steps)]
  batches = [drawn_batches[i % len(drawn)] for i in range(args.xla_steps)]
  targets = sum(int((b["targets"].numpy() != 0).sum()) for b in batches)
  seconds = {kind: 0.0 for kind in trainers}
  for r in range(3):  # Round 0 compiles (XLA: every batch shape) and is not timed.
    for kind, trainer in trainers.items():
      start = time.perf_counter()
      for name, batch in zip(order, batches):
        float(trainer._steps[name](batch)[0])
      if r:
        seconds[kind] += time.perf_counter() - start
  return {kind: targets * 2 / sec for kind, sec in seconds.items()}


def _child(args, distribution: str, cpu_devices: int, mode: str = "",
           steps_per_call: int = 1) -> dict:
  flags = ["--child", f"--problems={args.problems}", f"--hparams_set={args.hparams_set}",
           f"--data_dir={args.data_dir}", f"--steps={args.steps}",
           f"--distribution={distribution}", f"--cpu_devices={cpu_devices}",
           f"--xla_steps={args.xla_steps}", f"--xla_distinct={args.xla_distinct}",
           f"--steps_per_call={steps_per_call}"]
  return child.run_json(__file__, flags + ([f"--mode={mode}"] if mode else []),
                        f"child {distribution} {mode}")


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--problems", default="all8_mini")
  parser.add_argument("--hparams_set", default="multimodel_tiny")
  parser.add_argument("--data_dir", default=os.path.join(tempfile.gettempdir(), "bench_data"))
  parser.add_argument("--steps", type=int, default=400)
  parser.add_argument("--distribution", default="default")
  parser.add_argument("--cpu_devices", type=int, default=1)
  parser.add_argument("--steps_per_call", type=int, default=1)
  parser.add_argument("--child", action="store_true")
  parser.add_argument("--xla_steps", type=int, default=48)
  parser.add_argument("--xla_distinct", type=int, default=8)
  parser.add_argument("--parts", default="trainer,k8,mirrored,tokens,xla",
                      help="Comma-separated subset of: trainer,k8,mirrored,tokens,xla.")
  parser.add_argument("--mode", default="trainer", choices=["trainer", "token_batches", "xla"])
  args = parser.parse_args()
  if args.child:
    print(json.dumps({"trainer": _measure, "token_batches": _token_batches,
                      "xla": _xla_vs_graph}[args.mode](args)))
    return
  parts = set(args.parts.split(","))
  unknown = parts - {"trainer", "k8", "mirrored", "tokens", "xla"}
  if unknown:
    parser.error(f"--parts: unknown {sorted(unknown)}; expected trainer,k8,mirrored,tokens,xla")
  figures = []
  if parts & {"trainer", "k8", "mirrored"}:
    one = _child(args, "default", 1)
    line = (f"one device: trainer {1000 * one['trainer_s']:.1f} ms/step, bare compiled step "
            f"{1000 * one['bare_s']:.1f} ms/step")
    figures.append(f"trainer_overhead={one['trainer_s'] / one['bare_s']:.3f}")
    if "k8" in parts:
      k8 = _child(args, "default", 1, steps_per_call=8)
      line += (f"; steps_per_call=8: trainer {1000 * k8['trainer_s']:.1f} ms/step, bare "
               f"{1000 * k8['bare_s']:.1f} ms/step")
      figures.append(f"trainer_overhead_k8={k8['trainer_s'] / k8['bare_s']:.3f}")
      print(f"trainer_overhead_k8={k8['trainer_s'] / k8['bare_s']:.3f}", flush=True)
    if "mirrored" in parts:
      two = _child(args, "mirrored", 2)
      line += f"; mirrored on 2 logical CPUs: {1000 * two['trainer_s']:.1f} ms/step"
      figures.append(f"mirrored_2dev_vs_1={two['trainer_s'] / one['trainer_s']:.3f}")
    print(f"{line} ({args.steps} steps of {args.problems})", flush=True)
  if "tokens" in parts:
    tok = _child(args, "default", 1, mode="token_batches")
    print(f"wmt_ende_mini, {args.hparams_set}: fixed batches of {tok['batch_size']} examples "
          f"vs token batches of {tok['batch_tokens']} positions (the fixed batches' mean):")
    for kind in ("fixed", "tokens"):
      print(f"  {kind:6s}: padding {tok[kind]['padding']:.1%} of input + target positions, "
            f"{tok[kind]['target_tokens_per_s']:,.0f} target tokens/s, "
            f"{tok[kind]['ms_per_step']:.1f} ms/step, {tok[kind]['shapes']} batch shapes",
            flush=True)
    figures += [
        "token_vs_fixed_tokens_per_s="
        f"{tok['tokens']['target_tokens_per_s'] / tok['fixed']['target_tokens_per_s']:.3f}",
        f"padding_fixed={tok['fixed']['padding']:.3f}",
        f"padding_tokens={tok['tokens']['padding']:.3f}",
        f"shapes_fixed={tok['fixed']['shapes']}", f"shapes_tokens={tok['tokens']['shapes']}"]
  if "xla" in parts:
    xla = _child(args, "default", 1, mode="xla")
    print(f"{args.problems}, {args.hparams_set}, {args.xla_steps} batches "
          f"({args.xla_distinct} distinct): graph executor {xla['graph']:,.0f} target "
          f"tokens/s, XLA (jit_compile) {xla['xla']:,.0f}", flush=True)
    figures.append(f"xla_vs_graph_train={xla['xla'] / xla['graph']:.3f}")
  print(" ".join(figures))


if __name__ == "__main__":
  main()
