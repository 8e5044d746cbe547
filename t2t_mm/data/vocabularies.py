"""Vocabularies: one contract (`Vocabulary`), its kinds, and how problems name them.

A vocabulary turns text into int ids and back, in Python (`encode`, `decode`) and in-graph
(`encode_tf`, `decode_tf`: SeqIO's Vocabulary is the model). Every vocabulary reserves PAD = 0
and EOS = 1 (t2t_mm/data/spec.py) except class labels; `encode` appends no EOS (the pipeline
does); `decode` stops at the first EOS and drops PAD.

    vocab = SubwordVocab("data/vocab.all8_mini.subword.2000.model")
    ids = vocab.encode(" \tHällo 🙂")   # [..]; vocab.decode(ids) == " \tHällo 🙂" (lossless)
    ByteVocab().encode("ab")            # [99, 100]: byte + 2
    ClassLabelVocab(["cat", "dog"]).encode("dog")  # [1]

A problem names the vocabulary of each side (`input_vocab_name`, `target_vocab_name`): a
`Vocabulary` object, or a name registered with `registry.register_vocabulary`. A registered
entry is a Vocabulary (used as it is) or a `Declaration`, which says how the vocabulary is
built and read from data_dir; `resolve` turns either into a Vocabulary. Registered here:

    "bytes"    ByteVocab()
    "labels"   the problem's `class_labels`, or data_dir/<problem>.labels.txt
    "subword"  data_dir/<problem.subword_vocab_file> (the mini problems' shared vocabulary)
    "own"      the problem's own Subword(size=problem.vocab_size, sources=(problem,)), named
               after the problem (so its _rev shares it)

A new kind is one subclass and one registration:

    registry.register_vocabulary(MyVocab(), name="mine")       # class MyVocab(Vocabulary)
    registry.register_vocabulary(
        vocabularies.Subword(size=8000, sources=("my_pairs", "my_trees")), name="my_text")

mm-datagen builds a declared vocabulary once, before the shards of any problem that uses it,
from the train split of each source problem: every side (inputs, targets) of that problem that
uses the vocabulary. The file of a Subword declaration is
data_dir/vocab.<name>.subword.<size>.model, so a vocabulary of another size is another file, and
every problem that names the vocabulary reads the same one. Shards hold text, not ids, so the
shards do not change with the vocabulary.
"""

from __future__ import annotations

import abc
import dataclasses
import io
import os
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data.spec import EOS_ID, PAD_ID
from t2t_mm.utils import atomic, fs
from t2t_mm.utils.lazy import tf

SIDES = ("inputs", "targets")
MIN_SIZE = 320
UNK_ID = 2


