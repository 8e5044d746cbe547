"""The shared subword vocabulary of all8_mini, trained on text from the mini generators.

    problems.all8_mini_vocab.vocab_size = 1000     # gin: one size for every mini problem
"""

from typing import Iterator

import gin
import numpy as np

from t2t_mm.data import vocabularies
from t2t_mm.data.mini import grammar
from t2t_mm.data.mini import scenes


@gin.configurable("all8_mini_vocab", module="problems")
def vocab_settings(vocab_size: int = 2000, corpus_sentences: int = 6000,
                   data_seed: int = 7):
  """Size of the all8_mini subword vocab and of the corpus it is trained on."""
  return {"vocab_size": vocab_size, "corpus_sentences": corpus_sentences,
          "seed": data_seed}


def vocab_filename() -> str:
  return f"vocab.all8_mini.subword.{vocab_settings()['vocab_size']}.model"


def corpus(corpus_sentences: int, seed: int) -> Iterator[str]:
  """English, German, French, trees (train meanings only) and captions."""
  for i in range(corpus_sentences):
    r = grammar.render(grammar.example_for(seed, "train", i, "vocab"))
    yield from (r["en"], r["de"], r["fr"], r["tree"])
  rng = np.random.default_rng(seed)
  for _ in range(corpus_sentences // 4):
    yield scenes.caption_example(rng, size=8)[1]


def build(data_dir: str):
  s = vocab_settings()
  return vocabularies.get_or_build_subword_vocab(
      data_dir, vocab_filename(), lambda: corpus(s["corpus_sentences"], s["seed"]),
      s["vocab_size"])
