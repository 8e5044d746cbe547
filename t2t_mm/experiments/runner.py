"""Runs the experiment's plan: data once, then each run in output_root/<name>/seed<seed>.

    summary = run_experiment(config, output_root="exp", data_dir="data", tmp_dir="raw")
    # {"single_wmt_ende_mini/seed1234": "trained", "joint/seed1234": "skipped (finished)", ...}

output_root/experiment.json holds the config; a rerun with another config is an error (use a
new output_root), so every table compares runs made with one setting. A run is trained when
its eval_results.json is at its train_steps (or it stopped early: best_checkpoint.json counts
`early_stopping_patience` evaluations without improvement), and finished when its best
checkpoints have also been evaluated on the test split (heldout.py, experiment_test.json):
finished runs are skipped, a trained one only gets its test evaluation, any other is trained
with train_run, which resumes from the run's latest checkpoint. Data: the suite is generated
(or checked) in data_dir first, with the small problem's size bound by gin; shards made with
another size are rewritten (their key holds the size), so data_dir always matches the config.
"""

import json
import os
import re
import sys
import time
from typing import Callable, Dict, Optional, Sequence, TextIO

from t2t_mm import errors
from t2t_mm.experiments import heldout
from t2t_mm.experiments import plan as plan_lib
from t2t_mm.runs import best as best_lib
from t2t_mm.runs import gin_config
from t2t_mm.runs import outputs
from t2t_mm.utils import atomic, fs

MANIFEST_FILE = "experiment.json"  # In output_root: the config the runs were made with.
RUN_FILE = "experiment_run.json"  # In each run's output_dir: its spec and training time.


def run_dir(output_root: str, run: plan_lib.RunSpec) -> str:
  return os.path.join(output_root, *run.folder.split("/"))


def finished_step(output_root: str, run: plan_lib.RunSpec) -> Optional[int]:
  """The step of the run's eval_results.json, or None if it has none."""
  path = os.path.join(run_dir(output_root, run), outputs.EVAL_FILE)
  if not fs.exists(path):
    return None
  with fs.open(path, encoding="utf-8") as f:
    return int(json.load(f)["step"])


def stopped_early(output_root: str, run: plan_lib.RunSpec, patience: int) -> bool:
  """True when the trainer stopped the run early (its last evaluation is the stop's)."""
  if not patience:
    return False
  state = best_lib.load_state(run_dir(output_root, run))
  step = finished_step(output_root, run)
  return bool(state and state.get("metric") == run.best_metric and step is not None
              and int(state.get("evals_without_improvement", 0)) >= patience)


def is_trained(output_root: str, run: plan_lib.RunSpec, patience: int = 0) -> bool:
  return (finished_step(output_root, run) == run.train_steps
          or stopped_early(output_root, run, patience))


def is_tested(output_root: str, run: plan_lib.RunSpec, config: plan_lib.ExperimentConfig
              ) -> bool:
  saved = heldout.load(run_dir(output_root, run))
  return bool(saved and saved.get("split") == config.test_split
              and saved.get("decode") == config.test_decode
              and set(saved.get("problems", {})) == set(run.problems))


def is_finished(output_root: str, run: plan_lib.RunSpec,
                config: Optional[plan_lib.ExperimentConfig] = None) -> bool:
  """Trained and, with a config, evaluated on its test split."""
  if config is None:
    return is_trained(output_root, run)
  return (is_trained(output_root, run, config.early_stopping_patience)
          and is_tested(output_root, run, config))


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


def select_runs(runs: Sequence[plan_lib.RunSpec], only: Sequence[str],
                groups: Optional[Dict[str, Sequence[str]]] = None):
  """The runs of the configurations named in `only` (every seed; all if empty), where a group
  name (plan.run_groups: "table3") stands for its configurations; an unknown name is an error."""
  if not only:
    return list(runs)
  groups = groups or {}
  names = list(dict.fromkeys(r.name for r in runs))
  wanted = set()
  for name in only:
    if name in groups:
      wanted |= set(groups[name])
    elif name in names:
      wanted.add(name)
    else:
      known = names + sorted(groups)
      raise errors.UnknownNameError(
          f"Unknown run '{name}'.{errors.did_you_mean(name, known)} Runs: {', '.join(known)}.")
  return [r for r in runs if r.name in wanted]


