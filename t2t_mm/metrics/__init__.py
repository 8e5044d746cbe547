"""Metrics over decoded strings, by the names problems list in `metrics`.

    metrics.compute("bleu", refs, hyps)    # refs: per hypothesis one reference or several
    metrics.reported(False, ("bleu", "chrf"))
    # ("loss", "log_perplexity", "token_accuracy", "bleu", "chrf"): what an evaluation reports

Every function is corpus-level and takes (refs, hyps); `SIGNATURES` says how to name a
figure so that a reader can reproduce it.
"""

from typing import Callable, Dict, Iterable, Tuple

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


# The names every evaluation reports (the trainer's dev evaluation and mm-eval alike), beside
# the string metrics a problem lists; the one place they are spelled.
TEACHER_FORCED = ("loss", "log_perplexity", "token_accuracy")
CLASS_LABEL = ("accuracy", "top5")  # Targets of one token (class labels) only.
CHANCE = ("chance_accuracy", "chance_token_accuracy")
# bracket_f1 comes with the precision and recall it is made of.
COMPANIONS = {"bracket_f1": ("bracket_precision", "bracket_recall")}


def string_metrics(*metric_lists: Iterable[str]) -> Tuple[str, ...]:
  """The string metrics among `metric_lists` (a spec's and a problem's), first mention first."""
  return tuple(m for m in dict.fromkeys(m for names in metric_lists for m in names)
               if m in STRING_METRICS)


def reported(one_token_targets: bool, *metric_lists: Iterable[str]) -> Tuple[str, ...]:
  """Every figure an evaluation reports for a problem whose target modality has
  `one_token_targets` and which lists `metric_lists` (what best_metric may name), chance
  levels aside."""
  names = TEACHER_FORCED + (CLASS_LABEL if one_token_targets else ())
  for m in string_metrics(*metric_lists):
    names += (m,) + COMPANIONS.get(m, ())
  return names
