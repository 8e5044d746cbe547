"""Labeled bracket precision / recall / F1 (EVALB-style) over linearized trees.

    spans("(S (NP NNP NNP )NP (VP VBZ )VP )S")   -> [("NP", 0, 2), ("VP", 2, 3), ("S", 0, 3)]
    bracket_scores(refs, hyps)                   -> {"bracket_precision", ..._recall, ..._f1}

Trees are linearized as t2t_mm/data/ptb.py writes them: "(X" opens a constituent X, ")X"
closes it, every other token is one word's POS tag. A constituent is (label, first word, end),
matched as a multiset against the reference's. Scores are corpus-level (summed counts), as
EVALB's; unlike EVALB's COLLINS.prm, punctuation tags count as words. A predicted tree that is
not well formed (brackets that do not balance or match) is a parse with no brackets: it adds
nothing to the matches and nothing to the predicted count, so it costs recall.
"""

import collections
from typing import Dict, List, Optional, Sequence, Tuple

Span = Tuple[str, int, int]


def spans(tree: str) -> Optional[List[Span]]:
  """The constituents of a linearized tree, or None if it is not well formed."""
  stack: List[Tuple[str, int]] = []
  out: List[Span] = []
  words = 0
  for token in tree.split():
    if token.startswith("(") and len(token) > 1:
      stack.append((token[1:], words))
    elif token.startswith(")") and len(token) > 1:
      if not stack or stack[-1][0] != token[1:]:
        return None
      label, start = stack.pop()
      out.append((label, start, words))
    else:
      words += 1
  return out if not stack and out else None


def bracket_counts(ref: str, hyp: str) -> Tuple[int, int, int]:
  """(matched, predicted, reference) constituents of one sentence."""
  gold = spans(ref) or []
  pred = spans(hyp)
  if pred is None:
    return 0, 0, len(gold)
  matched = sum((collections.Counter(gold) & collections.Counter(pred)).values())
  return matched, len(pred), len(gold)


def bracket_scores(refs: Sequence[str], hyps: Sequence[str]) -> Dict[str, float]:
  """Corpus labeled bracket precision, recall and F1 (0-1)."""
  matched = predicted = gold = 0
  for ref, hyp in zip(refs, hyps, strict=True):
    m, p, g = bracket_counts(ref, hyp)
    matched, predicted, gold = matched + m, predicted + p, gold + g
  precision = matched / predicted if predicted else 0.0
  recall = matched / gold if gold else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  return {"bracket_precision": precision, "bracket_recall": recall, "bracket_f1": f1}


def token_accuracy(refs: Sequence[str], hyps: Sequence[str]) -> float:
  """Share of reference tokens the hypothesis has at the same position (the paper's parsing
  figure, over output tokens rather than subword ids)."""
  correct = total = 0
  for ref, hyp in zip(refs, hyps, strict=True):
    r, h = ref.split(), hyp.split()
    correct += sum(a == b for a, b in zip(r, h))
    total += len(r)
  return correct / total if total else 0.0
