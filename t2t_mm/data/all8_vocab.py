"""The subword vocabulary shared by the language problems of `all8` (the paper's problems).

It is trained on the English, German and French sides of the WMT EN-DE and EN-FR training data
(the first `corpus_pairs` pairs of each), so it is the same whichever problem builds it first;
the parsing and captioning problems therefore need the WMT data prepared too.

    problems.all8_vocab.vocab_size = 8192       # gin
"""

import gin

from t2t_mm import errors
from t2t_mm.data import vocab as vocab_lib
from t2t_mm.data.tfds_source import TfdsSource

WMT = (("wmt14_translate/de-en", "de"), ("wmt14_translate/fr-en", "fr"))


@gin.configurable("all8_vocab", module="problems")
def vocab_settings(vocab_size: int = 8192, corpus_pairs: int = 100_000):
  return {"vocab_size": vocab_size, "corpus_pairs": corpus_pairs}


def vocab_filename() -> str:
  return f"vocab.all8.subword.{vocab_settings()['vocab_size']}.model"


def build(data_dir: str, tmp_dir: str, problem: str, download: bool = False):
  settings = vocab_settings()
  sources = []
  for name, lang in WMT:
    src = TfdsSource(name, tmp_dir, download=download,
                     how_to_get="The all8 subword vocabulary is trained on WMT EN-DE and "
                     "EN-FR, so both must be prepared before any all8 language problem.")
    sources.append((src, lang))

  def corpus():
    for src, lang in sources:
      n = min(settings["corpus_pairs"], src.split_size("train"))
      for ex in src.examples("train", 0, n):
        yield ex["en"].decode("utf-8")
        yield ex[lang].decode("utf-8")

  import os
  if not os.path.isfile(os.path.join(data_dir, vocab_filename())):
    for src, _ in sources:
      try:
        src.check(problem)
      except errors.DataError as e:
        raise errors.DataError(f"{e} (needed for the shared vocabulary "
                               f"{vocab_filename()}).") from e
  return vocab_lib.get_or_build_subword_vocab(data_dir, vocab_filename(), corpus,
                                              settings["vocab_size"])
