"""Metrics over decoded strings, by the names problems list in `metrics`.

    metrics.compute("bleu", refs, hyps)    # refs: per hypothesis one reference or several

Every function is corpus-level and takes (refs, hyps); `SIGNATURES` says how to name a
figure so that a reader can reproduce it.
"""

from typing import Callable, Dict

from t2t_mm.metrics import brackets
from t2t_mm.metrics import cider
from t2t_mm.metrics import strings


def _first(refs):
  return [r[0] for r in strings.reference_lists(refs)]


STRING_METRICS: Dict[str, Callable] = {
    "bleu": strings.bleu,
    "chrf": strings.chrf,
    "wer": strings.wer,
    "cer": strings.cer,
    "exact_match": strings.exact_match,
    "bracket_f1": lambda refs, hyps: brackets.bracket_scores(_first(refs), hyps)["bracket_f1"],
    "cider_d": lambda refs, hyps: cider.cider_d(strings.reference_lists(refs), hyps),
}

SIGNATURES: Dict[str, Callable] = {
    "bleu": strings.bleu_signature,
    "chrf": strings.chrf_signature,
    "wer": lambda refs: "jiwer: word edits / reference words, whole corpus",
    "cer": lambda refs: "jiwer: character edits / reference characters, whole corpus",
    "exact_match": lambda refs: "whitespace-trimmed equality with any reference",
    "bracket_f1": lambda refs: "labeled brackets of linearized trees, corpus counts, EVALB-style",
    "cider_d": lambda refs: "CIDEr-D, n=1..4, sigma=6, df over this split's references",
}


def compute(name: str, refs, hyps) -> float:
  return float(STRING_METRICS[name](refs, hyps))
