"""What a run leaves in output_dir besides checkpoints, for the decoder and for people.

  output_dir/
    hparams.json            the hparams (t2t_mm/runs/resolve.py)
    config.gin              gin bindings in force; operative_config.gin: the ones used
    problems.json           problems trained, their specs, the data_dir with their vocabularies
    eval_results.json       latest per-problem metrics, plus the history of evaluations
    checkpoints/            model + optimizer (+ input iterators) every checkpoint_every steps
    train/, eval/           TensorBoard events: one tag per problem and metric
"""

import json
import os
from typing import Dict, Mapping

from t2t_mm import errors
from t2t_mm.utils import atomic

PROBLEMS_FILE = "problems.json"
EVAL_FILE = "eval_results.json"


def write_run_files(output_dir: str, problems: Mapping, specs: Mapping, data_dir: str) -> None:
  """problems.json: the problems trained, their specs and the data_dir of their vocabularies."""
  entries = []
  for name in problems:
    entries.append({"name": name, "spec": specs[name].to_dict()})
  payload = {"data_dir": os.path.abspath(data_dir), "problems": entries}
  atomic.atomic_write_text(os.path.join(output_dir, PROBLEMS_FILE),
                           json.dumps(payload, indent=2) + "\n")


def read_run_problems(output_dir: str) -> Dict:
  """{"data_dir": ..., "problems": [{"name", "spec"}]} as the trainer wrote it."""
  path = os.path.join(output_dir, PROBLEMS_FILE)
  if not os.path.exists(path):
    raise errors.DataError(f"{path} is missing: is {output_dir} the output_dir of mm-trainer?")
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def write_eval_results(output_dir: str, step: int, results: Mapping, samples: Mapping) -> None:
  path = os.path.join(output_dir, EVAL_FILE)
  history = []
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      history = [h for h in json.load(f).get("history", []) if h["step"] < step]
  history.append({"step": step, "problems": dict(results)})
  payload = {"step": step, "problems": dict(results),
             "samples": {k: [{"ref": r, "hyp": h} for r, h in v] for k, v in samples.items()},
             "history": history}
  atomic.atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")



def results_table(results: Mapping[str, Mapping[str, float]]) -> str:
  """A Markdown table: per problem, loss, token accuracy vs chance, and its own metrics."""
  rows = ["| problem | log-ppl | token acc | chance | metrics |", "|---|---|---|---|---|"]
  for name, m in sorted(results.items()):
    if name.startswith("_") or not m:
      continue
    chance = m.get("chance_accuracy", m.get("chance_token_accuracy", float("nan")))
    own = ", ".join(f"{k} {m[k]:.3f}" for k in ("accuracy", "top5", "bleu", "wer", "cer",
                                                 "exact_match") if k in m)
    rows.append(f"| {name} | {m['log_perplexity']:.3f} | {m['token_accuracy']:.3f} | "
                f"{chance:.3f} | {own} |")
  return "\n".join(rows)