class Vocabulary(abc.ABC):
  """The contract of every vocabulary: text <-> ids, in Python and (optionally) in-graph.

  A subclass implements `vocab_size`, `encode` and `decode`; it implements `encode_tf` and
  `decode_tf` too if it can be served (an exported `_strings` signature) and encoded in tf.data
  (else the pipeline calls `encode` through tf.py_function).

  Attributes:
    name: what problem specs call it; modality nets are shared by this name, so it is part of a
      checkpoint's variable names.
    path: the file it was read from, or None; a run copies such files (t2t_mm/runs/run_vocab.py).
    pad_id, eos_id: the reserved ids, None for a vocabulary without them (class labels).
    encodes_batches: whether encode_tf also takes string [B] -> int32 ragged [B, None] (then
      tf.data encodes a batch of stored texts at once).

  Example:
    >>> class Letters(Vocabulary):            # a..z as ids 2..27
    ...   name, vocab_size = "letters", 28
    ...   def encode(self, text): return [ord(c) - 95 for c in text]
    ...   def decode(self, ids): return "".join(chr(i + 95) for i in strip_special(ids))
    >>> registry.register_vocabulary(Letters(), name="letters")
  """

  name: str = ""
  path: Optional[str] = None
  pad_id: Optional[int] = PAD_ID
  eos_id: Optional[int] = EOS_ID
  encodes_batches: bool = False

  @property
  @abc.abstractmethod
  def vocab_size(self) -> int:
    """Ids are 0 .. vocab_size - 1 (the reserved ones included)."""

  @abc.abstractmethod
  def encode(self, text: str) -> List[int]:
    """Text -> ids, without EOS."""

  @abc.abstractmethod
  def decode(self, ids: Sequence[int]) -> str:
    """Ids -> text: up to the first EOS, PAD dropped."""

  def encode_tf(self, text: "tf.Tensor") -> "tf.Tensor":
    """string [] -> int32 [n] (no EOS); a subword vocabulary also takes string [B] -> ragged."""
    raise errors.ConfigError(f"{type(self).__name__} has no in-graph form (encode_tf).")

  def decode_tf(self, ids: "tf.Tensor") -> "tf.Tensor":
    """int32 [M, L] -> string [M], as `decode` does row by row."""
    raise errors.ConfigError(f"{type(self).__name__} has no in-graph form (decode_tf).")

  def has_tf(self, method: str) -> bool:
    """Whether the subclass implements the in-graph `method` ("encode_tf" or "decode_tf")."""
    return getattr(type(self), method) is not getattr(Vocabulary, method)

  def tf_resources(self) -> Dict[str, object]:
    """tf.Modules the in-graph form uses: a SavedModel must track them to save their state."""
    return {}


def strip_special(ids: Iterable[int]) -> List[int]:
  """Ids up to the first EOS, without PAD."""
  out = []
  for i in ids:
    i = int(i)
    if i == EOS_ID:
      break
    if i != PAD_ID:
      out.append(i)
  return out



def until_eos_tf(ids: "tf.Tensor") -> "tf.RaggedTensor":
  """int32 [M, L] -> ragged [M, None]: the ids before the first EOS, without PAD."""
  before_eos = tf.cumsum(tf.cast(tf.equal(ids, EOS_ID), tf.int32), axis=1) == 0
  return tf.ragged.boolean_mask(ids, before_eos & tf.not_equal(ids, PAD_ID))


def _valid_utf8(texts: "tf.Tensor") -> "tf.Tensor":
  # Ids can spell invalid UTF-8 (byte pieces, bytes); U+FFFD for those, as decode() does.
  return tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace",
                                      replacement_char=0xFFFD)


# --- Kinds ---------------------------------------------------------------------------------

def _vocab_error(path: str, message: str) -> errors.DataError:
  """A DataError about the vocabulary file `path` (kept as .path, for the fix a Problem names)."""
  e = errors.DataError(message)
  e.path = path
  return e


