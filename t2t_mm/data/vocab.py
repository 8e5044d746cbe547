"""Building the shared subword vocabulary: SentencePiece unigram, trained once per data_dir.

The settings below make decoding lossless for any text (docs/STACK.md): byte fallback for
unseen characters, identity normalization, no whitespace squeezing, no dummy prefix.

    path = get_or_build_subword_vocab(data_dir, "vocab.all8_mini.subword", corpus_fn, 2000)
"""

import io
import os
from typing import Callable, Iterable

from t2t_mm import errors
from t2t_mm.data.spec import EOS_ID, PAD_ID
from t2t_mm.data.text_encoders import SubwordVocab
from t2t_mm.utils import atomic, fs

UNK_ID = 2


def build_subword_vocab(path: str, sentences: Iterable[str], vocab_size: int,
                        max_sentences: int = 2_000_000, num_threads: int = 2) -> SubwordVocab:
  """Trains a SentencePiece unigram model on `sentences` and writes it to `path` atomically.

  `vocab_size` is an upper bound (hard_vocab_limit=False): a small corpus gives fewer pieces.
  """
  import sentencepiece as spm
  model = io.BytesIO()
  try:
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model, vocab_size=vocab_size,
        model_type="unigram", byte_fallback=True, normalization_rule_name="identity",
        remove_extra_whitespaces=False, add_dummy_prefix=False, split_digits=True,
        pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1, hard_vocab_limit=False,
        input_sentence_size=max_sentences, shuffle_input_sentence=True,
        max_sentence_length=1 << 16, num_threads=num_threads, minloglevel=2)
  except RuntimeError as e:
    raise errors.DataError(f"Training the subword vocabulary {path} failed: {e}") from e
  with atomic.atomic_path(path) as tmp:
    with fs.open(tmp, "wb") as f:
      f.write(model.getvalue())
  return SubwordVocab(path)


def get_or_build_subword_vocab(data_dir: str, filename: str,
                               corpus_fn: Callable[[], Iterable[str]],
                               vocab_size: int) -> SubwordVocab:
  """The vocab `data_dir/filename`, trained on `corpus_fn()` if it does not exist yet."""
  path = os.path.join(data_dir, filename)
  if fs.isfile(path):
    return SubwordVocab(path)
  return build_subword_vocab(path, corpus_fn(), vocab_size)
