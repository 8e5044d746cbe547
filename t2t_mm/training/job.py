"""The whole mm-trainer job as one library call (bin/mm_trainer.py only maps flags onto it).

    results = train_run(TrainOptions(problems="all8_mini", hparams_set="multimodel_tiny",
                                     data_dir="data", output_dir="runs/a", train_steps=2000,
                                     trainer={"eval_every": 500}))   # TrainerConfig fields

names -> registry problems; hparams: set < output_dir/hparams.json < overrides; gin: saved
config.gin < files < params; strategy; missing data -> generated or a clear instruction; train
with resume; hparams.json, config.gin, problems.json and eval_results.json in output_dir.
"""

import contextlib
import dataclasses
import os
import sys
import tempfile
from typing import Dict, Mapping, Optional, Sequence

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config import paths
from t2t_mm.config.data_config import DataConfig
from t2t_mm.config.trainer_config import TrainerConfig
from t2t_mm.data import lengths
from t2t_mm.data.problem import Problem
from t2t_mm.models import memory
from t2t_mm.runs import checkpoints
from t2t_mm.runs import gin_config
from t2t_mm.runs import resolve
from t2t_mm.training import distribution
from t2t_mm.training import threads
from t2t_mm.runs import outputs
from t2t_mm.runs import resume
from t2t_mm.runs import warm_start
from t2t_mm.runs import lock as run_lock
from t2t_mm.training.trainer import Trainer
from t2t_mm.utils import fs


@dataclasses.dataclass
class TrainOptions:
  """One training job. Args mirror mm-trainer's flags of the same names; the trainer's
  operational settings are TrainerConfig's (`trainer`)."""

  problems: Optional[str]
  hparams_set: Optional[str]
  data_dir: Optional[str]  # None when resuming: the run's own (problems.json).
  output_dir: str
  train_steps: int
  hparams: str = ""
  # TrainerConfig fields set here (mm-trainer's flags of the same names, api.train's keywords):
  # they override gin's bindings of trainer.TrainerConfig; None or absent: gin's or the default.
  trainer: Mapping[str, object] = dataclasses.field(default_factory=dict)
  gin_files: Sequence[str] = ()
  gin_params: Sequence[str] = ()
  distribution: str = "default"
  cpu_devices: int = 1
  # CPU thread pools (threads.py); 0: chosen (1 per op and every core across ops without a GPU).
  intra_op_threads: int = 0
  inter_op_threads: int = 0
  tpu: Optional[str] = None  # With distribution="tpu": "local", a Cloud TPU name, grpc://...
  generate_data: bool = False
  tmp_dir: str = paths.DEFAULT_TMP_DIR


def _problem_names(options: TrainOptions):
  if options.problems:
    return registry.expand_problem_names(options.problems)
  if options.output_dir and fs.exists(
      os.path.join(options.output_dir, outputs.PROBLEMS_FILE)):
    # Resuming: train what the output_dir was trained on.
    return [p["name"] for p in outputs.read_run_problems(options.output_dir)["problems"]]
  raise errors.ConfigError("--problems is required, e.g. --problems=all8_mini.")


def _data_dir(options: TrainOptions) -> str:
  """--data_dir, or the one a resumed run was trained with (its problems.json)."""
  if options.data_dir:
    return options.data_dir
  if fs.exists(os.path.join(options.output_dir, outputs.PROBLEMS_FILE)):
    return outputs.read_run_problems(options.output_dir)["data_dir"]
  raise errors.ConfigError("--data_dir is required: the folder of mm-datagen's shards.")


def _ensure_data(problems, options: TrainOptions) -> None:
  for problem in problems:
    if problem.has_data(options.data_dir):
      continue
    if not options.generate_data:
      raise errors.DataError(
          f"No generated data for problem '{problem.name}' in {options.data_dir}. Run: "
          f"mm-datagen --problem={problem.name} --data_dir={options.data_dir} "
          f"--tmp_dir={options.tmp_dir}  (or pass --generate_data).")
    problem.generate_data(options.data_dir, options.tmp_dir)


def _check_writable(output_dir: str) -> None:
  """Fails before any work if output_dir cannot be created or written."""
  if not fs.is_local(output_dir):
    return  # No permissions to ask an object store about: its first write says.
  probe_dir = output_dir
  while not os.path.exists(probe_dir):  # The nearest existing folder must take a new one.
    probe_dir = os.path.dirname(os.path.abspath(probe_dir))
  if not os.path.isdir(probe_dir):
    raise errors.ConfigError(f"--output_dir={output_dir}: {probe_dir} is a file, not a folder.")
  try:
    tempfile.TemporaryFile(dir=probe_dir).close()
  except OSError as e:
    raise errors.ConfigError(f"--output_dir={output_dir}: cannot write in {probe_dir} "
                             f"({e.strerror}).") from e


