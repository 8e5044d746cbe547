"""Spread over seeds and a paired bootstrap test of a difference between two configurations.

    mean, sd = mean_sd([0.41, 0.39, 0.44])            # sd: sample standard deviation (n - 1)
    test = paired_bootstrap(single, joint, samples=1000, seed=0)
    # {"delta": -0.012, "low": -0.020, "high": -0.004, "p": 0.004, "samples": 1000}

`single` and `joint` are per seed, per test example, (numerator, denominator) arrays of one
metric: for log-perplexity the example's summed NLL and its target tokens, for token accuracy
its correct tokens and target tokens, so the metric of a set of examples is
sum(numerators) / sum(denominators), as mm-eval computes it over the whole split. Seed s of one
configuration is paired with seed s of the other (same initialization, data order, mixture
seed) and example i with example i (same test example).

Each bootstrap sample draws the seeds (with replacement) and, independently, the examples (with
replacement, the same draw for every seed and both configurations), and computes Δ* = mean over
the drawn seeds of metric(joint) - metric(single) on the drawn examples. The interval is the
2.5th and 97.5th percentiles of Δ*; the two-sided p-value is 2 x the smaller share of Δ* on
either side of 0 (at most 1): the percentile bootstrap's p-value of "Δ = 0". The generator is
numpy's default_rng(seed), so a given seed gives the same interval on every machine.
"""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

Pairs = Sequence[Tuple[Sequence[float], Sequence[float]]]  # Per seed: (numerators, denominators).


def mean_sd(values: Sequence[float]) -> Tuple[Optional[float], Optional[float]]:
  """(mean, sample standard deviation); sd is None for fewer than 2 values, both for none."""
  x = np.asarray([v for v in values if v is not None], np.float64)
  if not len(x):
    return None, None
  return float(x.mean()), (float(x.std(ddof=1)) if len(x) > 1 else None)


def _arrays(pairs: Pairs, name: str) -> Tuple[np.ndarray, np.ndarray]:
  num = np.asarray([p[0] for p in pairs], np.float64)
  den = np.asarray([p[1] for p in pairs], np.float64)
  if num.ndim != 2 or num.shape != den.shape or not num.size:
    raise ValueError(f"{name}: expected per seed two arrays of one length per test example, "
                     f"got shapes {num.shape} and {den.shape}.")
  return num, den


def paired_bootstrap(single: Pairs, other: Pairs, samples: int = 1000,
                     seed: int = 0) -> Dict[str, float]:
  """The difference other - single (mean over seeds), its 95% interval and p; see the module."""
  a_num, a_den = _arrays(single, "single")
  b_num, b_den = _arrays(other, "other")
  if a_num.shape != b_num.shape:
    raise ValueError(f"paired_bootstrap: the runs differ in seeds or test examples "
                     f"({a_num.shape} vs {b_num.shape}); expected the same.")
  if samples < 1:
    raise ValueError(f"samples={samples}: expected at least 1.")
  n_seeds, n = a_num.shape
  delta = float(np.mean(b_num.sum(1) / b_den.sum(1) - a_num.sum(1) / a_den.sum(1)))
  rng = np.random.default_rng(seed)
  seeds = rng.integers(0, n_seeds, size=(samples, n_seeds))
  examples = rng.integers(0, n, size=(samples, n))
  # Counts of each example in each sample: the sums over drawn examples as one product.
  weights = np.zeros((samples, n))
  np.add.at(weights, (np.arange(samples)[:, None], examples), 1.0)
  per_seed = (weights @ b_num.T) / (weights @ b_den.T) - (weights @ a_num.T) / (weights @ a_den.T)
  draws = np.take_along_axis(per_seed, seeds, axis=1).mean(axis=1)  # [samples]
  low, high = np.percentile(draws, [2.5, 97.5])
  p = min(1.0, 2.0 * min(float(np.mean(draws <= 0)), float(np.mean(draws >= 0))))
  return {"delta": delta, "low": float(low), "high": float(high), "p": p, "samples": samples}
