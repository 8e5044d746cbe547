"""The runs of the paper's comparisons, at equal training steps per problem, for each seed.

    config = ExperimentConfig(suite="all8_mini", steps=300, seeds=3)
    runs = plan_runs(config)    # [RunSpec(name="single_wmt_ende_mini", seed=1234,
                                #          folder="single_wmt_ende_mini/seed1234", ...), ...]

Equal steps per problem: a run on K problems trains about K * steps global steps with
mixture=uniform, so each problem gets `steps` steps on average (the trainer samples one
problem per step from (seed, step)). The small problem gets exactly `steps` steps in every run
that trains it: such a run's train_steps is the step after the small problem's `steps`-th draw
by the trainer's own sampler (small_problem_steps), so only the other problems' counts vary
(by about sqrt(steps)). The runs, for a suite of K problems, a small problem S (parsing) and a
partner P (image classification):

| run                       | problems     | hparams set                | global steps | tables |
| ------------------------- | ------------ | -------------------------- | ------------ | ------ |
| single_<p> (one per p)    | p            | hparams_set                | steps        | 2, 3, 4 |
| joint                     | all K        | hparams_set                | K * steps    | 2, 3, 4 |
| pair_<S>_<P>              | S, P         | hparams_set                | 2 * steps    | 3      |
| joint_no_moe              | all K        | no_moe_hparams_set         | K * steps    | 4      |
| joint_no_attention        | all K        | no_attention_hparams_set   | K * steps    | 4      |

Parsing alone and parsing with all eight (Table 3) are single_<S> and joint. In all, about
(4K + 2) * steps global steps per seed. Every configuration is run once per seed
(SEED_BASE + 0, 1, ... seeds - 1: hparams `seed`, which sets initialization, data order and the
mixture's draws), in output_root/<name>/seed<seed>; seed by seed, so that the first seed's
tables are complete before the second starts. RUN_GROUPS names subsets for --runs: "table3" is
single_<S>, pair_<S>_<P> and joint.
"""

import dataclasses
import functools
from typing import List, Optional, Sequence, Tuple

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.training import mixture

MIXTURE = "uniform"  # Each problem of a joint run gets steps on average; see the docstring.
SEED_BASE = 1234  # hparams' default seed: seeds=1 trains what a plain mm-trainer run would.


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
      `num_train_examples`: the data is generated with that many examples, the same every
      time); None leaves the problem's default.
    seeds: how many seeds each configuration is run with (SEED_BASE, SEED_BASE + 1, ...).
    early_stopping_patience: stop a run after this many evaluations without a better dev
      log-perplexity (its problem's for a single-task run, the mean over its problems for the
      others); 0 trains every run to its steps.
    bootstrap_samples: samples of the paired bootstrap test of each difference (stats.py).
    test_split: the split the best checkpoints are evaluated on (whole split).
    test_decode: also decode the test split for the problems' own metrics (BLEU, WER, exact
      match); False scores log-perplexity and token accuracy only (cheaper).
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
  seeds: int = 1
  early_stopping_patience: int = 0
  bootstrap_samples: int = 1000
  test_split: str = "test"
  test_decode: bool = True

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
  """One training run of the experiment (a configuration with one seed); output_dir is
  output_root/folder."""

  name: str  # The configuration: the same for every seed.
  problems: Tuple[str, ...]
  hparams_set: str
  train_steps: int
  eval_every: int
  label: str  # Column heading in the tables.
  seed: int = SEED_BASE

  @property
  def folder(self) -> str:
    return f"{self.name}/seed{self.seed}"

  @property
  def steps_per_problem(self) -> float:
    return self.train_steps / len(self.problems)

  @property
  def best_metric(self) -> str:
    """The trainer's --best_metric: the problem's dev log-perplexity, or the mean of them."""
    return (f"{self.problems[0]}/log_perplexity" if len(self.problems) == 1
            else "mean/log_perplexity")


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
  if config.seeds < 1:
    raise errors.ConfigError(f"seeds={config.seeds}: expected at least 1.")
  if config.early_stopping_patience < 0:
    raise errors.ConfigError(f"early_stopping_patience={config.early_stopping_patience}: "
                             "expected >= 0 (0: no early stopping).")
  if config.bootstrap_samples < 1:
    raise errors.ConfigError(f"bootstrap_samples={config.bootstrap_samples}: expected at "
                             "least 1.")
  if config.test_split not in ("dev", "test"):
    raise errors.ConfigError(f"test_split='{config.test_split}': expected 'test' or 'dev'.")
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


