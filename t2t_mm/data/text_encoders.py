"""Vocabularies: text <-> int ids, in Python (`encode`, `decode`) and in-graph (`tf_encode`).

Every vocabulary reserves PAD = 0 and EOS = 1 (t2t_mm/data/spec.py). `encode` appends no EOS
(the pipeline does); `decode` stops at the first EOS and drops PAD.

    vocab = SubwordVocab("data/vocab.all8_mini.subword.model")
    ids = vocab.encode(" \tHällo 🙂")   # [..]; vocab.decode(ids) == " \tHällo 🙂" (lossless)
    ByteVocab().encode("ab")            # [99, 100]: byte + 2
    ClassLabelVocab(["cat", "dog"]).encode("dog")  # [1]
"""

from __future__ import annotations

from typing import Iterable, List, Sequence

from t2t_mm import errors
from t2t_mm.data.spec import EOS_ID, PAD_ID
from t2t_mm.utils.lazy import tf
from t2t_mm.utils import fs


def _strip(ids: Iterable[int]) -> List[int]:
  """Ids up to the first EOS, without PAD."""
  out = []
  for i in ids:
    i = int(i)
    if i == EOS_ID:
      break
    if i != PAD_ID:
      out.append(i)
  return out


def _vocab_error(path: str, message: str) -> errors.DataError:
  """A DataError about the vocabulary file `path` (kept as .path, for the fix a Problem names)."""
  e = errors.DataError(message)
  e.path = path
  return e


class SubwordVocab:
  """A SentencePiece model: lossless for any Unicode text (byte fallback, identity normalization).

  Args:
    path: the `.model` file written by `t2t_mm.data.vocab.build_subword_vocab`.
    name: what problems call it (their modality nets are shared by name).
  """

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
    return self._sp.decode(_strip(ids))

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

  def tf_encode(self, text: tf.Tensor) -> tf.Tensor:
    """string [] -> int32 [n], or string [B] -> int32 ragged [B, None]; no EOS.

    Equal to `encode` (SentencePiece) for every input. Lines made only of characters that
    are single pieces of a unigram vocab go through tensorflow-text's
    FastSentencepieceTokenizer (~2.5x faster here); the rest (characters that need byte
    fallback, which the fast one turns into <unk>, tabs and other non-space whitespace,
    a literal U+2581) through the SentencepieceTokenizer. docs/STACK.md has the figures.
    """
    text = tf.convert_to_tensor(text, tf.string)
    if text.shape.rank == 0:
      return self._tf_encode_batch(text[None]).flat_values
    if text.shape.rank != 1:
      raise ValueError(f"SubwordVocab.tf_encode({self.path}): expected a string scalar or "
                       f"vector, got shape {text.shape}.")
    return self._tf_encode_batch(text)

  def on_fast_path(self, text: tf.Tensor) -> tf.Tensor:
    """string [B] -> bool [B]: the lines tf_encode gives to the fast tokenizer."""
    pattern = self._fast_path()[1]
    if pattern is None:
      return tf.zeros(tf.shape(text), tf.bool)
    return tf.strings.regex_full_match(text, pattern)

  def _tf_encode_batch(self, text: tf.Tensor) -> tf.Tensor:
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


class ByteVocab:
  """UTF-8 bytes shifted by 2 (PAD, EOS): 258 ids, lossless, no file needed."""

  name = "bytes"
  offset = 2
  vocab_size = 256 + 2

  def encode(self, text: str) -> List[int]:
    return [b + self.offset for b in text.encode("utf-8")]

  def decode(self, ids: Sequence[int]) -> str:
    return bytes(i - self.offset for i in _strip(ids) if i >= self.offset).decode(
        "utf-8", errors="replace")

  def tf_encode(self, text: tf.Tensor) -> tf.Tensor:
    """string [] -> int32 [n] (no EOS)."""
    return tf.cast(tf.io.decode_raw(text, tf.uint8), tf.int32) + self.offset


class ClassLabelVocab:
  """Class names <-> label ids 0 .. n-1 (class labels have no PAD or EOS).

  Args:
    labels: the class names, in label order.
  """

  name = "labels"
  path = None  # The file the labels were read from (a run copies it: t2t_mm/runs/run_vocab.py).

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
    from t2t_mm.utils import atomic
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
