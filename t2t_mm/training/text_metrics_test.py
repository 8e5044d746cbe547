"""String metrics used in evaluation."""

import pytest

from t2t_mm.training import text_metrics as tm


def test_edit_distance():
  assert tm.edit_distance("kitten", "sitting") == 3
  assert tm.edit_distance([], ["a"]) == 1


def test_wer_cer_exact_match():
  assert tm.wer(["a cat sat"], ["a dog sat"]) == pytest.approx(1 / 3)
  assert tm.wer(["a b"], [""]) == 1.0
  assert tm.cer(["abcd"], ["abed"]) == pytest.approx(0.25)
  assert tm.exact_match(["x y", "z"], ["x y ", "w"]) == 0.5


def test_bleu_uses_sacrebleu_scale():
  assert tm.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100)
  assert tm.bleu(["the cat sat on the mat"], ["a dog ran"]) < 10
