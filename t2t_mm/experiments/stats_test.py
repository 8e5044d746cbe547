"""mean ± sd and the paired bootstrap against values computed by hand."""

import math

import pytest

from t2t_mm.experiments import stats


def test_mean_and_sample_sd_by_hand():
  mean, sd = stats.mean_sd([1.0, 2.0, 4.0])
  # mean 7/3; squared deviations 16/9, 1/9, 25/9 sum to 42/9, over n - 1 = 2: 7/3.
  assert mean == pytest.approx(7 / 3)
  assert sd == pytest.approx(math.sqrt(7 / 3))
  assert stats.mean_sd([0.5]) == (0.5, None)  # One seed: no spread to show.
  assert stats.mean_sd([]) == (None, None)
  assert stats.mean_sd([None, 2.0, 4.0]) == (3.0, pytest.approx(math.sqrt(2)))


def test_a_constant_shift_gives_a_point_interval_and_p_zero():
  # Two seeds, three examples; the other run is 0.25 better in log-ppl on every example.
  tokens = [1.0, 2.0, 1.0]
  single = [([1.0, 2.0, 3.0], tokens), ([2.0, 2.0, 2.0], tokens)]
  other = [([n - 0.25 * t for n, t in zip(nll, tokens)], tokens) for nll, _ in single]
  result = stats.paired_bootstrap(single, other, samples=200, seed=3)
  assert result["delta"] == pytest.approx(-0.25)
  assert result["low"] == pytest.approx(-0.25) and result["high"] == pytest.approx(-0.25)
  assert result["p"] == 0.0 and result["samples"] == 200


def test_ratio_metric_and_bootstrap_distribution_by_hand():
  # One seed, two examples. Token accuracy: single 0/1 and 1/3 -> 1/4 over the split; other
  # 1/1 and 1/3 -> 2/4. Observed delta 1/4. A bootstrap draw of the examples is {0,0} (delta
  # 1, prob 1/4), {1,1} (0, prob 1/4) or one of each (1/4, prob 1/2): so the 2.5th and 97.5th
  # percentiles are 0 and 1, and the share of draws <= 0 is 1/4: p = 2 x 1/4 = 1/2.
  single = [([0.0, 1.0], [1.0, 3.0])]
  other = [([1.0, 1.0], [1.0, 3.0])]
  result = stats.paired_bootstrap(single, other, samples=4000, seed=0)
  assert result["delta"] == pytest.approx(0.25)
  assert result["low"] == 0.0 and result["high"] == 1.0
  assert result["p"] == pytest.approx(0.5, abs=0.04)
  assert stats.paired_bootstrap(single, other, samples=4000, seed=0) == result  # Fixed seed.
  assert stats.paired_bootstrap(single, other, samples=4000, seed=1)["p"] != result["p"]


def test_seeds_are_resampled_too():
  # Two seeds whose differences are +1 and -1 on every example: the examples do not matter,
  # a draw of the seeds gives +1 (1/4), -1 (1/4) or 0 (1/2); observed delta 0, p = 1.
  tokens = [1.0, 1.0, 1.0]
  single = [([0.0, 0.0, 0.0], tokens), ([1.0, 1.0, 1.0], tokens)]
  other = [([1.0, 1.0, 1.0], tokens), ([0.0, 0.0, 0.0], tokens)]
  result = stats.paired_bootstrap(single, other, samples=2000, seed=0)
  assert result["delta"] == 0.0
  assert result["low"] == -1.0 and result["high"] == 1.0 and result["p"] == 1.0
  # With one seed only the examples are resampled: seed 0 alone is +1 everywhere.
  alone = stats.paired_bootstrap(single[:1], other[:1], samples=500, seed=0)
  assert (alone["low"], alone["high"], alone["p"]) == (1.0, 1.0, 0.0)


def test_unpaired_inputs_are_an_error():
  with pytest.raises(ValueError, match="differ in seeds or test examples"):
    stats.paired_bootstrap([([1.0], [1.0])], [([1.0, 2.0], [1.0, 1.0])])
  with pytest.raises(ValueError, match="samples=0"):
    stats.paired_bootstrap([([1.0], [1.0])], [([1.0], [1.0])], samples=0)
