"""Runs the experiment's plan: data once, then each run in output_root/<run name>.

    summary = run_experiment(config, output_root="exp", data_dir="data", tmp_dir="raw")
    # {"single_wmt_ende_mini": "trained", "joint": "skipped (finished)", ...}

output_root/experiment.json holds the config; a rerun with another config is an error (use a
new output_root), so every table compares runs made with one setting. A run is finished when
its eval_results.json is at its train_steps: it is skipped. Any other run is trained with
train_run, which resumes from the run's latest checkpoint. Data: the suite is generated (or
checked) in data_dir first, with the small problem's size bound by gin; shards made with
another size are rewritten (their key holds the size), so data_dir always matches the config.
"""

import json
import os
import re
import sys
import time
from typing import Callable, Dict, Optional, Sequence, TextIO

from t2t_mm import errors
from t2t_mm.runs import gin_config
from t2t_mm.experiments import plan as plan_lib
from t2t_mm.runs import outputs
from t2t_mm.utils import atomic, fs

MANIFEST_FILE = "experiment.json"  # In output_root: the config the runs were made with.
RUN_FILE = "experiment_run.json"  # In each run's output_dir: its spec and training time.


def run_dir(output_root: str, run: plan_lib.RunSpec) -> str:
  return os.path.join(output_root, run.name)


def finished_step(output_root: str, run: plan_lib.RunSpec) -> Optional[int]:
  """The step of the run's eval_results.json, or None if it has none."""
  path = os.path.join(run_dir(output_root, run), outputs.EVAL_FILE)
  if not fs.exists(path):
    return None
  with fs.open(path, encoding="utf-8") as f:
    return int(json.load(f)["step"])


def is_finished(output_root: str, run: plan_lib.RunSpec) -> bool:
  return finished_step(output_root, run) == run.train_steps


def check_manifest(output_root: str, config: plan_lib.ExperimentConfig) -> None:
  """Writes output_root/experiment.json, or checks that it holds the same config."""
  path = os.path.join(output_root, MANIFEST_FILE)
  wanted = config.to_dict()
  if fs.exists(path):
    with fs.open(path, encoding="utf-8") as f:
      saved = json.load(f)["config"]
    differ = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
    if differ:
      details = "; ".join(f"{k}: {saved.get(k)!r} there, {wanted.get(k)!r} now" for k in differ)
      raise errors.ConfigError(
          f"{output_root} holds an experiment made with other settings ({details}). Use a new "
          "--output_root, or the same settings to resume it.")
    return
  fs.makedirs(output_root)
  atomic.atomic_write_text(path, json.dumps({"config": wanted}, indent=2) + "\n")


def select_runs(runs: Sequence[plan_lib.RunSpec], only: Sequence[str]):
  """The runs named in `only` (all if empty); an unknown name is an error."""
  if not only:
    return list(runs)
  names = [r.name for r in runs]
  for name in only:
    if name not in names:
      raise errors.UnknownNameError(
          f"Unknown run '{name}'.{errors.did_you_mean(name, names)} Runs: {', '.join(names)}.")
  return [r for r in runs if r.name in only]


def _hparams_overrides(config: plan_lib.ExperimentConfig) -> str:
  if re.search(r"(^|,)\s*mixture\s*=", config.hparams):
    raise errors.ConfigError(f"hparams='{config.hparams}' sets mixture; the experiment uses "
                             f"mixture={plan_lib.MIXTURE} so that each problem of a joint run "
                             "gets the same steps on average.")
  return ",".join(x for x in (f"mixture={plan_lib.MIXTURE}",
                              f"learning_rate_warmup_steps={config.warmup_steps}",
                              config.hparams) if x)


def prepare_data(config: plan_lib.ExperimentConfig, problems: Sequence[str], data_dir: str,
                 tmp_dir: str, stream: TextIO) -> None:
  """Generates (or checks) the problems' data in data_dir with the experiment's sizes."""
  from t2t_mm.data import datagen
  gin_config.setup(None, (), plan_lib.data_bindings(config))
  datagen.generate(list(problems), data_dir, tmp_dir, progress=False, out=stream)


def run_experiment(config: plan_lib.ExperimentConfig, output_root: str, data_dir: str,
                   tmp_dir: str, only: Sequence[str] = (),
                   train_fn: Optional[Callable] = None,
                   stream: TextIO = sys.stdout) -> Dict[str, str]:
  """Trains the unfinished runs of the plan (or of `only`); returns run name -> what was done."""
  if not output_root or not data_dir:
    raise errors.ConfigError("--output_root and --data_dir are required.")
  runs = plan_lib.plan_runs(config)
  overrides = _hparams_overrides(config)
  check_manifest(output_root, config)
  selected = select_runs(runs, only)
  done = {r.name: "skipped (finished)" for r in selected if is_finished(output_root, r)}
  pending = [r for r in selected if r.name not in done]
  total = plan_lib.total_steps(pending)
  print(f"mm-experiment: {len(selected)} runs, {len(done)} finished, {len(pending)} to train "
        f"({total} global steps; {config.steps} steps per problem).", file=stream, flush=True)
  if not pending:
    return done
  # Before any gin parsing: gin locks its registry then, and the trainer module registers
  # trainer.TrainerConfig when imported.
  from t2t_mm.training import run as run_lib
  import keras
  problems = []
  for r in pending:
    problems += [p for p in r.problems if p not in problems]
  prepare_data(config, problems, data_dir, tmp_dir, stream)
  train_fn = train_fn or run_lib.train_run
  for i, r in enumerate(pending):
    out_dir = run_dir(output_root, r)
    print(f"\n[{i + 1}/{len(pending)}] {r.name}: {', '.join(r.problems)} with {r.hparams_set}, "
          f"{r.train_steps} steps -> {out_dir}", file=stream, flush=True)
    keras.backend.clear_session()  # Each run builds its own model; free the previous one.
    start = time.perf_counter()
    train_fn(run_lib.RunOptions(
        problems=",".join(r.problems), hparams_set=r.hparams_set, hparams=overrides,
        data_dir=data_dir, output_dir=out_dir, train_steps=r.train_steps,
        eval_steps=config.eval_steps, eval_every=r.eval_every,
        gin_params=plan_lib.gin_bindings(config), tmp_dir=tmp_dir), stream=stream)
    seconds = time.perf_counter() - start
    if not is_finished(output_root, r):
      raise errors.T2TMMError(f"run {r.name} returned without eval results at step "
                              f"{r.train_steps} in {out_dir}.")
    atomic.atomic_write_text(os.path.join(out_dir, RUN_FILE), json.dumps(
        {"name": r.name, "problems": list(r.problems), "hparams_set": r.hparams_set,
         "train_steps": r.train_steps, "seconds": round(seconds, 1)}, indent=2) + "\n")
    done[r.name] = "trained"
  return done
