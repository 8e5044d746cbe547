"""Vocabularies by declaration: a vocabulary says what it is built from; problems name it.

    registry.register_vocabulary(
        vocabularies.Subword(size=8000, sources=("my_pairs", "my_trees")), name="my_text")

    class MyPairs(TextPairs):
      input_vocab_name = target_vocab_name = "my_text"

mm-datagen builds a declared vocabulary once, before the shards of any problem that uses it,
from the train split of each source problem: every side (inputs, targets) of that problem that
uses the vocabulary. The file is data_dir/vocab.<name>.subword.<size>.model, so a vocabulary of
another size is another file, and every problem that names the vocabulary reads the same one.
Shards hold text, not ids, so the shards do not change with the vocabulary.
"""

import dataclasses
import os
from typing import Iterator, Optional, Tuple

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data import text_encoders
from t2t_mm.data import vocab as vocab_lib
from t2t_mm.utils import fs

SIDES = ("inputs", "targets")
MIN_SIZE = 320


@dataclasses.dataclass(frozen=True)
class Subword:
  """A SentencePiece unigram vocabulary trained on the train texts of `sources`.

  Args:
    size: most pieces (a small corpus gives fewer).
    sources: registered names of the problems whose train texts train it (at least one).
    max_examples_per_source: read at most this many train examples of each source.

  Example:
    >>> registry.register_vocabulary(Subword(size=4000, sources=("my_pairs",)), name="mine")
  """

  size: int = 8000
  sources: Tuple[str, ...] = ()
  max_examples_per_source: int = 200_000

  def __post_init__(self):
    object.__setattr__(self, "sources", tuple(self.sources))
    if not self.sources or not all(isinstance(s, str) and s for s in self.sources):
      raise errors.ConfigError(
          f"Subword(sources={self.sources!r}): name the problems whose train texts build the "
          "vocabulary, e.g. sources=('my_pairs',).")
    if self.size < MIN_SIZE or self.max_examples_per_source < 1:
      raise errors.ConfigError(
          f"Subword(size={self.size}, max_examples_per_source={self.max_examples_per_source}): "
          f"size must be at least {MIN_SIZE} (byte fallback needs 256 byte pieces besides the "
          "corpus's characters) and max_examples_per_source positive.")

  def resolved(self) -> "Subword":
    """The settings in force (a subclass may read them from gin at datagen time)."""
    return self

  def filename(self, name: str) -> str:
    return f"vocab.{name}.subword.{self.resolved().size}.model"

  def load(self, data_dir: str, name: str) -> text_encoders.SubwordVocab:
    return text_encoders.SubwordVocab(os.path.join(data_dir, self.filename(name)), name=name)

  def build(self, data_dir: str, tmp_dir: str, name: str) -> None:
    """Writes the vocabulary file unless it is there; DataError if a source lacks raw data."""
    path = os.path.join(data_dir, self.filename(name))
    if fs.isfile(path):
      return
    settings = self.resolved()
    problems = []
    for source in settings.sources:
      problem = registry.problem(source)
      sides = problem_sides(problem, name)
      if not sides:
        raise errors.ConfigError(
            f"Vocabulary '{name}' is built from problem '{source}', which does not use it "
            f"(its vocabularies: inputs {problem.input_vocab_name!r}, targets "
            f"{problem.target_vocab_name!r}).")
      try:
        problem.check_raw_data(tmp_dir)
      except errors.DataError as e:
        raise errors.DataError(f"{e} (vocabulary '{name}' is built from the train data of "
                               f"{', '.join(settings.sources)}).") from e
      problems.append((problem, sides))

    def texts() -> Iterator[str]:
      for problem, sides in problems:
        n = min(settings.max_examples_per_source, problem.split_size("train", tmp_dir))
        for ex in problem.examples("train", tmp_dir, 0, n):
          for side in sides:
            yield ex[side]

    fs.makedirs(data_dir)
    vocab_lib.build_subword_vocab(path, texts(), settings.size)


def problem_sides(problem, vocab_name: str) -> Tuple[str, ...]:
  """The stored sides ("inputs", "targets") of `problem` whose vocabulary is `vocab_name`."""
  return tuple(side for side, name in zip(SIDES, stored_vocab_names(problem)) if name == vocab_name)


def stored_vocab_names(problem) -> Tuple[Optional[str], Optional[str]]:
  """(inputs, targets) vocabulary names of the stored sides (a _rev variant swaps neither)."""
  return problem.input_vocab_name, problem.target_vocab_name


def declaration(name: str) -> Optional[Subword]:
  """The registered declaration `name`, or None if no vocabulary has that name."""
  if name in registry.names("vocabularies"):
    return registry.lookup("vocabularies", name)
  return None


def _check_declaration(obj) -> Optional[str]:
  if not isinstance(obj, Subword):
    return ("a vocabulary is a declaration such as t2t_mm.data.vocabularies.Subword(size=..., "
            "sources=(...)).")
  return None


registry.set_check("vocabularies", _check_declaration)
