"""Markdown tables: the one writer of every table the project prints or writes.

    lines = markdown.table(["problem", "bleu"], [["wmt", "23.40"]])
    # ["| problem | bleu |", "|---|---|", "| wmt | 23.40 |"]
"""

from typing import Iterable, List, Sequence


def row(cells: Iterable[object]) -> str:
  """One table line: | a | b |."""
  return "| " + " | ".join(str(c) for c in cells) + " |"


def table(head: Sequence[object], rows: Iterable[Iterable[object]] = ()) -> List[str]:
  """The lines of a table: its head, the separator, and one line per row (cells as str)."""
  return [row(head), "|" + "---|" * len(head)] + [row(r) for r in rows]
