"""Metrics over decoded strings: BLEU (sacrebleu), WER, CER, exact match.

    bleu(["a cat sat"], ["a cat sat"])  -> 100.0
    wer(["a cat sat"], ["a dog sat"])   -> 1/3
"""

from typing import Sequence

import sacrebleu


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
  """Levenshtein distance between two sequences (insertions, deletions, substitutions)."""
  previous = list(range(len(hyp) + 1))
  for i, r in enumerate(ref, 1):
    current = [i]
    for j, h in enumerate(hyp, 1):
      current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
    previous = current
  return previous[-1]


def _error_rate(refs, hyps) -> float:
  errors = sum(edit_distance(r, h) for r, h in zip(refs, hyps, strict=True))
  return errors / max(sum(len(r) for r in refs), 1)


def wer(refs: Sequence[str], hyps: Sequence[str]) -> float:
  """Word error rate: word edits over reference words."""
  return _error_rate([r.split() for r in refs], [h.split() for h in hyps])


def cer(refs: Sequence[str], hyps: Sequence[str]) -> float:
  """Character error rate: character edits over reference characters."""
  return _error_rate(list(refs), list(hyps))


def bleu(refs: Sequence[str], hyps: Sequence[str]) -> float:
  """Corpus BLEU (0-100) with sacrebleu's standard 13a tokenization."""
  return sacrebleu.corpus_bleu(list(hyps), [list(refs)]).score


def exact_match(refs: Sequence[str], hyps: Sequence[str]) -> float:
  """Fraction of outputs equal to their reference (whitespace-trimmed)."""
  pairs = list(zip(refs, hyps, strict=True))
  return sum(r.strip() == h.strip() for r, h in pairs) / max(len(pairs), 1)


STRING_METRICS = {"bleu": bleu, "wer": wer, "cer": cer, "exact_match": exact_match}
