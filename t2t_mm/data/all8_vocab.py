"""The subword vocabulary "all8" shared by the language problems of `all8` (the paper's problems).

A declared vocabulary (t2t_mm/data/vocabularies.py), trained on the train sides of WMT EN-DE and
EN-FR (the first `corpus_pairs` pairs of each), so it is the same whichever problem builds it
first; the parsing and captioning problems therefore need the WMT data prepared too. A problem
reuses it by naming it: `input_vocab_name = target_vocab_name = "all8"`.

    problems.all8_vocab.vocab_size = 8192       # gin
"""

import dataclasses

import gin

from t2t_mm import registry
from t2t_mm.data import vocabularies

NAME = "all8"


@gin.configurable("all8_vocab", module="problems")
def vocab_settings(vocab_size: int = 8192, corpus_pairs: int = 100_000):
  return {"vocab_size": vocab_size, "corpus_pairs": corpus_pairs}


@dataclasses.dataclass(frozen=True)
class All8Subword(vocabularies.Subword):
  """The all8 declaration: its size and corpus cap are read from gin when it is used."""

  def resolved(self) -> vocabularies.Subword:
    settings = vocab_settings()
    return vocabularies.Subword(size=settings["vocab_size"], sources=self.sources,
                                max_examples_per_source=settings["corpus_pairs"])


registry.register_vocabulary(All8Subword(sources=("wmt_ende", "wmt_enfr")), name=NAME)


def vocab_filename() -> str:
  return registry.lookup("vocabularies", NAME).filename(NAME)
