"""The table writer: head, separator and rows, cells as text."""

from t2t_mm.utils import markdown


def test_a_table_is_its_head_a_separator_and_its_rows():
  assert markdown.table(["problem", "bleu"], [["wmt", 23.4], ("x", "—")]) == [
      "| problem | bleu |", "|---|---|", "| wmt | 23.4 |", "| x | — |"]
  assert markdown.table(["a"]) == ["| a |", "|---|"]
