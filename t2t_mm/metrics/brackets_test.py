import pytest

from t2t_mm.metrics import brackets

GOLD = "(S (NP DT NN )NP (VP VBZ )VP )S"


def test_spans_of_a_linearized_tree():
  assert brackets.spans(GOLD) == [("NP", 0, 2), ("VP", 2, 3), ("S", 0, 3)]
  assert brackets.spans("(S (NP DT )VP )S") is None  # Mismatched label.
  assert brackets.spans("(S (NP DT NN )NP") is None  # Unclosed.


def test_a_crossing_bracket_costs_precision_and_recall():
  crossing = "(S DT (X NN VBZ )X )S"  # Brackets words 1-3, crossing NP (0-2).
  scores = brackets.bracket_scores([GOLD], [crossing])
  assert scores["bracket_precision"] == pytest.approx(1 / 2)  # S right, X wrong.
  assert scores["bracket_recall"] == pytest.approx(1 / 3)    # S of S, NP, VP.
  assert scores["bracket_f1"] == pytest.approx(0.4)


def test_an_unbalanced_prediction_is_a_parse_with_no_brackets_not_a_crash():
  scores = brackets.bracket_scores([GOLD, GOLD], [GOLD, "(S (NP DT NN )NP (VP"])
  assert scores["bracket_precision"] == 1.0       # 3 of 3 predicted brackets are right.
  assert scores["bracket_recall"] == pytest.approx(3 / 6)
  assert scores["bracket_f1"] == pytest.approx(2 / 3)


def test_token_accuracy_is_positional():
  assert brackets.token_accuracy([GOLD], ["(S (NP DT NN )NP (VP VBD )VP )S"]) == (
      pytest.approx(8 / 9))  # 9 tokens, brackets included; VBD for VBZ.