class SubwordVocab(Vocabulary):
  """A SentencePiece model: lossless for any Unicode text (byte fallback, identity normalization).

  Args:
    path: the `.model` file written by `build_subword_vocab`.
    name: what problems call it (their modality nets are shared by name).
  """

  encodes_batches = True

  def __init__(self, path: str, name: str = "subword"):
    self.name = name
    import sentencepiece as spm
    if not fs.isfile(path):
      raise _vocab_error(path, f"No subword vocabulary at {path}; run mm-datagen for a problem "
                         "that uses it first.")
    self.path = path
    try:
      with fs.open(path, "rb") as f:
        self.model_proto = f.read()
    except OSError as e:
      raise _vocab_error(path, f"Cannot read the subword vocabulary {path} ({e.strerror}).") from e
    try:
      self._sp = spm.SentencePieceProcessor(model_proto=self.model_proto)
    except RuntimeError as e:  # What sentencepiece raises for a proto it cannot parse.
      raise _vocab_error(path, f"The subword vocabulary {path} is damaged ({len(self.model_proto)} "
                         "bytes that are not a SentencePiece model; truncated?).") from e
    if self._sp.pad_id() != PAD_ID or self._sp.eos_id() != EOS_ID:
      raise _vocab_error(path, f"{path}: expected pad_id={PAD_ID}, eos_id={EOS_ID}, got "
                         f"{self._sp.pad_id()}, {self._sp.eos_id()}.")
    self._tokenizer = None
    self._fast = None  # (FastSentencepieceTokenizer, pattern), built on first use.

  @property
  def vocab_size(self) -> int:
    return self._sp.get_piece_size()

  def encode(self, text: str) -> List[int]:
    return list(self._sp.encode(text))

  def decode(self, ids: Sequence[int]) -> str:
    return self._sp.decode(strip_special(ids))

  @property
  def tokenizer(self):
    """The in-graph tensorflow-text SentencepieceTokenizer (a tf.Module: attach it to a module
    you export, so its resource is saved)."""
    if self._tokenizer is None:
      import tensorflow_text as tft
      # Eager even when first used inside a tf.function or a dataset map, so that later
      # graphs can capture it.
      with tf.init_scope():
        self._tokenizer = tft.SentencepieceTokenizer(model=self.model_proto, out_type=tf.int32)
    return self._tokenizer

  def encode_tf(self, text: tf.Tensor) -> tf.Tensor:
    """string [] -> int32 [n], or string [B] -> int32 ragged [B, None]; no EOS.

    Equal to `encode` (SentencePiece) for every input. Lines made only of characters that
    are single pieces of a unigram vocab go through tensorflow-text's
    FastSentencepieceTokenizer (~2.5x faster here); the rest (characters that need byte
    fallback, which the fast one turns into <unk>, tabs and other non-space whitespace,
    a literal U+2581) through the SentencepieceTokenizer. docs/STACK.md has the figures.
    """
    text = tf.convert_to_tensor(text, tf.string)
    if text.shape.rank == 0:
      return self._encode_tf_batch(text[None]).flat_values
    if text.shape.rank != 1:
      raise ValueError(f"SubwordVocab.encode_tf({self.path}): expected a string scalar or "
                       f"vector, got shape {text.shape}.")
    return self._encode_tf_batch(text)

  def decode_tf(self, ids: tf.Tensor) -> tf.Tensor:
    return _valid_utf8(self.tokenizer.detokenize(until_eos_tf(ids)))

  def tf_resources(self) -> Dict[str, object]:
    return {"tokenizer": self.tokenizer}

  def on_fast_path(self, text: tf.Tensor) -> tf.Tensor:
    """string [B] -> bool [B]: the lines encode_tf gives to the fast tokenizer."""
    pattern = self._fast_path()[1]
    if pattern is None:
      return tf.zeros(tf.shape(text), tf.bool)
    return tf.strings.regex_full_match(text, pattern)

  def _encode_tf_batch(self, text: tf.Tensor) -> tf.Tensor:
    fast = self._fast_path()[0]
    if fast is None:
      return self.tokenizer.tokenize(text)
    #   text [B] -> on_fast [B] (every character a single piece)
    #   fast ids [B, None] for all; exact ids [X, None] for the X others; pick row by row.
    on_fast = self.on_fast_path(text)
    fast_ids = fast.tokenize(text).with_row_splits_dtype(tf.int64)
    others = tf.cast(tf.where(tf.logical_not(on_fast))[:, 0], tf.int32)
    exact_ids = self.tokenizer.tokenize(tf.gather(text, others)).with_row_splits_dtype(tf.int64)
    b = tf.shape(text)[0]
    pick = tf.tensor_scatter_nd_update(tf.range(b), others[:, None],
                                       b + tf.range(tf.shape(others)[0]))
    return tf.gather(tf.concat([fast_ids, exact_ids], axis=0), pick)

  def _fast_path(self):
    """(FastSentencepieceTokenizer, RE2 pattern of the lines it encodes exactly) or (None, None)
    for a non-unigram model."""
    if self._fast is None:
      from sentencepiece import sentencepiece_model_pb2
      proto = sentencepiece_model_pb2.ModelProto()
      proto.ParseFromString(self.model_proto)
      if proto.trainer_spec.model_type != proto.trainer_spec.UNIGRAM:
        self._fast = (None, None)
      else:
        import tensorflow_text as tft
        normal = proto.SentencePiece.NORMAL
        chars = sorted({p.piece.replace("\u2581", " ") for p in proto.pieces
                        if p.type == normal and len(p.piece) == 1} - {"\u2581"})
        pattern = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]*"
        with tf.init_scope():  # Its model is a constant: eager, as for `tokenizer`.
          self._fast = (tft.FastSentencepieceTokenizer(self.model_proto), pattern)
    return self._fast


