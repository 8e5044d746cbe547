import math

import pytest

from t2t_mm import metrics
from t2t_mm.metrics import cider


def test_cider_d_of_a_worked_example():
  refs = [["a b"], ["c d"]]
  # Image 1: "a" against "a b". Unigrams a, b occur in 1 of 2 images: weight log 2 each; the
  # cosine is 1/sqrt(2); no shared 2-, 3-, 4-grams; the bigram "length" differs by 1.
  image1 = 10 * (1 / math.sqrt(2)) / 4 * math.exp(-1 / 72)
  assert cider.cider_d_per_image(refs, ["a", "c d"]) == pytest.approx([image1, 10 * 0.5])
  # "c d" == its only reference: unigram and bigram cosines are 1; no 3- or 4-grams.
  assert cider.cider_d(refs, ["a", "c d"]) == pytest.approx((image1 + 5.0) / 2)


def test_cider_d_averages_over_every_reference_and_grams_in_every_image_weigh_nothing():
  both = cider.cider_d_per_image([["a red square", "a red box"], ["x"]], ["a red square", "x"])
  alone = cider.cider_d_per_image([["a red square"], ["x"]], ["a red square", "x"])
  # Equal to its reference: cosine 1 for n = 1..3, no 4-grams: 10 * 3 / 4. A second,
  # unmatched reference halves nothing but adds a lower score to the average.
  assert 0 < both[0] < alone[0] == pytest.approx(7.5)
  # "a" is in every image's references: idf 0, so it adds nothing.
  assert cider.cider_d_per_image([["a"], ["a"]], ["a", "a"]) == [0.0, 0.0]


def test_metrics_by_name_take_one_or_several_references():
  assert metrics.compute("exact_match", ["x"], ["x"]) == 1.0
  assert metrics.compute("bracket_f1", [["(S DT )S"]], ["(S DT )S"]) == 1.0
  assert metrics.compute("cider_d", [["a b"], ["c d"]], ["a b", "c d"]) == pytest.approx(5.0)


def test_every_metric_has_a_signature():
  assert set(metrics.SIGNATURES) == set(metrics.STRING_METRICS)
  for name, signature in metrics.SIGNATURES.items():
    assert signature([["a b"]]), name
