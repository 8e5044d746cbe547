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


def test_a_cap_counts_a_problem_as_at_most_that_many_examples():
  capped = mixture.mixture_rates("proportional", SIZES, max_examples={"big": 10_000})
  assert capped == pytest.approx({"big": .5, "small": .5})
  with pytest.raises(errors.ConfigError, match="'bgi'.*Did you mean: big"):
    mixture.mixture_rates("uniform", SIZES, max_examples={"bgi": 5})
  with pytest.raises(errors.ConfigError, match=">= 1"):
    mixture.mixture_rates("uniform", SIZES, max_examples={"big": 0})


def test_pretrain_schedule_trains_one_problem_then_switches_at_the_named_step():
  schedule = mixture.MixtureSchedule.pretrain("small", until_step=100, then={"big": .5,
                                                                             "small": .5})
  sampler = mixture.MixtureSampler(schedule, seed=3)
  assert {sampler.problem_at(s) for s in range(100)} == {"small"}
  after = [sampler.problem_at(s) for s in range(100, 2100)]
  assert after.count("big") / len(after) == pytest.approx(0.5, abs=0.05)
  assert schedule.rates_at(99) == {"big": 0.0, "small": 1.0}
  assert schedule.rates_at(100) == {"big": .5, "small": .5}


def test_linear_schedule_moves_the_rates_over_its_step_range():
  schedule = mixture.MixtureSchedule.linear({"big": 1.0, "small": 0.0},
                                            {"big": 0.0, "small": 1.0}, steps=(100, 300))
  for step, big in ((0, 1.0), (100, 1.0), (150, 0.75), (200, 0.5), (300, 0.0), (10**6, 0.0)):
    assert schedule.rates_at(step) == pytest.approx({"big": big, "small": 1 - big}), step
  sampler = mixture.MixtureSampler(schedule, seed=3)
  assert {sampler.problem_at(s) for s in range(100)} == {"big"}
  assert {sampler.problem_at(s) for s in range(300, 400)} == {"small"}
  middle = [sampler.problem_at(s) for s in range(190, 211)]
  assert 0 < middle.count("small") < len(middle)
  with pytest.raises(errors.ConfigError, match="0 <= a < b"):
    mixture.MixtureSchedule.linear({"big": 1.0}, {"big": 1.0}, steps=(5, 5))


def test_schedules_from_hparams_and_their_checks():
  from t2t_mm.config.hparams import HParams
  hp = HParams(mixture="uniform", mixture_schedule="pretrain", mixture_schedule_steps=[10],
               mixture_pretrain_problem="small")
  schedule = mixture.schedule_from_hparams(hp, SIZES)
  assert schedule.rates_at(9) == {"big": 0.0, "small": 1.0}
  assert schedule.rates_at(10) == pytest.approx({"big": .5, "small": .5})
  linear = mixture.schedule_from_hparams(HParams(
      mixture_schedule="linear", mixture_schedule_steps=[0, 10],
      mixture_start_rates={"small": 3.0}), SIZES)
  assert linear.rates_at(0) == {"big": 0.0, "small": 1.0}  # Normalized; "big" unnamed: 0.
  assert linear.rates_at(10) == pytest.approx({"big": .9, "small": .1})
  with pytest.raises(errors.ConfigError, match="'smal'.*Did you mean: small"):
    mixture.schedule_from_hparams(hp.replace(mixture_pretrain_problem="smal"), SIZES)
  with pytest.raises(errors.ConfigError, match="mixture_start_rates names.*'bgi'"):
    mixture.schedule_from_hparams(HParams(
        mixture_schedule="linear", mixture_schedule_steps=[0, 10],
        mixture_start_rates={"bgi": 1.0}), SIZES)
  with pytest.raises(errors.ConfigError, match="needs mixture_schedule_steps of 2"):
    HParams(mixture_schedule="linear", mixture_start_rates={"big": 1.0})
  with pytest.raises(errors.ConfigError, match="mixture_pretrain_problem is set by"):
    HParams(mixture_schedule="pretrain", mixture_schedule_steps=[10])
