"""Which problem each training step uses.

    rates = mixture_rates("temperature", {"wmt": 90_000, "parse": 10_000}, temperature=2.0)
    # {"wmt": 0.75, "parse": 0.25}
    sampler = MixtureSampler(rates, seed=1234)
    sampler.problem_at(step)   # the same answer for the same (seed, step), on every worker

The choice depends only on (seed, step), not on the sampler's history, so a resumed run and
every worker of a multi-worker run see the same sequence of problems without saving state.
"""

from typing import Dict, List, Mapping

import numpy as np

from t2t_mm import errors


def mixture_rates(kind: str, sizes: Mapping[str, int], temperature: float = 2.0
                  ) -> Dict[str, float]:
  """Sampling probabilities: proportional to size, uniform, or proportional to size^(1/T)."""
  if not sizes:
    raise errors.ConfigError("A mixture needs at least one problem.")
  for name, size in sizes.items():
    if size <= 0:
      raise errors.DataError(f"Problem '{name}' has {size} training examples; expected > 0.")
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


class MixtureSampler:
  """Deterministic per-step choice of a problem by the mixture rates."""

  def __init__(self, rates: Mapping[str, float], seed: int):
    self.names: List[str] = list(rates)
    self._cdf = np.cumsum([rates[n] for n in self.names])
    self._cdf[-1] = 1.0
    self._seed = seed

  def problem_at(self, step: int) -> str:
    # A counter-based generator keyed by (seed, step): no state to save or to keep in sync.
    u = np.random.Generator(np.random.Philox(key=self._seed, counter=step)).random()
    return self.names[int(np.searchsorted(self._cdf, u, side="right"))]
