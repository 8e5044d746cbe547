"""Metrics over decoded strings, corpus-level: BLEU and chrF (sacreBLEU), WER and CER (jiwer),
exact match.

    bleu(refs, hyps)            -> corpus BLEU, 0-100 (refs: one string, or a list, per hyp)
    bleu_signature(refs)        -> "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:..."
    wer(["a cat sat"], ["a dog sat"])   -> 1/3

sacreBLEU and jiwer are the field's reference implementations: a figure from here is the figure
a reader computes from the hypotheses file with the same tools.
"""

from typing import List, Optional, Sequence, Union

import jiwer
import sacrebleu

References = Sequence[Union[str, Sequence[str]]]  # Per hypothesis: one reference, or several.


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
  """Levenshtein distance between two sequences (insertions, deletions, substitutions)."""
  previous = list(range(len(hyp) + 1))
  for i, r in enumerate(ref, 1):
    current = [i]
    for j, h in enumerate(hyp, 1):
      current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
    previous = current
  return previous[-1]


def reference_lists(refs: References) -> List[List[str]]:
  """Per hypothesis, the list of its references."""
  return [[r] if isinstance(r, str) else list(r) for r in refs]


def _streams(refs: References) -> List[List[Optional[str]]]:
  """sacreBLEU's layout: stream k holds every hypothesis' k-th reference (None if it has
  fewer)."""
  lists = reference_lists(refs)
  n = max((len(r) for r in lists), default=1)
  return [[r[k] if k < len(r) else None for r in lists] for k in range(n)]


def bleu(refs: References, hyps: Sequence[str]) -> float:
  """Corpus BLEU (0-100), sacreBLEU's defaults (13a tokenization, exp smoothing)."""
  return sacrebleu.metrics.BLEU().corpus_score(list(hyps), _streams(refs)).score


def _signature(metric, refs: References) -> str:
  # The signature counts references per example (one count, or "var"): one example of each
  # count gives the same signature as the whole corpus, without scoring it.
  lists = reference_lists(refs)
  one_of_each = list({len(r): r for r in lists}.values()) or [[""]]
  metric.corpus_score([""] * len(one_of_each), _streams(one_of_each))
  return str(metric.get_signature())


def bleu_signature(refs: References) -> str:
  """sacreBLEU's signature of bleu() over these references (what a paper quotes)."""
  return _signature(sacrebleu.metrics.BLEU(), refs)


def chrf(refs: References, hyps: Sequence[str]) -> float:
  """Corpus chrF (0-100), sacreBLEU's defaults (character 6-grams, beta 2)."""
  return sacrebleu.metrics.CHRF().corpus_score(list(hyps), _streams(refs)).score


def chrf_signature(refs: References) -> str:
  return _signature(sacrebleu.metrics.CHRF(), refs)


def _first(refs: References) -> List[str]:
  return [r[0] for r in reference_lists(refs)]


def wer(refs: References, hyps: Sequence[str]) -> float:
  """Word error rate: (substitutions + deletions + insertions) / reference words, over the
  corpus. An empty hypothesis is all deletions."""
  return _error_rate(jiwer.wer, _first(refs), hyps)


def cer(refs: References, hyps: Sequence[str]) -> float:
  """Character error rate: character edits / reference characters, over the corpus."""
  return _error_rate(jiwer.cer, _first(refs), hyps)


def _error_rate(fn, refs: List[str], hyps: Sequence[str]) -> float:
  pairs = [(r, h) for r, h in zip(refs, hyps, strict=True) if r.strip()]
  if not pairs:
    return 0.0
  # jiwer measures over the whole corpus; empty references have no words to measure against.
  return float(fn([r for r, _ in pairs], [h for _, h in pairs]))


def exact_match(refs: References, hyps: Sequence[str]) -> float:
  """Fraction of outputs equal to one of their references (whitespace-trimmed)."""
  lists = reference_lists(refs)
  pairs = list(zip(lists, hyps, strict=True))
  return sum(h.strip() in {r.strip() for r in rs} for rs, h in pairs) / max(len(pairs), 1)