class ByteVocab(Vocabulary):
  """UTF-8 bytes shifted by 2 (PAD, EOS): 258 ids, lossless, no file needed."""

  name = "bytes"
  offset = 2
  vocab_size = 256 + 2

  def encode(self, text: str) -> List[int]:
    return [b + self.offset for b in text.encode("utf-8")]

  def decode(self, ids: Sequence[int]) -> str:
    return bytes(i - self.offset for i in strip_special(ids) if i >= self.offset).decode(
        "utf-8", errors="replace")

  def encode_tf(self, text: tf.Tensor) -> tf.Tensor:
    """string [] -> int32 [n] (no EOS)."""
    return tf.cast(tf.io.decode_raw(text, tf.uint8), tf.int32) + self.offset

  def decode_tf(self, ids: tf.Tensor) -> tf.Tensor:
    byte_ids = tf.clip_by_value(until_eos_tf(ids) - self.offset, 0, 255)
    byte_strings = tf.constant([bytes([i]) for i in range(256)])
    return _valid_utf8(tf.strings.reduce_join(tf.gather(byte_strings, byte_ids), axis=1))


class ClassLabelVocab(Vocabulary):
  """Class names <-> label ids 0 .. n-1 (class labels have no PAD or EOS).

  Args:
    labels: the class names, in label order.
  """

  name = "labels"
  path = None  # The file the labels were read from (a run copies it: t2t_mm/runs/run_vocab.py).
  pad_id = eos_id = None

  def __init__(self, labels: Sequence[str]):
    self.labels = list(labels)
    self._index = {label: i for i, label in enumerate(self.labels)}
    if len(self._index) != len(self.labels):
      raise errors.ConfigError(f"Class labels are not unique: {self.labels}.")

  @classmethod
  def from_file(cls, path: str) -> "ClassLabelVocab":
    """One class name per line (written by datagen for problems whose classes come with the
    raw data)."""
    if not fs.isfile(path):
      raise _vocab_error(path, f"No class label file at {path}; run mm-datagen for its problem.")
    with fs.open(path, encoding="utf-8") as f:
      vocab = cls([line.rstrip("\n") for line in f])
    vocab.path = path
    return vocab

  def save(self, path: str) -> None:
    atomic.atomic_write_text(path, "".join(f"{label}\n" for label in self.labels))

  @property
  def vocab_size(self) -> int:
    return len(self.labels)

  def encode(self, text: str) -> List[int]:
    if text not in self._index:
      raise errors.UnknownNameError(
          f"Unknown class label '{text}'.{errors.did_you_mean(text, self.labels)}")
    return [self._index[text]]

  def decode(self, ids: Sequence[int]) -> str:
    ids = list(ids)
    if not ids or not 0 <= int(ids[0]) < len(self.labels):
      raise errors.DataError(f"Label ids {ids} are not in 0..{len(self.labels) - 1}.")
    return self.labels[int(ids[0])]

  def decode_tf(self, ids: tf.Tensor) -> tf.Tensor:
    return tf.gather(tf.constant(self.labels), ids[:, 0])


# --- Building a subword vocabulary (SentencePiece unigram) ---------------------------------
#
# The settings make decoding lossless for any text (docs/STACK.md): byte fallback for unseen
# characters, identity normalization, no whitespace squeezing, no dummy prefix.

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


