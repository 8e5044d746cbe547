"""Which problem each training step uses.

    rates = mixture_rates("temperature", {"wmt": 90_000, "parse": 10_000}, temperature=2.0)
    # {"wmt": 0.75, "parse": 0.25}
    sampler = MixtureSampler(rates, seed=1234)
    sampler.problem_at(step)   # the same answer for the same (seed, step), on every worker

    # Rates that change with the step: one problem first (T2T's "pretrain"), or a linear move
    # from one set of rates to another over a step range.
    schedule = MixtureSchedule.pretrain("parse", until_step=1000, then=rates)
    schedule = MixtureSchedule.linear(start={"wmt": 1.0, "parse": 0.0}, end=rates,
                                      steps=(0, 5000))
    sampler = MixtureSampler(schedule, seed=1234)

The choice depends only on (seed, step), not on the sampler's history, so a resumed run and
every worker of a multi-worker run see the same sequence of problems without saving state.
A per-problem cap (SeqIO's `maximum`) counts a problem as at most that many examples when
rates follow dataset sizes.
"""

import dataclasses
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from t2t_mm import errors


def mixture_rates(kind: str, sizes: Mapping[str, int], temperature: float = 2.0,
                  max_examples: Optional[Mapping[str, int]] = None) -> Dict[str, float]:
  """Sampling probabilities: proportional to size, uniform, or proportional to size^(1/T).

  `max_examples`: {problem: cap}; a problem counts as min(size, cap) examples.
  """
  if not sizes:
    raise errors.ConfigError("A mixture needs at least one problem.")
  for name, size in sizes.items():
    if size <= 0:
      raise errors.DataError(f"Problem '{name}' has {size} training examples; expected > 0.")
  caps = dict(max_examples or {})
  for name, cap in caps.items():
    if name not in sizes:
      raise errors.ConfigError(f"mixture_max_examples names '{name}', which is not being "
                               f"trained ({sorted(sizes)}).{errors.did_you_mean(name, sizes)}")
    if cap < 1:
      raise errors.ConfigError(f"mixture_max_examples['{name}'] must be >= 1, got {cap}.")
  sizes = {n: min(s, caps.get(n, s)) for n, s in sizes.items()}
  if kind == "proportional":
    weights = {n: float(s) for n, s in sizes.items()}
  elif kind == "uniform":
    weights = {n: 1.0 for n in sizes}
  elif kind == "temperature":
    if temperature <= 0:
      raise errors.ConfigError(f"mixture_temperature must be > 0, got {temperature}.")
    weights = {n: float(s) ** (1.0 / temperature) for n, s in sizes.items()}
  else:
    raise errors.ConfigError(
        f"mixture expects one of ['proportional', 'uniform', 'temperature'], got {kind!r}.")
  total = sum(weights.values())
  return {n: w / total for n, w in weights.items()}


def normalized(rates: Mapping[str, float], names: Sequence[str], what: str) -> Dict[str, float]:
  """`rates` over exactly `names` (missing ones 0), summing to 1; errors name `what`."""
  unknown = sorted(set(rates) - set(names))
  if unknown:
    raise errors.ConfigError(f"{what} names {unknown}, which are not being trained "
                             f"({sorted(names)}).{errors.did_you_mean(unknown[0], names)}")
  values = {n: float(rates.get(n, 0.0)) for n in names}
  if min(values.values()) < 0 or sum(values.values()) <= 0:
    raise errors.ConfigError(f"{what} must be >= 0 with a positive sum, got {dict(rates)}.")
  total = sum(values.values())
  return {n: v / total for n, v in values.items()}


@dataclasses.dataclass(frozen=True)
class MixtureSchedule:
  """Piecewise-linear mixing rates over steps: `points` = ((step, rates), ...), steps rising.

  Before the first point the first rates hold, after the last the last; between two points
  the rates move linearly; two points at one step switch at that step (the later one from
  it on).
  """

  points: Tuple[Tuple[int, Dict[str, float]], ...]

  @classmethod
  def constant(cls, rates: Mapping[str, float]) -> "MixtureSchedule":
    return cls(((0, dict(rates)),))

  @classmethod
  def linear(cls, start: Mapping[str, float], end: Mapping[str, float],
             steps: Tuple[int, int]) -> "MixtureSchedule":
    """`start` rates until steps[0], then linearly to `end` at steps[1], then `end`."""
    if not 0 <= steps[0] < steps[1]:
      raise errors.ConfigError(f"A linear mixture schedule needs steps [a, b] with "
                               f"0 <= a < b, got {list(steps)}.")
    return cls(((steps[0], dict(start)), (steps[1], dict(end))))

  @classmethod
  def pretrain(cls, problem: str, until_step: int, then: Mapping[str, float]
               ) -> "MixtureSchedule":
    """Only `problem` for steps < until_step, then the rates `then`."""
    if problem not in then:
      raise errors.ConfigError(f"mixture_pretrain_problem '{problem}' is not being trained "
                               f"({sorted(then)}).{errors.did_you_mean(problem, then)}")
    if until_step < 1:
      raise errors.ConfigError(f"A pretrain mixture schedule needs its switch step >= 1, got "
                               f"{until_step}.")
    first = {n: float(n == problem) for n in then}
    return cls(((0, first), (until_step, first), (until_step, dict(then))))

  @property
  def names(self) -> List[str]:
    return list(self.points[-1][1])

  def rates_at(self, step: int) -> Dict[str, float]:
    steps = [s for s, _ in self.points]
    i = int(np.searchsorted(steps, step, side="right"))  # Points at or before `step`.
    if i == 0:
      return dict(self.points[0][1])
    if i == len(self.points):
      return dict(self.points[-1][1])
    (s0, r0), (s1, r1) = self.points[i - 1], self.points[i]
    f = (step - s0) / (s1 - s0)
    return {n: (1 - f) * r0.get(n, 0.0) + f * r1.get(n, 0.0) for n in self.names}


class MixtureSampler:
  """Deterministic per-step choice of a problem by the mixture rates (fixed or scheduled)."""

  def __init__(self, rates: Union[Mapping[str, float], MixtureSchedule], seed: int):
    self.schedule = (rates if isinstance(rates, MixtureSchedule)
                     else MixtureSchedule.constant(rates))
    self.names: List[str] = self.schedule.names
    self._seed = seed

  def problem_at(self, step: int) -> str:
    rates = self.schedule.rates_at(step)
    cdf = np.cumsum([rates[n] for n in self.names])
    cdf /= cdf[-1]
    # A counter-based generator keyed by (seed, step): no state to save or to keep in sync.
    u = np.random.Generator(np.random.Philox(key=self._seed, counter=step)).random()
    return self.names[int(np.searchsorted(cdf, u, side="right"))]


def schedule_from_hparams(hp, sizes: Mapping[str, int]) -> MixtureSchedule:
  """The MixtureSchedule of HParams `hp` (mixture, mixture_schedule, ...) over `sizes`."""
  rates = mixture_rates(hp.mixture, sizes, hp.mixture_temperature, hp.mixture_max_examples)
  if hp.mixture_schedule == "linear":
    start = normalized(hp.mixture_start_rates, list(sizes), "mixture_start_rates")
    return MixtureSchedule.linear(start, rates, tuple(hp.mixture_schedule_steps))
  if hp.mixture_schedule == "pretrain":
    return MixtureSchedule.pretrain(hp.mixture_pretrain_problem, hp.mixture_schedule_steps[0],
                                    rates)
  return MixtureSchedule.constant(rates)