def gin_bindings(config: ExperimentConfig, run: Optional[RunSpec] = None) -> List[str]:
  """The gin bindings of a run: the data's, the trainer's decoding for evaluation, and a
  checkpoint at every evaluation, all kept, so that each problem's best one can be tested."""
  bindings = data_bindings(config) + [
      f"trainer.TrainerConfig.decode_examples = {config.decode_examples}"]
  if run is not None:
    evals = -(-run.train_steps // run.eval_every)
    bindings += [f"trainer.TrainerConfig.checkpoint_every = {run.eval_every}",
                 f"trainer.TrainerConfig.keep_checkpoints = {evals + 1}"]
  return bindings


@functools.lru_cache(maxsize=256)
def small_problem_steps(problems: Tuple[str, ...], small: str, steps: int, seed: int) -> int:
  """The global steps after which `small` has had exactly `steps` steps: the trainer's sampler
  (mixture=uniform over `problems`, seeded like the run) replayed."""
  sampler = mixture.MixtureSampler(
      mixture.mixture_rates(MIXTURE, {p: 1 for p in problems}), seed)
  count, step = 0, 0
  while count < steps:
    count += sampler.problem_at(step) == small
    step += 1
  return step


def seeds_of(config: ExperimentConfig) -> List[int]:
  return [SEED_BASE + i for i in range(config.seeds)]


def plan_runs(config: ExperimentConfig) -> List[RunSpec]:
  """Every run of the experiment, in the order they are trained: seed by seed, singles first."""
  names = registry.expand_problem_names(config.suite)
  _check(config, names)
  k = len(names)

  def spec(name, problems, hp_set, label, seed):
    problems = tuple(problems)
    steps = config.steps * len(problems)
    if len(problems) > 1 and config.small_problem in problems:
      steps = small_problem_steps(problems, config.small_problem, config.steps, seed)
    return RunSpec(name, problems, hp_set, steps, max(1, steps // config.num_evals), label,
                   seed)

  runs = []
  for seed in seeds_of(config):
    runs += [spec(f"single_{p}", [p], config.hparams_set, "single", seed) for p in names]
    runs.append(spec("joint", names, config.hparams_set, f"joint ({k})", seed))
    pair = [config.small_problem, config.partner_problem]
    runs.append(spec(pair_name(config), pair, config.hparams_set,
                     f"with {config.partner_problem}", seed))
    runs.append(spec("joint_no_moe", names, config.no_moe_hparams_set, f"joint ({k}) no MoE",
                     seed))
    runs.append(spec("joint_no_attention", names, config.no_attention_hparams_set,
                     f"joint ({k}) no attention", seed))
  return runs


def pair_name(config: ExperimentConfig) -> str:
  return f"pair_{config.small_problem}_{config.partner_problem}"


def run_groups(config: ExperimentConfig) -> dict:
  """Names --runs accepts for several configurations at once."""
  return {"table3": [f"single_{config.small_problem}", pair_name(config), "joint"]}


def configurations(runs: Sequence[RunSpec]) -> List[RunSpec]:
  """The first seed's run of each configuration, in plan order."""
  seen, out = set(), []
  for r in runs:
    if r.name not in seen:
      seen.add(r.name)
      out.append(r)
  return out


def total_steps(runs: Sequence[RunSpec]) -> int:
  return sum(r.train_steps for r in runs)
