"""String metrics against hand-computed values."""

import pytest

from t2t_mm.metrics import strings as tm


def test_edit_distance():
  assert tm.edit_distance("kitten", "sitting") == 3
  assert tm.edit_distance([], ["a"]) == 1


def test_wer_counts_insertions_deletions_and_substitutions_over_the_corpus():
  assert tm.wer(["a cat sat"], ["a dog sat"]) == pytest.approx(1 / 3)
  # 1 deletion (b) + 2 insertions (e f) over 6 reference words; an empty output: all deleted.
  assert tm.wer(["a b c d", "x y"], ["a c d e f", "x y"]) == pytest.approx(3 / 6)
  assert tm.wer(["a b"], [""]) == 1.0
  assert tm.cer(["abcd"], ["abed"]) == pytest.approx(0.25)
  assert tm.cer(["ab", "cd"], ["abx", ""]) == pytest.approx(3 / 4)


def test_exact_match_against_any_reference():
  assert tm.exact_match(["x y", "z"], ["x y ", "w"]) == 0.5
  assert tm.exact_match([["a", "b"]], ["b"]) == 1.0


def test_bleu_and_chrf_use_sacrebleu_with_a_signature_and_several_references():
  assert tm.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100)
  assert tm.bleu(["the cat sat on the mat"], ["a dog ran"]) < 10
  one = tm.bleu(["a red square on the table"], ["a red box on the table"])
  two = tm.bleu([["a red square on the table", "a red box on the table"]],
                ["a red box on the table"])
  assert two == pytest.approx(100) and one < 100
  assert "nrefs:1|" in tm.bleu_signature(["x"]) and "tok:13a" in tm.bleu_signature(["x"])
  assert "nrefs:var" in tm.bleu_signature([["a", "b"], ["c"]])
  assert tm.chrf(["abcdef"], ["abcdef"]) == pytest.approx(100)
  assert "chrF2" in tm.chrf_signature(["x"]) or "nc:6" in tm.chrf_signature(["x"])
