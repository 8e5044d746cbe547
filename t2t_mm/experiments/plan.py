"""The runs of the paper's comparisons, at equal training steps per problem.

    config = ExperimentConfig(suite="all8_mini", steps=300)
    runs = plan_runs(config)    # [RunSpec(name="single_wmt_ende_mini", train_steps=300, ...), ...]

Equal steps per problem: a run on K problems trains K * steps global steps with
mixture=uniform, so each problem gets `steps` steps on average (the trainer samples one
problem per step). The runs, for a suite of K problems, a small problem S (parsing) and a
partner P (image classification):

| run                       | problems     | hparams set                | global steps | tables |
| ------------------------- | ------------ | -------------------------- | ------------ | ------ |
| single_<p> (one per p)    | p            | hparams_set                | steps        | 2, 3, 4 |
| joint                     | all K        | hparams_set                | K * steps    | 2, 3, 4 |
| pair_<S>_<P>              | S, P         | hparams_set                | 2 * steps    | 3      |
| joint_no_moe              | all K        | no_moe_hparams_set         | K * steps    | 4      |
| joint_no_attention        | all K        | no_attention_hparams_set   | K * steps    | 4      |

Parsing alone and parsing with all eight (Table 3) are single_<S> and joint. In all:
(4K + 2) * steps global steps.
"""

import dataclasses
from typing import List, Optional, Sequence, Tuple

from t2t_mm import errors
from t2t_mm import registry

MIXTURE = "uniform"  # Each problem of a joint run gets steps on average; see the docstring.


@dataclasses.dataclass
class ExperimentConfig:
  """What mm-experiment runs. Args mirror its flags.

  Args:
    suite: problems (a suite, list or glob), e.g. "all8_mini".
    steps: training steps per problem (a run on K problems trains K * steps).
    hparams_set: the model of every run but the ablations.
    no_moe_hparams_set, no_attention_hparams_set: the ablations (default:
      `<hparams_set>_no_moe`, `<hparams_set>_no_attention`).
    small_problem: the problem with little data (parsing); must be in the suite.
    partner_problem: the problem it is paired with in Table 3 (image classification).
    small_train_examples: the small problem's training set size (gin binding of its
      `num_train_examples`); None leaves the problem's default.
    warmup_steps: learning-rate warmup of every run. The schedule follows the global step, so
      the hparams set's warmup (200 in multimodel_tiny) would leave a single-task run of a few
      hundred steps at a fraction of the peak rate while joint runs (K times longer) pass it:
      a warmup well below `steps` keeps that bias small.
    hparams: overrides applied to every run after warmup_steps, e.g. "batch_size=16".
    gin_params: extra gin bindings for data generation and every run.
    num_evals: evaluations per run (evenly spaced; the last at the end): the eval curves.
    eval_steps: dev batches per problem in each evaluation.
    decode_examples: dev examples per problem decoded greedily in each evaluation for the
      problems' own metrics (BLEU, WER, exact match); bound with gin on the trainer.
  """

  suite: str = "all8_mini"
  steps: int = 200  # Fits 60 minutes on a quiet 2-core machine: docs/experiments.md.
  hparams_set: str = "multimodel_tiny"
  no_moe_hparams_set: Optional[str] = None
  no_attention_hparams_set: Optional[str] = None
  small_problem: str = "parse_en_mini"
  partner_problem: str = "image_scenes_mini"
  small_train_examples: Optional[int] = 3000
  warmup_steps: int = 50
  hparams: str = ""
  gin_params: Tuple[str, ...] = ()
  num_evals: int = 3
  eval_steps: int = 8
  decode_examples: int = 32

  def __post_init__(self):
    self.no_moe_hparams_set = self.no_moe_hparams_set or f"{self.hparams_set}_no_moe"
    self.no_attention_hparams_set = (self.no_attention_hparams_set or
                                     f"{self.hparams_set}_no_attention")
    self.gin_params = tuple(self.gin_params)

  def to_dict(self) -> dict:
    d = dataclasses.asdict(self)
    d["gin_params"] = list(self.gin_params)
    return d


