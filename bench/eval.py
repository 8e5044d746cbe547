"""Speed of mm-eval on the all8_mini dev splits, greedy and beam 4: python bench/eval.py.

    python bench/eval.py [--run=RUN] [--data_dir=DIR] [--train_steps=300] [--beam_sizes=1,4]

Without --run it generates all8_mini (if DIR lacks it) and trains multimodel_tiny for
--train_steps steps in a temporary folder, so decodes end on EOS as a trained model's do.
Per beam size, each problem's whole dev split is evaluated by full_split.evaluate_problem,
exactly as mm-eval does (input pipeline, decode, teacher-forced scoring, detokenization,
metrics), and the bare model work is timed on the same batches held in memory:
  bare decode:  the decoder's search alone;
  bare model:   search + the teacher-forced scoring pass (both are model work mm-eval needs).
One untimed evaluation first compiles every shape; then two rounds alternate eval and bare
(a shared machine drifts; both sides see the drift alike). The last line is
  eval_examples_per_s=<n> eval_overhead=<ratio> eval_over_decode=<ratio>
eval_examples_per_s: dev examples over eval seconds, all problems and beam sizes together;
eval_overhead: eval time over the bare model time of the same batches, so what it adds is the
  time outside the model: input reading, detokenization, metrics (target <= 1.15);
eval_over_decode: eval time over the bare search alone (the teacher-forced pass that gives
  log-perplexity and top-5 counted as overhead too).
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _train(data_dir: str, steps: int) -> str:
  from t2t_mm import registry
  from t2t_mm.training import job as job_lib
  for name in registry.expand_problem_names("all8_mini"):
    problem = registry.problem(name)
    if not problem.has_data(data_dir):
      problem.generate_data(data_dir, os.path.join(data_dir, "raw"))
  output_dir = tempfile.mkdtemp(prefix="bench_eval_run_")
  job_lib.train_run(job_lib.TrainOptions(
      problems="all8_mini", hparams_set="multimodel_tiny", data_dir=data_dir,
      output_dir=output_dir, train_steps=steps, trainer={"eval_every": 0, "eval_steps": 1}),
      stream=open(os.devnull, "w"))
  return output_dir


def _bare(run, name, batches, dhp, compiled_search, stats_fn):
  """(search seconds, scoring seconds) over `batches` already in memory."""
  search = scoring = 0.0
  for features in batches:
    start = time.perf_counter()
    stats = stats_fn(features)
    [float(x) for x in stats]  # Waits for the result, as evaluate_problem does.
    middle = time.perf_counter()
    compiled_search.decode(features, name, dhp)
    end = time.perf_counter()
    scoring, search = scoring + middle - start, search + end - middle
  return search, scoring


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--run", default="", help="A trained run folder (default: train one).")
  parser.add_argument("--data_dir", default=os.path.join(tempfile.gettempdir(),
                                                         "t2t_mm_bench_data"))
  parser.add_argument("--train_steps", type=int, default=300)
  parser.add_argument("--beam_sizes", default="1,4")
  parser.add_argument("--rounds", type=int, default=2)
  args = parser.parse_args(argv)

  import t2t_mm.bin  # noqa: F401  (the tools' TensorFlow runtime defaults, as mm-eval runs)
  from t2t_mm.config.hparams import DecodeHParams
  from t2t_mm.decoding import loading
  from t2t_mm.eval import full_split
  from t2t_mm.search import compiled as compiled_lib
  from t2t_mm.training import evaluation

  run_dir = args.run or _train(args.data_dir, args.train_steps)
  run = loading.open_run(run_dir)
  compiled_search = compiled_lib.CompiledSearch(run.model)
  totals = {"eval": 0.0, "search": 0.0, "scoring": 0.0, "examples": 0}
  print(f"mm-eval on the dev splits of {run_dir} ({len(run.specs)} problems); seconds summed "
        f"over {args.rounds} rounds:")
  print("| problem | beam | examples | eval s | bare decode s | bare model s | eval/model |")
  print("|---|---|---|---|---|---|---|")
  for beam in [int(b) for b in args.beam_sizes.split(",")]:
    dhp = DecodeHParams(beam_size=beam)
    for name in run.specs:
      problem, spec = run.problems[name], run.specs[name]
      config = full_split.eval_config(run.hparams, dhp)
      ds = evaluation.batches(problem, "dev", run.data_dir, config, order="length")
      count = problem.num_examples("dev", run.data_dir)
      batches = [{k: b[k] for k in evaluation.MODEL_KEYS} for b in ds]
      stats_fn = evaluation.stats_fn(run.model, spec, evaluation.model_spec(ds))
      full_split.evaluate_problem(run, name, "dev", dhp, compiled_search, progress=False)
      _bare(run, name, batches, dhp, compiled_search, stats_fn)  # Compiles every shape.
      eval_s = search_s = scoring_s = 0.0
      for _ in range(args.rounds):
        start = time.perf_counter()
        result = full_split.evaluate_problem(run, name, "dev", dhp, compiled_search,
                                             progress=False)
        eval_s += time.perf_counter() - start
        search, scoring = _bare(run, name, batches, dhp, compiled_search, stats_fn)
        search_s, scoring_s = search_s + search, scoring_s + scoring
      if result["examples"] != count:
        raise RuntimeError(f"{name}: evaluated {result['examples']} of {count} examples.")
      totals["eval"] += eval_s
      totals["search"] += search_s
      totals["scoring"] += scoring_s
      totals["examples"] += count * args.rounds
      print(f"| {name} | {beam} | {count} | {eval_s:.2f} | {search_s:.2f} | "
            f"{search_s + scoring_s:.2f} | {eval_s / (search_s + scoring_s):.3f} |", flush=True)
  model_s = totals["search"] + totals["scoring"]
  print(f"\nAll problems and beams: eval {totals['eval']:.1f} s, bare decode "
        f"{totals['search']:.1f} s, teacher-forced scoring {totals['scoring']:.1f} s; "
        f"eval over bare model {totals['eval'] / model_s:.3f}, time outside the model "
        f"{max(totals['eval'] - model_s, 0.0) / totals['eval']:.1%}.")
  print(f"eval_examples_per_s={totals['examples'] / totals['eval']:.1f} "
        f"eval_overhead={totals['eval'] / model_s:.3f} "
        f"eval_over_decode={totals['eval'] / totals['search']:.3f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
