"""Generating the data of several problems: what mm-datagen calls.

    generate(["all8_mini"], data_dir, tmp_dir, num_workers=2)   # suites, globs, lists expand

Per problem: check its raw data, build its vocab files, plan its shards; then the shards of all
problems are written, by `num_workers` processes when > 1 (each shard is an independent task,
so large problems spread over the workers too). Problems that share data (X and X_rev) are
generated once. Then the lengths of each problem's train examples are measured
(t2t_mm/data/lengths.py), saved beside its shards for the trainer's warning, and reported
against `length_limits` (a DataConfig) when given. A problem whose raw data is missing is
reported with its instructions, the others still run, and the call then raises DataError naming
every failed problem.
"""

import collections
import concurrent.futures
import multiprocessing
import sys
import time
from typing import Dict, List, Optional, Sequence, TextIO

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data import lengths
from t2t_mm.data import shards

_worker_problems: Dict[str, object] = {}


def _worker_init(gin_config: str) -> None:
  import gin
  registry.load_builtins()
  gin.parse_config(gin_config)


def _worker_write(name: str, data_dir: str, tmp_dir: str, task) -> int:
  if name not in _worker_problems:
    _worker_problems[name] = registry.problem(name)
  return _worker_problems[name].write_shard(data_dir, tmp_dir, task)


def _bar(total: int, desc: str, out: TextIO, enabled: bool):
  if not enabled:
    return None
  import tqdm
  return tqdm.tqdm(total=total, desc=desc, unit="ex", file=out, mininterval=0.5, ncols=100)


def _say(message: str, bar, out: TextIO) -> None:
  """Prints a line without breaking a progress bar."""
  if bar is not None:
    bar.write(message, file=out)
  else:
    print(message, file=out, flush=True)


def generate(names: Sequence[str], data_dir: str, tmp_dir: str, max_cases: Optional[int] = None,
             progress: bool = True, out: TextIO = sys.stderr,
             num_workers: int = 1,
             parallel_min_examples: int = 20_000,
             length_limits=None, length_limits_name: str = "") -> Dict[str, float]:
  """Generates shards and vocabs for `names` (problems, suites, globs); returns seconds each.

  Shards are written by `num_workers` processes when at least `parallel_min_examples`
  examples are left to write, else in this process. `length_limits` (a DataConfig, named
  `length_limits_name` in the report) are the length limits the report checks.
  """
  if max_cases is not None and max_cases < 1:
    raise errors.ConfigError(f"max_cases (--max_cases) must be >= 1, or left out for every "
                             f"example; got {max_cases}.")
  if num_workers < 1:
    raise errors.ConfigError(f"num_workers (--num_workers) must be >= 1, got {num_workers}.")
  expanded: List[str] = []
  for name in names:
    expanded += [n for n in registry.expand_problem_names(name) if n not in expanded]
  problems, failures = {}, []
  for name in expanded:
    p = registry.problem(name)
    problems.setdefault(p.data_name, p)
  start = time.time()
  plans = {}
  for data_name, p in problems.items():
    try:
      p.check_raw_data(tmp_dir)
      p.build_vocabs(data_dir, tmp_dir)
      plans[data_name] = p.plan(data_dir, tmp_dir, max_cases)
    except errors.DataError as e:
      failures.append(f"{data_name}: {e}")
      print(f"{data_name}: FAILED: {e}", file=out, flush=True)
  def unfinished(t):
    return not shards.is_finished(
        shards.shard_path(data_dir, t.name, t.split, t.index, t.num_shards), t.key)

  pending = sum(t.range[1] - t.range[0] for tasks in plans.values() for t in tasks
                if unfinished(t))
  rewritten = {name for name, tasks in plans.items() if any(unfinished(t) for t in tasks)}
  # Each worker process starts TensorFlow (seconds): worth it only for enough work.
  if num_workers > 1 and pending >= parallel_min_examples:
    timings = _write_parallel(problems, plans, data_dir, tmp_dir, num_workers, out, failures,
                              start, progress)
  else:
    timings = _write_serial(problems, plans, data_dir, tmp_dir, out, failures, progress)
  for data_name in timings:
    _report_lengths(problems[data_name], data_dir, data_name in rewritten, out, length_limits,
                    length_limits_name)
  if failures:
    raise errors.DataError(f"{len(failures)} of {len(problems)} problems failed:\n  " +
                           "\n  ".join(failures))
  return timings


def _report_lengths(problem, data_dir, rewritten, out, length_limits,
                    length_limits_name) -> None:
  """Measures (or, when no shard was rewritten, reloads) the lengths and prints the report."""
  if not hasattr(problem, "examples_dataset"):
    return  # A problem with its own reading (tests' in-memory ones) has no shards to measure.
  stats = None if rewritten else lengths.load(problem, data_dir)
  if stats is None:
    stats = lengths.measure(problem, data_dir)
    lengths.save(problem, data_dir, stats)
  if stats and length_limits is not None:
    print(f"{problem.data_name}: lengths\n" +
          lengths.report(problem, data_dir, stats, length_limits, length_limits_name),
          file=out, flush=True)


def _write_serial(problems, plans, data_dir, tmp_dir, out, failures, progress):
  timings = {}
  for data_name, tasks in plans.items():
    start = time.time()
    bar = _bar(sum(t.range[1] - t.range[0] for t in tasks), data_name, out, progress)
    try:
      for task in tasks:
        problems[data_name].write_shard(data_dir, tmp_dir, task,
                                        (lambda: bar.update(1)) if bar else None)
    except errors.DataError as e:
      failures.append(f"{data_name}: {e}")
      print(f"{data_name}: FAILED: {e}", file=out, flush=True)
      continue
    finally:
      if bar:
        bar.close()
    timings[data_name] = time.time() - start
    print(f"{data_name}: done in {timings[data_name]:.1f} s", file=out, flush=True)
  return timings


def _write_parallel(problems, plans, data_dir, tmp_dir, num_workers, out, failures, start,
                    progress):
  import gin
  jobs = [(name, t) for name, tasks in plans.items() for t in tasks]
  jobs.sort(key=lambda j: j[1].range[0] - j[1].range[1])  # Largest shards first.
  left = collections.Counter(name for name, _ in jobs)
  bar = _bar(sum(t.range[1] - t.range[0] for _, t in jobs), "all problems", out, progress)
  timings = {}
  ctx = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe.
  with concurrent.futures.ProcessPoolExecutor(num_workers, mp_context=ctx,
                                              initializer=_worker_init,
                                              initargs=(gin.config_str(),)) as pool:
    futures = {pool.submit(_worker_write, problems[name].name, data_dir, tmp_dir, t): (name, t)
               for name, t in jobs}
    for future in concurrent.futures.as_completed(futures):
      name, task = futures[future]
      try:
        future.result()
      except errors.DataError as e:
        if left[name] > 0:
          failures.append(f"{name}: {e}")
          _say(f"{name}: FAILED: {e}", bar, out)
          left[name] = -1
        continue
      if bar:
        bar.update(task.range[1] - task.range[0])
      if left[name] > 0:
        left[name] -= 1
        if left[name] == 0:
          timings[name] = time.time() - start
          _say(f"{name}: done after {timings[name]:.1f} s", bar, out)
  if bar:
    bar.close()
  return timings
