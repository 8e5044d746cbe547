"""What a run leaves in output_dir besides checkpoints, for the decoder and for people.

  output_dir/
    hparams.json            the hparams (t2t_mm/runs/resolve.py)
    config.gin              gin bindings in force; operative_config.gin: the ones used
    problems.json           problems trained, their specs, their vocabulary files (each with
                            its sha256), the data_dir (only a default for training and
                            evaluation), the plugins (--usr_dir folders, entry points)
    vocab/                  the run's copy of each vocabulary file (t2t_mm/runs/run_vocab.py)
    eval_results.json       latest per-problem metrics, plus the history of evaluations
    checkpoints/            model + optimizer (+ input iterators) every checkpoint_every steps
    train/, eval/           TensorBoard events: one tag per problem and metric
    eval/index.json         mm-eval's evaluations, each <split>-step<N>[...].<digest>.json with
                            its hypotheses <same stem>.<problem>.txt (t2t_mm/eval/records.py)
"""

import json
import os
from typing import Dict, List, Mapping, Optional

from t2t_mm import errors
from t2t_mm import metrics
from t2t_mm import plugins
from t2t_mm import registry
from t2t_mm.runs import run_vocab
from t2t_mm.utils import atomic, fs, markdown

PROBLEMS_FILE = "problems.json"
EVAL_FILE = "eval_results.json"
# What the trainer and the other tools keep in a run folder: no tool writes an output there.
RUN_ENTRIES = ("hparams.json", "config.gin", "operative_config.gin", PROBLEMS_FILE, EVAL_FILE,
               "trainer.lock", "warm_start.json", "checkpoints", "train", "eval",
               run_vocab.VOCAB_DIR)


def check_output_path(output_dir: str, path: str, flag: str, inputs=()) -> None:
  """Raises ConfigError, before any work, if the output `path` of `flag` would overwrite the
  run folder, one of its files (RUN_ENTRIES, or inside one) or one of the `inputs` read."""
  target = fs.realpath(path)
  run = fs.realpath(output_dir)
  if target == run:
    raise errors.ConfigError(f"{flag}={path} is the run folder itself; write elsewhere.")
  for entry in RUN_ENTRIES:
    owned = os.path.join(run, entry)
    if target == owned or target.startswith(owned + os.sep):
      raise errors.ConfigError(f"{flag}={path} would overwrite the run's own {owned}; write "
                               "elsewhere.")
  for given in inputs:
    if given and fs.realpath(given) == target:
      raise errors.ConfigError(f"{flag}={path} is also the input it reads; write elsewhere.")


def write_run_files(output_dir: str, problems: Mapping, specs: Mapping, data_dir: str) -> None:
  """output_dir/vocab (copies of the problems' vocabulary files) and problems.json: the
  problems trained, their specs, those files' digests, data_dir and the plugins."""
  entries = []
  for name in problems:
    entries.append({"name": name, "spec": specs[name].to_dict()})
  vocab_files = run_vocab.copy_into_run(output_dir, problems.values(), data_dir)
  payload = {"data_dir": fs.abspath(data_dir), "problems": entries,
             "vocab_files": vocab_files, "plugins": plugins.loaded()}
  atomic.atomic_write_text(os.path.join(output_dir, PROBLEMS_FILE),
                           json.dumps(payload, indent=2) + "\n")


def _load_json(path: str, advice: str):
  """The JSON value of `path`; a DataError naming it, with `advice`, if it cannot be read."""
  try:
    with fs.open(path, encoding="utf-8") as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise errors.DataError(f"{path} is unreadable ({e}); {advice}") from e


def read_run_problems(output_dir: str) -> Dict:
  """{"data_dir": ..., "problems": [{"name", "spec"}], "plugins": ...} as the trainer wrote it;
  a DataError naming the file if it is missing or not what the trainer writes."""
  path = os.path.join(output_dir, PROBLEMS_FILE)
  if not fs.exists(path):
    raise errors.DataError(f"{path} is missing: is {output_dir} the output_dir of mm-trainer?")
  saved = _load_json(path, "it is not the problems.json mm-trainer writes.")
  if (not isinstance(saved, dict) or not isinstance(saved.get("problems"), list)
      or not all(isinstance(p, dict) and isinstance(p.get("name"), str)
                 and isinstance(p.get("spec"), dict) for p in saved["problems"])
      or not isinstance(saved.get("data_dir", ""), str)
      or not isinstance(saved.get("vocab_files", {}), dict)
      or not all(isinstance(k, str) and isinstance(v, str)
                 for k, v in saved.get("vocab_files", {}).items())
      or not isinstance(saved.get("plugins", {}), dict)):
    raise errors.DataError(f"{path}: expected " + '{"data_dir": str, "problems": [{"name", '
                           '"spec"}, ...], "vocab_files": {name: sha256}, "plugins": {...}} as '
                           'mm-trainer writes it.')
  return saved