# --- Declarations: vocabularies built from data, named by problems -------------------------

class Declaration(abc.ABC):
  """A registered vocabulary that is read from data_dir (and perhaps built there by datagen).

  A registry entry is a Vocabulary (used as it is) or a Declaration; `resolve` turns either,
  or a problem's Vocabulary object, into the Vocabulary of one side of one problem.
  """

  def vocab_name(self, name: str, problem) -> str:
    """The name the vocabulary has for `problem` when it declares `name` (its spec's name)."""
    del problem
    return name

  @abc.abstractmethod
  def load(self, data_dir: str, name: str, problem=None) -> Vocabulary:
    """The vocabulary `name` of `problem`, read from data_dir; DataError (with .path) if its
    file is missing or damaged."""

  def build(self, data_dir: str, tmp_dir: str, name: str, problem=None) -> None:
    """Writes its file into data_dir unless it is there (datagen); nothing to write by default."""


@dataclasses.dataclass(frozen=True)
class Subword(Declaration):
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

  def load(self, data_dir: str, name: str, problem=None) -> SubwordVocab:
    return SubwordVocab(os.path.join(data_dir, self.filename(name)), name=name)

  def build(self, data_dir: str, tmp_dir: str, name: str, problem=None) -> None:
    """Writes the vocabulary file unless it is there; DataError if a source lacks raw data."""
    path = os.path.join(data_dir, self.filename(name))
    if fs.isfile(path):
      return
    settings = self.resolved()
    problems = []
    for source in settings.sources:
      source_problem = registry.problem(source)
      sides = problem_sides(source_problem, name)
      if not sides:
        names = stored_vocab_names(source_problem)
        raise errors.ConfigError(
            f"Vocabulary '{name}' is built from problem '{source}', which does not use it "
            f"(its vocabularies: inputs {names[0]!r}, targets {names[1]!r}).")
      try:
        source_problem.check_raw_data(tmp_dir)
      except errors.DataError as e:
        raise errors.DataError(f"{e} (vocabulary '{name}' is built from the train data of "
                               f"{', '.join(settings.sources)}).") from e
      problems.append((source_problem, sides))

    def texts() -> Iterator[str]:
      for source_problem, sides in problems:
        n = min(settings.max_examples_per_source, source_problem.split_size("train", tmp_dir))
        for ex in source_problem.examples("train", tmp_dir, 0, n):
          for side in sides:
            yield ex[side]

    fs.makedirs(data_dir)
    build_subword_vocab(path, texts(), settings.size)


class Own(Declaration):
  """"own": the problem's own Subword vocabulary (`vocab_size` pieces from its train split),
  named after the problem (its _rev variant reads the same file)."""

  def vocab_name(self, name: str, problem) -> str:
    return problem.base_name

  def _subword(self, problem) -> Subword:
    return Subword(size=problem.vocab_size, sources=(problem.base_name,))

  def load(self, data_dir: str, name: str, problem=None) -> SubwordVocab:
    return self._subword(problem).load(data_dir, problem.base_name)

  def build(self, data_dir: str, tmp_dir: str, name: str, problem=None) -> None:
    self._subword(problem).build(data_dir, tmp_dir, problem.base_name)


class ProblemSubwordFile(Declaration):
  """"subword": the SentencePiece file data_dir/<problem.subword_vocab_file>, which the
  problem's build_vocabs writes (the mini problems share one, t2t_mm/data/mini/corpus.py)."""

  def load(self, data_dir: str, name: str, problem=None) -> SubwordVocab:
    return SubwordVocab(os.path.join(data_dir, problem.subword_vocab_file))


class ClassLabels(Declaration):
  """"labels": the problem's `class_labels`, or the names its datagen wrote to
  data_dir/<problem>.labels.txt (one per line)."""

  def load(self, data_dir: str, name: str, problem=None) -> ClassLabelVocab:
    if problem.class_labels:
      return ClassLabelVocab(problem.class_labels)
    return ClassLabelVocab.from_file(os.path.join(data_dir, f"{problem.data_name}.labels.txt"))


