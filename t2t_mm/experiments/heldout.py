"""Each problem's best dev checkpoint of a run, evaluated on the whole test split (mm-eval's code).

    steps = best_steps(run_dir, ["parse_en_mini"])    # {"parse_en_mini": 400}
    results = evaluate_best(run_dir, ["parse_en_mini"], split="test", decode=True)
    # run_dir/experiment_test.json: per problem its best step, checkpoint, dev log-perplexity
    #   there, the test split's metrics and per-example statistics (for the bootstrap test)

The best step of a problem is the evaluation in the run's eval_results.json history with the
lowest dev log-perplexity of that problem (the earliest on a tie): for a single-task run that
is the trainer's --best_metric=<problem>/log_perplexity choice (checkpoints/best/), for a
joint run each problem gets its own. The experiment keeps a checkpoint at every evaluation
(plan.gin_bindings), so every candidate is on disk.
"""

import json
import os
from typing import Dict, Optional, Sequence

from t2t_mm import errors
from t2t_mm.runs import checkpoints
from t2t_mm.runs import outputs
from t2t_mm.utils import atomic, fs

TEST_FILE = "experiment_test.json"  # In each run's output_dir.
METRIC = "log_perplexity"  # What "best" means: the problem's dev log-perplexity.


def best_steps(output_dir: str, problems: Sequence[str]) -> Dict[str, Dict[str, float]]:
  """{problem: {"step", "dev_log_perplexity"}} of the lowest dev log-perplexity per problem."""
  history = outputs.read_eval_results(output_dir).get("history", [])
  out = {}
  for problem in problems:
    best = None
    for entry in history:
      value = entry.get("problems", {}).get(problem, {}).get(METRIC)
      if value is not None and (best is None or value < best[1]):
        best = (int(entry["step"]), float(value))
    if best is None:
      raise errors.DataError(f"{output_dir}/{outputs.EVAL_FILE} has no dev {METRIC} of "
                             f"'{problem}': train the run (with eval_every > 0) first.")
    out[problem] = {"step": best[0], "dev_log_perplexity": best[1]}
  return out


def checkpoint_at(output_dir: str, step: int) -> str:
  prefix = os.path.join(output_dir, checkpoints.CHECKPOINT_DIR, f"ckpt-{step}")
  if not fs.isfile(prefix + ".index"):
    raise errors.DataError(f"{prefix} is missing: the experiment keeps a checkpoint at every "
                           "evaluation; retrain this run (delete its folder) to test it.")
  return prefix


def load(output_dir: str) -> Optional[Dict]:
  path = os.path.join(output_dir, TEST_FILE)
  if not fs.exists(path):
    return None
  with fs.open(path, encoding="utf-8") as f:
    return json.load(f)


def evaluate_best(output_dir: str, problems: Sequence[str], split: str = "test",
                  decode: bool = True, dhp=None) -> Dict:
  """Evaluates each problem at its best checkpoint on `split` (dhp: DecodeHParams, default
  greedy); writes output_dir/TEST_FILE."""
  # Loaded here: TensorFlow and the model code are not needed to plan or to report.
  import keras
  from t2t_mm.config.hparams import DecodeHParams
  from t2t_mm.decoding import loading
  from t2t_mm.eval import full_split
  best = best_steps(output_dir, problems)
  by_step: Dict[int, list] = {}
  for problem, b in best.items():
    by_step.setdefault(b["step"], []).append(problem)
  dhp = dhp or DecodeHParams()
  results = {}
  for step, names in sorted(by_step.items()):  # One model load per distinct checkpoint.
    prefix = checkpoint_at(output_dir, step)
    keras.backend.clear_session()
    run = loading.open_run(output_dir, checkpoint=prefix)
    full_split.check_data(run, names)
    for name in names:
      r = full_split.evaluate_problem(run, name, split, dhp, progress=False, per_example=True,
                                      decode=decode)
      results[name] = dict(best[name], checkpoint=os.path.relpath(prefix, output_dir),
                           metrics=r["metrics"], examples=r["examples"],
                           per_example=r["per_example"])
  payload = {"split": split, "decode": decode, "metric": METRIC,
             "problems": {p: results[p] for p in problems}}
  atomic.atomic_write_text(os.path.join(output_dir, TEST_FILE),
                           json.dumps(payload, sort_keys=True) + "\n")
  return payload
