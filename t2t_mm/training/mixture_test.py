"""Mixture rates and the per-step sampler."""

import collections

import pytest

from t2t_mm import errors
from t2t_mm.training import mixture

SIZES = {"big": 90_000, "small": 10_000}


def test_rates_by_kind():
  assert mixture.mixture_rates("proportional", SIZES) == pytest.approx({"big": .9, "small": .1})
  assert mixture.mixture_rates("uniform", SIZES) == pytest.approx({"big": .5, "small": .5})
  # size ** (1/2): 300 vs 100.
  assert mixture.mixture_rates("temperature", SIZES, 2.0) == pytest.approx(
      {"big": .75, "small": .25})


def test_bad_mixtures_are_errors():
  with pytest.raises(errors.ConfigError, match="mixture"):
    mixture.mixture_rates("random", SIZES)
  with pytest.raises(errors.DataError, match="'empty'"):
    mixture.mixture_rates("uniform", {"empty": 0})
  with pytest.raises(errors.ConfigError, match="temperature"):
    mixture.mixture_rates("temperature", SIZES, 0.0)


def test_sampler_is_deterministic_per_step_and_follows_rates():
  rates = mixture.mixture_rates("temperature", SIZES, 2.0)
  a, b = mixture.MixtureSampler(rates, seed=7), mixture.MixtureSampler(rates, seed=7)
  steps = list(range(4000))
  picks = [a.problem_at(s) for s in steps]
  assert picks == [b.problem_at(s) for s in reversed(steps)][::-1]  # Order does not matter.
  assert collections.Counter(picks)["small"] / len(picks) == pytest.approx(0.25, abs=0.03)
  other = mixture.MixtureSampler(rates, seed=8)
  assert picks != [other.problem_at(s) for s in steps]
