"""What a run leaves in output_dir besides checkpoints, for the decoder and for people.

  output_dir/
    hparams.json            the hparams (t2t_mm/runs/resolve.py)
    config.gin              gin bindings in force; operative_config.gin: the ones used
    problems.json           problems trained, their specs, the data_dir with their vocabularies,
                            the plugins (--usr_dir folders, entry points) they came from
    eval_results.json       latest per-problem metrics, plus the history of evaluations
    checkpoints/            model + optimizer (+ input iterators) every checkpoint_every steps
    train/, eval/           TensorBoard events: one tag per problem and metric
    eval/index.json         mm-eval's evaluations, each <split>-step<N>[...].<digest>.json with
                            its hypotheses <same stem>.<problem>.txt (t2t_mm/eval/records.py)
"""

import json
import os
from typing import Dict, List, Mapping

from t2t_mm import errors
from t2t_mm import plugins
from t2t_mm import registry
from t2t_mm.utils import atomic

PROBLEMS_FILE = "problems.json"
EVAL_FILE = "eval_results.json"


def write_run_files(output_dir: str, problems: Mapping, specs: Mapping, data_dir: str) -> None:
  """problems.json: the problems trained, their specs and the data_dir of their vocabularies."""
  entries = []
  for name in problems:
    entries.append({"name": name, "spec": specs[name].to_dict()})
  payload = {"data_dir": os.path.abspath(data_dir), "problems": entries,
             "plugins": plugins.loaded()}
  atomic.atomic_write_text(os.path.join(output_dir, PROBLEMS_FILE),
                           json.dumps(payload, indent=2) + "\n")


def read_run_problems(output_dir: str) -> Dict:
  """{"data_dir": ..., "problems": [{"name", "spec"}]} as the trainer wrote it."""
  path = os.path.join(output_dir, PROBLEMS_FILE)
  if not os.path.exists(path):
    raise errors.DataError(f"{path} is missing: is {output_dir} the output_dir of mm-trainer?")
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def load_run_plugins(output_dir: str) -> List[str]:
  """Imports the plugins a run was trained with (problems.json); returns the folders imported.

  Only folders outside the run are imported: code that travels inside a run folder is data and
  never runs. A plugin that is gone is an error naming it and the flag that replaces it.
  """
  path = os.path.join(output_dir, PROBLEMS_FILE)
  if not os.path.exists(path):
    return []
  record = read_run_problems(output_dir).get("plugins") or {}
  run_root = os.path.realpath(output_dir)
  imported = []
  for usr_dir in record.get("usr_dirs", []):
    real = os.path.realpath(usr_dir)
    if real == run_root or real.startswith(run_root + os.sep):
      raise errors.ConfigError(
          f"{path} names the plugin folder {usr_dir}, which is inside the run folder: code "
          f"that comes with a run is not imported. If you trust it, pass --usr_dir={usr_dir}.")
    if not os.path.isfile(os.path.join(usr_dir, "__init__.py")):
      raise errors.ConfigError(
          f"The run {output_dir} was trained with the plugin --usr_dir={usr_dir}, which holds "
          f"no plugin now (no {os.path.join(usr_dir, '__init__.py')}). Pass --usr_dir=FOLDER "
          "with the folder where its problems and hparams sets are now.")
    plugins.import_usr_dir(usr_dir)
    imported.append(usr_dir)
  registry.load_builtins()  # Loads the installed entry points.
  installed = {e["module"] for e in plugins.installed_entry_points()}
  for e in record.get("entry_points", []):
    if e["module"] not in installed:
      raise errors.ConfigError(
          f"The run {output_dir} was trained with the plugin module {e['module']} (entry "
          f"point '{e['name']}' of the package {e['package'] or '?'}), which is not installed "
          f"now: install that package (`pip install {e['package'] or '...'}`), or pass "
          "--usr_dir=FOLDER holding its problems.")
  return imported


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
    own = ", ".join(f"{k} {m[k]:.3f}" for k in ("accuracy", "top5", "bleu", "chrf", "wer", "cer",
                                                 "exact_match", "bracket_f1", "cider_d")
                    if k in m)
    rows.append(f"| {name} | {m['log_perplexity']:.3f} | {m['token_accuracy']:.3f} | "
                f"{chance:.3f} | {own} |")
  return "\n".join(rows)