def load_run_plugins(output_dir: str) -> List[str]:
  """Imports the plugins a run was trained with (problems.json); returns the folders imported.

  A run folder never runs code by itself (t2t_mm/plugins.py): a recorded folder is imported
  only if it is an absolute path outside the run (both compared with symlinks resolved) that
  this user has trusted, unchanged, with --usr_dir. A plugin that is gone is an error naming it
  and the flag that replaces it.
  """
  path = os.path.join(output_dir, PROBLEMS_FILE)
  if not fs.exists(path):
    return []
  record = read_run_problems(output_dir).get("plugins") or {}
  usr_dirs = record.get("usr_dirs", [])
  if not isinstance(usr_dirs, list) or not all(isinstance(d, str) for d in usr_dirs):
    raise errors.DataError(f"{path}: plugins.usr_dirs must be a list of folder paths.")
  run_root = fs.realpath(output_dir)
  who = f"The run {output_dir} ({path}) names"
  imported = []
  for usr_dir in usr_dirs:
    if not os.path.isabs(usr_dir):
      raise errors.ConfigError(
          f"{who} the plugin folder {usr_dir!r} by a relative path, which is never imported (it "
          "would depend on where you stand). If you trust that code, pass --usr_dir=FOLDER.")
    real = os.path.realpath(usr_dir)
    if real == run_root or real.startswith(run_root + os.sep):
      raise errors.ConfigError(
          f"{who} the plugin folder {usr_dir}, which is inside the run folder: code "
          f"that comes with a run is not imported. If you trust it, pass --usr_dir={usr_dir}.")
    if not fs.isfile(os.path.join(real, "__init__.py")):
      raise errors.ConfigError(
          f"The run {output_dir} was trained with the plugin --usr_dir={usr_dir}, which holds "
          f"no plugin now (no {os.path.join(usr_dir, '__init__.py')}). Pass --usr_dir=FOLDER "
          "with the folder where its problems and hparams sets are now.")
    plugins.check_trusted(real, who)
    plugins.import_usr_dir(real, trust=False)
    imported.append(usr_dir)
  registry.load_builtins()  # Loads the installed entry points.
  installed = {e["module"] for e in plugins.installed_entry_points()}
  for e in record.get("entry_points", []):
    if not isinstance(e, dict) or not isinstance(e.get("module"), str):
      raise errors.DataError(f"{path}: plugins.entry_points must hold " + '{"name", "module", '
                             '"package"} records.')
    if e["module"] not in installed:
      raise errors.ConfigError(
          f"The run {output_dir} was trained with the plugin module {e['module']} (entry "
          f"point '{e.get('name')}' of the package {e.get('package') or '?'}), which is not "
          f"installed now: install that package (`pip install {e.get('package') or '...'}`), "
          "or pass --usr_dir=FOLDER holding its problems.")
  return imported


def read_eval_results(output_dir: str) -> Dict:
  """output_dir/eval_results.json ({} if there is none); a DataError naming it if it is not
  what the trainer writes."""
  path = os.path.join(output_dir, EVAL_FILE)
  if not fs.exists(path):
    return {}
  saved = _load_json(path, "move it aside (the run's evaluations start a new history) or "
                     "restore it.")
  history = saved.get("history") if isinstance(saved, dict) else None
  if not isinstance(history, list) or not all(
      isinstance(h, dict) and isinstance(h.get("step"), int) for h in history):
    raise errors.DataError(f"{path}: expected " + '{"step", "problems", "history": [{"step": '
                           'int, ...}]} as mm-trainer writes it; move it aside or restore it.')
  return saved


def write_eval_results(output_dir: str, step: int, results: Mapping, samples: Mapping) -> None:
  path = os.path.join(output_dir, EVAL_FILE)
  history = [h for h in read_eval_results(output_dir).get("history", []) if h["step"] < step]
  history.append({"step": step, "problems": dict(results)})
  payload = {"step": step, "problems": dict(results),
             "samples": {k: [{"ref": r, "hyp": h} for r, h in v] for k, v in samples.items()},
             "history": history}
  atomic.atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")



def results_table(results: Mapping[str, Mapping[str, float]],
                  examples: Optional[Mapping[str, int]] = None) -> str:
  """A Markdown table of an evaluation (the trainer's or mm-eval's): per problem, [examples,]
  log-perplexity, token accuracy vs chance, and its other figures (metrics.reported order)."""
  fixed = metrics.TEACHER_FORCED + metrics.CHANCE
  rows = []
  for name, m in sorted(results.items()):
    if name.startswith("_") or not m:
      continue
    chance = m.get("chance_accuracy", m.get("chance_token_accuracy", float("nan")))
    known = metrics.CLASS_LABEL + tuple(
        n for s in metrics.STRING_METRICS for n in (s,) + metrics.COMPANIONS.get(s, ()))
    own = [k for k in known if k in m] + sorted(k for k in m if k not in known + fixed)
    rows.append(([name] + ([examples.get(name, "")] if examples is not None else []) + [
        f"{m.get('log_perplexity', float('nan')):.3f}",
        f"{m.get('token_accuracy', float('nan')):.3f}", f"{chance:.3f}",
        ", ".join(f"{k} {m[k]:.4g}" for k in own)]))
  head = (["problem"] + (["examples"] if examples is not None else [])
          + ["log-ppl", "token acc", "chance", "metrics"])
  return "\n".join(markdown.table(head, rows))