# What a problem's side names: a registered name, a Vocabulary, or None (images, audio).
Declared = Union[str, Vocabulary, None]


def _entry(declared: str, problem) -> Union[Vocabulary, Declaration]:
  if declared in registry.names("vocabularies"):
    return registry.lookup("vocabularies", declared)
  raise errors.UnknownNameError(
      f"Problem '{problem.name}': unknown vocabulary '{declared}'."
      f"{errors.did_you_mean(declared, registry.names('vocabularies'))} Declare it with "
      "registry.register_vocabulary(vocabularies.Subword(size=..., sources=(...)), name=...) "
      "or register a Vocabulary object (t2t_mm/data/vocabularies.py).")


def _check_declared(declared, problem) -> None:
  if declared is not None and not isinstance(declared, (str, Vocabulary)):
    raise errors.ConfigError(
        f"Problem '{problem.name}': a side's vocabulary is a registered name or a "
        f"t2t_mm.data.vocabularies.Vocabulary object, got {type(declared).__name__}.")


def resolve(declared: Declared, problem, data_dir: str) -> Optional[Vocabulary]:
  """The vocabulary that `problem` declares for one side (None for none), read from data_dir
  where it is a file."""
  _check_declared(declared, problem)
  if declared is None or isinstance(declared, Vocabulary):
    return declared
  entry = _entry(declared, problem)
  if isinstance(entry, Vocabulary):
    return entry
  return entry.load(data_dir, declared, problem)


def build(declared: Declared, problem, data_dir: str, tmp_dir: str) -> None:
  """Writes the files of a declared vocabulary into data_dir (datagen); nothing for others."""
  _check_declared(declared, problem)
  if isinstance(declared, str):
    entry = _entry(declared, problem)
    if isinstance(entry, Declaration):
      entry.build(data_dir, tmp_dir, declared, problem)


def vocab_name(declared: Declared, problem) -> Optional[str]:
  """The name of the vocabulary `problem` declares for a side (None for none)."""
  _check_declared(declared, problem)
  if declared is None:
    return None
  if isinstance(declared, Vocabulary):
    return declared.name
  entry = _entry(declared, problem) if declared in registry.names("vocabularies") else None
  return entry.vocab_name(declared, problem) if isinstance(entry, Declaration) else declared


def problem_sides(problem, name: str) -> Tuple[str, ...]:
  """The stored sides ("inputs", "targets") of `problem` whose vocabulary is `name`."""
  return tuple(side for side, own in zip(SIDES, stored_vocab_names(problem)) if own == name)


def stored_vocab_names(problem) -> Tuple[Optional[str], Optional[str]]:
  """(inputs, targets) vocabulary names of the stored sides (a _rev variant swaps neither)."""
  return (vocab_name(problem.input_vocab_name, problem),
          vocab_name(problem.target_vocab_name, problem))


def declaration(name: str) -> Optional[Declaration]:
  """The registered declaration `name`, or None if no declaration has that name."""
  if name in registry.names("vocabularies"):
    entry = registry.lookup("vocabularies", name)
    return entry if isinstance(entry, Declaration) else None
  return None


def _check_entry(obj) -> Optional[str]:
  if not isinstance(obj, (Vocabulary, Declaration)):
    return ("a vocabulary is a t2t_mm.data.vocabularies.Vocabulary object or a declaration "
            "such as t2t_mm.data.vocabularies.Subword(size=..., sources=(...)).")
  return None


registry.set_check("vocabularies", _check_entry)
registry.register_vocabulary(ByteVocab(), name="bytes")
registry.register_vocabulary(ClassLabels(), name="labels")
registry.register_vocabulary(ProblemSubwordFile(), name="subword")
registry.register_vocabulary(Own(), name="own")