def trainer_config(settings: Mapping[str, object]) -> TrainerConfig:
  """TrainerConfig: its defaults < gin's bindings (trainer.TrainerConfig.*) < `settings`
  (None values skipped); a bad name or value is a ConfigError naming it."""
  fields = [f.name for f in dataclasses.fields(TrainerConfig)]
  for name in settings:
    if name not in fields:
      raise errors.ConfigError(f"Unknown trainer setting '{name}'."
                               f"{errors.did_you_mean(name, fields)}")
  try:
    config = TrainerConfig()  # Gin bindings apply here; __post_init__ checks them.
  except errors.ConfigError as e:  # Gin appends "In call to configurable ..." lines.
    raise errors.ConfigError(f"gin binding of trainer.TrainerConfig: "
                             f"{str(e).splitlines()[0]}") from None
  changes = {k: v for k, v in settings.items() if v is not None}
  try:
    return dataclasses.replace(config, **changes)
  except errors.ConfigError as e:
    raise errors.ConfigError(f"--{' / --'.join(changes) or 'gin'}: {e}") from e


def train_run(options: TrainOptions, stream=sys.stdout) -> Dict[str, Dict[str, float]]:
  """Runs the job; returns per-problem eval results and prints a metrics table.

  Everything that can be checked is checked before any file is written: settings, that
  output_dir can be written, that a resumed run matches the saved one, the run lock.
  """
  # Unknown names and settings first: their errors suggest the close ones.
  names = _problem_names(options)
  hparams, set_name = resolve.resolve_hparams(options.hparams_set, options.hparams,
                                              options.output_dir)
  if not options.output_dir:
    raise errors.ConfigError("--output_dir is required.")
  options = dataclasses.replace(options, data_dir=_data_dir(options))
  if options.train_steps < 1:
    raise errors.ConfigError(f"--train_steps must be >= 1, got {options.train_steps}.")
  outputs.read_eval_results(options.output_dir)  # A damaged file stops us before the work.
  step = checkpoints.newest_step(os.path.join(options.output_dir, checkpoints.CHECKPOINT_DIR))
  if step is not None and step >= options.train_steps:
    print(f"{options.output_dir} is at step {step}, and --train_steps={options.train_steps}: "
          "nothing to do (raise --train_steps to train on).", file=sys.stderr)
    return {}
  # Checked before the output folder is touched: a bad count changes no file.
  pools = threads.train_threads(options.intra_op_threads, options.inter_op_threads)
  _check_writable(options.output_dir)
  # Thread pools and the strategy come first: they must precede any other TensorFlow work.
  threads.configure(*pools, requested=bool(options.intra_op_threads or options.inter_op_threads))
  strategy = distribution.make_strategy(options.distribution, options.cpu_devices,
                                        options.tpu)
  gin_config.setup(options.output_dir, options.gin_files, options.gin_params)
  config = trainer_config(options.trainer)
  if config.warm_start_from:  # A missing or unreadable source costs nothing yet.
    warm_start.find_checkpoint(config.warm_start_from)
  problems = [registry.problem(name) for name in names]
  _ensure_data(problems, options)
  data_config = DataConfig.from_hparams(hparams)
  for problem in problems:
    if isinstance(problem, Problem):  # In-memory problems have no datagen figures.
      warning = lengths.truncation_warning(problem, options.data_dir, data_config)
      if warning:
        print(f"Warning: {warning}", file=sys.stderr, flush=True)
  specs = {p.name: p.spec(options.data_dir) for p in problems}
  resume.check_matches_saved(options.output_dir, hparams, set_name, specs, problems,
                             options.data_dir)
  memory.check_fits(registry.model(hparams.model), hparams, specs.values(), training=True,
                    what="The hparams of this run")
  if distribution.is_tpu(strategy):
    distribution.check_static_shapes(specs, DataConfig.from_hparams(hparams, compiled=True))
  chief = distribution.is_chief(strategy)
  with run_lock.RunLock(options.output_dir) if chief else contextlib.nullcontext():
    trainer = Trainer(problems, hparams, options.data_dir, options.output_dir, strategy, config)
    start_step = trainer.restore()  # Before any write: a checkpoint that does not fit stops us.
    if trainer.chief and trainer.warm_start_report is not None:
      print(trainer.warm_start_report.summary(), file=stream, flush=True)
    if trainer.chief:
      resolve.save_hparams(options.output_dir, hparams, set_name)
      gin_config.save(options.output_dir)
    results = trainer.train(options.train_steps)
  if trainer.chief:
    print(f"\nTrained {', '.join(names)} from step {start_step} to {trainer.step}. "
          f"Results in {os.path.join(options.output_dir, outputs.EVAL_FILE)}:\n", file=stream)
    print(outputs.results_table(results), file=stream)
  return results