def _hparams_overrides(config: plan_lib.ExperimentConfig, seed: int) -> str:
  for name, why in (("mixture", f"the experiment uses mixture={plan_lib.MIXTURE} so that each "
                     "problem of a joint run gets the same steps on average"),
                    ("mixture_schedule", "the experiment's step counts assume the constant "
                     f"{plan_lib.MIXTURE} mixture"),
                    ("seed", "the experiment sets each run's seed (--seeds)")):
    if re.search(rf"(^|,)\s*{name}\s*=", config.hparams):
      raise errors.ConfigError(f"hparams='{config.hparams}' sets {name}; {why}.")
  return ",".join(x for x in (f"mixture={plan_lib.MIXTURE}",
                              f"learning_rate_warmup_steps={config.warmup_steps}",
                              f"seed={seed}", config.hparams) if x)


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
  _hparams_overrides(config, plan_lib.SEED_BASE)  # A bad override stops us before any write.
  selected = select_runs(runs, only, plan_lib.run_groups(config))
  check_manifest(output_root, config)
  done = {r.folder: "skipped (finished)" for r in selected
          if is_finished(output_root, r, config)}
  pending = [r for r in selected if r.folder not in done]
  to_train = [r for r in pending
              if not is_trained(output_root, r, config.early_stopping_patience)]
  total = plan_lib.total_steps(to_train)
  print(f"mm-experiment: {len(selected)} runs ({config.seeds} seed(s)), {len(done)} finished, "
        f"{len(to_train)} to train ({total} global steps; {config.steps} steps per problem), "
        f"{len(pending)} to test on the {config.test_split} split.", file=stream, flush=True)
  if not pending:
    return done
  # Before any gin parsing: gin locks its registry then, and the trainer module registers
  # trainer.TrainerConfig when imported.
  from t2t_mm.training import job as job_lib
  import keras
  problems = []
  for r in pending:
    problems += [p for p in r.problems if p not in problems]
  prepare_data(config, problems, data_dir, tmp_dir, stream)
  train_fn = train_fn or job_lib.train_run
  for i, r in enumerate(pending):
    out_dir = run_dir(output_root, r)
    if r in to_train:
      print(f"\n[{i + 1}/{len(pending)}] {r.folder}: {', '.join(r.problems)} with "
            f"{r.hparams_set}, {r.train_steps} steps -> {out_dir}", file=stream, flush=True)
      keras.backend.clear_session()  # Each run builds its own model; free the previous one.
      start = time.perf_counter()
      train_fn(job_lib.TrainOptions(
          problems=",".join(r.problems), hparams_set=r.hparams_set,
          hparams=_hparams_overrides(config, r.seed), data_dir=data_dir, output_dir=out_dir,
          train_steps=r.train_steps, gin_params=plan_lib.gin_bindings(config, r),
          trainer=dict(eval_steps=config.eval_steps, eval_every=r.eval_every,
                       best_metric=r.best_metric,
                       early_stopping_patience=config.early_stopping_patience),
          tmp_dir=tmp_dir),
          stream=stream)
      seconds = time.perf_counter() - start
      if not is_trained(output_root, r, config.early_stopping_patience):
        raise errors.T2TMMError(f"run {r.folder} returned without eval results at step "
                                f"{r.train_steps} in {out_dir}.")
      atomic.atomic_write_text(os.path.join(out_dir, RUN_FILE), json.dumps(
          {"name": r.name, "seed": r.seed, "problems": list(r.problems),
           "hparams_set": r.hparams_set, "train_steps": r.train_steps,
           "stopped_at": finished_step(output_root, r), "seconds": round(seconds, 1)},
          indent=2) + "\n")
    start = time.perf_counter()
    tested = heldout.evaluate_best(out_dir, r.problems, config.test_split, config.test_decode)
    steps = ", ".join(f"{p} {t['step']}" for p, t in tested["problems"].items())
    print(f"{r.folder}: best dev checkpoints ({steps}) evaluated on the {config.test_split} "
          f"split in {time.perf_counter() - start:.0f} s.", file=stream, flush=True)
    done[r.folder] = "trained" if r in to_train else "tested"
  return done
