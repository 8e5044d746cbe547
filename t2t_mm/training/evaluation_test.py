"""ProblemStats, the accumulator of both evaluations: sums, chance, texts by split index, every
reference of an example, the first `limit` decodes; and the results table of its figures."""

import math

import numpy as np
import pytest

from t2t_mm import metrics
from t2t_mm.data import spec as spec_lib
from t2t_mm.runs import outputs
from t2t_mm.testing import fake_problems
from t2t_mm.training import evaluation

COPY = fake_problems.FakeCopyProblem().spec(None)
LABEL = fake_problems.FakeLabelProblem(num_classes=4).spec(None)
VOCAB = fake_problems.FakeVocab()


def test_sums_chance_and_texts_follow_the_split_index_not_the_batch_order():
  acc = evaluation.ProblemStats(COPY)
  # Batches of a length-ordered read: indices 2, 0 then 1.
  first = np.array([[5, 6, 1, 0], [3, 1, 0, 0]], np.int32)
  acc.add((4.0, 3.0, 5.0, 0.0), first, [2, 0])
  acc.add_texts(VOCAB, [2, 0], first, np.array([[5, 6, 1, 9], [4, 1, 0, 0]]))
  second = np.array([[3, 3, 1]], np.int32)
  acc.add((2.0, 3.0, 3.0, 0.0), second, [1])
  acc.add_texts(VOCAB, [1], second, np.array([[3, 3, 1]]))
  figures, signatures = acc.figures(("exact_match",))
  assert figures["loss"] == figures["log_perplexity"] == 6.0 / 8
  assert figures["token_accuracy"] == 6.0 / 8
  # Tokens (PAD dropped): 5 6 1 3 1 3 3 1 -> the most frequent, 1 and 3, 3 times of 8.
  assert figures["chance_token_accuracy"] == 3 / 8
  assert acc.hypotheses() == ["4", "3 3", "5 6"]  # Trimmed at EOS, split order.
  assert figures["exact_match"] == pytest.approx(2 / 3)
  assert set(signatures) == {"exact_match"} and acc.examples == 3
  # The first 2 decodes of the split, each against every one of its references.
  grouped = [["9", "4"], ["0"], ["5 6"]]
  assert acc.figures(("exact_match",), grouped, limit=2)[0]["exact_match"] == 0.5
  assert acc.figures(("exact_match",), grouped)[0]["exact_match"] == pytest.approx(2 / 3)


def test_class_labels_report_accuracy_top5_and_one_in_classes():
  acc = evaluation.ProblemStats(LABEL)
  acc.add((np.array([1.0, 2.0]), np.array([1.0, 0.0]), np.array([1.0, 1.0]),
           np.array([1.0, 1.0])), np.array([[2], [3]], np.int32), [0, 1])
  figures, _ = acc.figures()
  assert figures == {"loss": 1.5, "log_perplexity": 1.5, "token_accuracy": 0.5,
                     "accuracy": 0.5, "top5": 1.0, "chance_accuracy": 0.25}
  assert acc.per_example == {0: (1.0, 1.0, 1.0), 1: (2.0, 0.0, 1.0)}
  assert set(figures) - set(metrics.CHANCE) == set(evaluation.metric_names(LABEL))


def test_no_target_tokens_no_figures_and_bracket_f1_comes_with_its_parts():
  assert evaluation.ProblemStats(COPY).figures(("bleu",)) == ({}, {})
  tree = spec_lib.ProblemSpec(
      name="t", input_modality="symbol", target_modality="symbol",
      target_space=spec_lib.TargetSpace.TO_PARSE_TREE, target_vocab="v", target_vocab_size=9,
      metrics=("bracket_f1",))
  assert evaluation.metric_names(tree)[-3:] == (
      "bracket_f1", "bracket_precision", "bracket_recall")


def test_the_results_table_has_one_row_per_problem_in_reported_order():
  table = outputs.results_table(
      {"b": {"loss": 1.0, "log_perplexity": 1.0, "token_accuracy": 0.5, "top5": 0.9,
             "accuracy": 0.5, "chance_accuracy": 0.25},
       "a": {"loss": 2.0, "log_perplexity": 2.0, "token_accuracy": 0.25,
             "chance_token_accuracy": 0.125, "exact_match": 0.0, "bleu": 12.345},
       "_timing": {"x": 1.0}, "c": {}},
      examples={"a": 3, "b": 7}).splitlines()
  assert table == [
      "| problem | examples | log-ppl | token acc | chance | metrics |",
      "|---|---|---|---|---|---|",
      "| a | 3 | 2.000 | 0.250 | 0.125 | bleu 12.35, exact_match 0 |",
      "| b | 7 | 1.000 | 0.500 | 0.250 | accuracy 0.5, top5 0.9 |"]
  assert outputs.results_table({"a": {"log_perplexity": math.nan}}).splitlines()[0] == (
      "| problem | log-ppl | token acc | chance | metrics |")
