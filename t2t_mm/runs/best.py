"""The best checkpoint of a run by a chosen dev metric, and early stopping.

    keeper = BestKeeper(output_dir, "wmt_ende_mini/bleu", patience=3, known={...})
    keeper.update(step, eval_results, save)   # save() writes checkpoints/best/ckpt-<step>
    keeper.should_stop                        # `patience` evaluations without improvement

The metric is "PROBLEM/METRIC" or "mean/METRIC" (the mean over the problems that report it).
Lower is better for loss, log_perplexity, wer and cer; higher for the others. The state (metric,
best value and step, evaluations since) is kept in output_dir/best_checkpoint.json, so a
resumed run goes on comparing against the best so far; `--checkpoint_path=best` of mm-decoder
and mm-eval reads the checkpoint it names.
"""

import json
import math
import os
from typing import Callable, Dict, Mapping, Optional, Set

from t2t_mm import errors
from t2t_mm.runs import checkpoints
from t2t_mm.utils import atomic, fs

BEST_DIR = os.path.join(checkpoints.CHECKPOINT_DIR, "best")
STATE_FILE = "best_checkpoint.json"
LOWER_IS_BETTER = ("loss", "log_perplexity", "wer", "cer")
MEAN = "mean"


def parse_metric(metric: str, known: Mapping[str, Set[str]]):
  """(problem or None for the mean, metric name); ConfigError naming what is known."""
  problem, _, name = metric.partition("/")
  if not name:
    raise errors.ConfigError(f"--best_metric={metric}: expected PROBLEM/METRIC or "
                             f"{MEAN}/METRIC, e.g. {next(iter(known), 'wmt_ende')}/bleu.")
  if problem != MEAN and problem not in known:
    raise errors.ConfigError(f"--best_metric={metric}: '{problem}' is not a trained problem."
                             f"{errors.did_you_mean(problem, known)} Problems: "
                             f"{', '.join(sorted(known))}, or '{MEAN}'.")
  names = known[problem] if problem != MEAN else set().union(*known.values())
  if name not in names:
    raise errors.ConfigError(f"--best_metric={metric}: '{name}' is not a dev metric of "
                             f"{problem}.{errors.did_you_mean(name, names)} Metrics: "
                             f"{', '.join(sorted(names))}.")
  return (None if problem == MEAN else problem), name


class BestKeeper:
  """Tracks the best value of a dev metric; see the module docstring.

  Args:
    output_dir: the run folder.
    metric: "PROBLEM/METRIC" or "mean/METRIC".
    patience: stop after this many evaluations without improvement (0: never stop).
    known: per problem, the metrics its evaluations report (to check `metric` early).
  """

  def __init__(self, output_dir: str, metric: str, patience: int,
               known: Mapping[str, Set[str]]):
    self.output_dir, self.metric, self.patience = output_dir, metric, patience
    self.problem, self.name = parse_metric(metric, known)
    self.lower_is_better = self.name in LOWER_IS_BETTER
    self.state: Dict[str, object] = {"metric": metric, "value": None, "step": None,
                                     "checkpoint": None, "evals_without_improvement": 0}
    saved = load_state(output_dir)
    if saved and saved.get("metric") == metric:  # Resumed: compare with the best so far.
      self.state.update(saved)

  def value(self, results: Mapping[str, Mapping[str, float]]) -> Optional[float]:
    if self.problem is not None:
      return results.get(self.problem, {}).get(self.name)
    values = [r[self.name] for k, r in results.items()
              if not k.startswith("_") and isinstance(r, Mapping) and self.name in r]
    return sum(values) / len(values) if values else None

  def update(self, step: int, results, save: Callable[[int], str]) -> bool:
    """Compares this evaluation with the best; saves and records it if better."""
    value = self.value(results)
    best = self.state["value"]
    better = value is not None and math.isfinite(value) and (
        best is None or (value < best if self.lower_is_better else value > best))
    if better:
      self.state.update(value=float(value), step=int(step), checkpoint=save(step),
                        evals_without_improvement=0)
    else:
      self.state["evals_without_improvement"] = int(self.state["evals_without_improvement"]) + 1
    self.state["patience"] = self.patience
    atomic.atomic_write_text(os.path.join(self.output_dir, STATE_FILE),
                             json.dumps(self.state, indent=2, sort_keys=True) + "\n")
    return better

  @property
  def should_stop(self) -> bool:
    return bool(self.patience) and int(self.state["evals_without_improvement"]) >= self.patience


def load_state(output_dir: str) -> Optional[dict]:
  path = os.path.join(output_dir, STATE_FILE)
  if not fs.isfile(path):
    return None
  try:
    with fs.open(path, encoding="utf-8") as f:
      return json.load(f)
  except ValueError as e:
    raise errors.DataError(f"{path} is not valid JSON ({e}); delete it to start the best "
                           "checkpoint afresh.") from e


def best_checkpoint(output_dir: str) -> str:
  """The prefix of the run's best checkpoint (for --checkpoint_path=best)."""
  state = load_state(output_dir)
  prefix = state.get("checkpoint") if state else None
  if not prefix or not fs.isfile(os.path.join(output_dir, prefix) + ".index"):
    raise errors.DataError(
        f"{output_dir} has no best checkpoint: train with --best_metric=PROBLEM/METRIC (and "
        "eval_every > 0) to keep one.")
  return os.path.join(output_dir, prefix)