@dataclasses.dataclass(frozen=True)
class RunSpec:
  """One training run of the experiment; output_dir is output_root/name."""

  name: str
  problems: Tuple[str, ...]
  hparams_set: str
  train_steps: int
  eval_every: int
  label: str  # Column heading in the tables.

  @property
  def steps_per_problem(self) -> float:
    return self.train_steps / len(self.problems)


def _check(config: ExperimentConfig, names: Sequence[str]) -> None:
  if config.steps < 1:
    raise errors.ConfigError(f"steps={config.steps}: expected a positive number of training "
                             "steps per problem.")
  if config.num_evals < 1:
    raise errors.ConfigError(f"num_evals={config.num_evals}: expected at least 1.")
  if config.eval_steps < 1:
    raise errors.ConfigError(f"eval_steps={config.eval_steps}: expected at least 1.")
  if config.warmup_steps < 0:
    raise errors.ConfigError(f"warmup_steps={config.warmup_steps}: expected >= 0.")
  if config.decode_examples < 1:
    raise errors.ConfigError(f"decode_examples={config.decode_examples}: expected at least 1.")
  if config.small_train_examples is not None and config.small_train_examples < 1:
    raise errors.ConfigError(f"small problem train examples={config.small_train_examples}: "
                             "expected a positive number.")
  if len(names) < 2:
    raise errors.ConfigError(f"suite '{config.suite}' names {len(names)} problem(s); joint "
                             "training needs at least 2.")
  for role, name in (("small_problem", config.small_problem),
                     ("partner_problem", config.partner_problem)):
    if name not in names:
      raise errors.ConfigError(f"{role}='{name}' is not in suite '{config.suite}' "
                               f"({', '.join(names)}).")
  if config.small_problem == config.partner_problem:
    raise errors.ConfigError("small_problem and partner_problem must differ.")
  for hp_set in (config.hparams_set, config.no_moe_hparams_set,
                 config.no_attention_hparams_set):
    registry.lookup("hparams", hp_set)  # UnknownNameError with close names.


def data_bindings(config: ExperimentConfig) -> List[str]:
  """The gin bindings of data generation: the small problem's size, then the user's."""
  bindings = []
  if config.small_train_examples is not None:
    bindings.append(f"problems.{config.small_problem}.num_train_examples = "
                    f"{config.small_train_examples}")
  return bindings + list(config.gin_params)


def gin_bindings(config: ExperimentConfig) -> List[str]:
  """The gin bindings of every run: the data's, and the trainer's decoding for evaluation."""
  return data_bindings(config) + [
      f"trainer.TrainerConfig.decode_examples = {config.decode_examples}"]


def plan_runs(config: ExperimentConfig) -> List[RunSpec]:
  """Every run of the experiment, in the order they are trained (singles first)."""
  names = registry.expand_problem_names(config.suite)
  _check(config, names)
  k = len(names)

  def spec(name, problems, hp_set, label):
    steps = config.steps * len(problems)
    return RunSpec(name, tuple(problems), hp_set, steps,
                   max(1, steps // config.num_evals), label)

  runs = [spec(f"single_{p}", [p], config.hparams_set, "single") for p in names]
  runs.append(spec("joint", names, config.hparams_set, f"joint ({k})"))
  pair = [config.small_problem, config.partner_problem]
  runs.append(spec(f"pair_{pair[0]}_{pair[1]}", pair, config.hparams_set,
                   f"with {config.partner_problem}"))
  runs.append(spec("joint_no_moe", names, config.no_moe_hparams_set, f"joint ({k}) no MoE"))
  runs.append(spec("joint_no_attention", names, config.no_attention_hparams_set,
                   f"joint ({k}) no attention"))
  return runs


def total_steps(runs: Sequence[RunSpec]) -> int:
  return sum(r.train_steps for r in runs)
