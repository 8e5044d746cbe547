"""Generating the data of several problems: what mm-datagen calls.

    generate(["all8_mini"], data_dir, tmp_dir)          # suites, globs and lists expand

Problems that share data (X and X_rev) are generated once. A problem whose raw data is missing
is reported with its instructions and the others still run; the call then raises DataError
naming every failed problem (mm-datagen exits non-zero).
"""

import sys
import time
from typing import Dict, List, Optional, Sequence, TextIO

from t2t_mm import errors
from t2t_mm import registry


def _progress_bar(total: int, desc: str, out: TextIO, enabled: bool):
  if not enabled:
    return None
  import tqdm  # pylint: disable=g-import-not-at-top
  return tqdm.tqdm(total=total, desc=desc, unit="ex", file=out, leave=True, mininterval=0.5,
                   dynamic_ncols=False, ncols=100)


def generate(names: Sequence[str], data_dir: str, tmp_dir: str, max_cases: Optional[int] = None,
             progress: bool = True, out: TextIO = sys.stderr) -> Dict[str, float]:
  """Generates shards and vocabs for `names` (problems, suites, globs); returns seconds each."""
  expanded: List[str] = []
  for name in names:
    expanded += [n for n in registry.expand_problem_names(name) if n not in expanded]
  seen, timings, failures = set(), {}, []
  for name in expanded:
    problem = registry.problem(name)
    if problem.data_name in seen:
      continue
    seen.add(problem.data_name)
    start = time.time()
    try:
      problem.check_raw_data(tmp_dir)
      total = problem.total_examples(tmp_dir, max_cases)
      bar = _progress_bar(total, problem.data_name, out, progress)
      problem.generate_data(data_dir, tmp_dir, max_cases=max_cases,
                            on_example=(lambda _split: bar.update(1)) if bar else None)
      if bar:
        bar.close()
    except errors.DataError as e:
      failures.append(f"{problem.data_name}: {e}")
      print(f"{problem.data_name}: FAILED: {e}", file=out)
      continue
    timings[problem.data_name] = time.time() - start
    print(f"{problem.data_name}: done in {timings[problem.data_name]:.1f} s", file=out)
  if failures:
    raise errors.DataError(f"{len(failures)} of {len(seen)} problems failed:\n  " +
                           "\n  ".join(failures))
  return timings
