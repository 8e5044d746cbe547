"""SymbolPreprocessor: text <-> token ids of the problem's vocabulary, EOS last."""

from typing import Dict

import numpy as np

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data import pipeline
from t2t_mm.data.preprocessors.base import Preprocessor
from t2t_mm.utils.lazy import tf


@registry.register_preprocessor(name="symbol")
class SymbolPreprocessor(Preprocessor):
  """Text -> int32 [n] ids (n <= max_length, the last one EOS).

  Args:
    config: a SideConfig whose `vocab` is a Vocabulary (t2t_mm/data/vocabularies.py); one
      without encode_tf is encoded in tf.data through its Python encode (slower), and cannot
      be served.

  Example:
    >>> pre = SymbolPreprocessor(SideConfig("p", max_length=4, vocab=ByteVocab()))
    >>> pre.read_request("abcdef").tolist()        # 3 bytes + EOS
  """

  request_kind = "text"
  serving_input = "text"
  length_unit = "tokens"

  @classmethod
  def to_feature(cls, raw) -> "tf.train.Feature":
    if not isinstance(raw, str):
      raise errors.DataError(f"Expected text (str), got {type(raw).__name__}.")
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[raw.encode("utf-8")]))

  def prepare_batch(self, raw: "tf.Tensor") -> Dict[str, "tf.Tensor"]:
    if self.config.vocab.encodes_batches:
      ids = self.config.vocab.encode_tf(raw)  # Batched in-graph (SentencePiece): fast.
      return {"ids": ids.to_tensor(), "len": ids.row_lengths()}
    return {"raw": raw}

  def from_stored(self, parts: Dict[str, "tf.Tensor"]) -> "tf.Tensor":
    ids = parts["ids"][:parts["len"]] if "ids" in parts else self._encode(parts["raw"])
    return pipeline.add_eos_and_truncate(tf.cast(ids, tf.int32), self.config.max_length)

  def _encode(self, text: "tf.Tensor") -> "tf.Tensor":
    """string [] -> ids [n]: in-graph where the vocabulary can, else through Python."""
    vocab = self.config.vocab
    if vocab.has_tf("encode_tf"):
      return vocab.encode_tf(text)

    def encode(t):
      return np.asarray(vocab.encode(t.numpy().decode("utf-8")), np.int32)

    ids = tf.py_function(encode, [text], tf.int32)
    ids.set_shape([None])
    return ids

  def length(self, x: "tf.Tensor") -> "tf.Tensor":
    return tf.shape(x)[0]

  def padded_size(self, longest: int) -> int:
    return longest

  def from_request_tf(self, data: "tf.Tensor") -> "tf.Tensor":
    # Characters, as the decoder counts a line's.
    check = self._at_most(tf.strings.length(data, unit="UTF8_CHAR"), "max_input_chars",
                          "a text of more characters")
    with tf.control_dependencies([check]):
      ids = tf.cast(self.config.vocab.encode_tf(data), tf.int32)
    return pipeline.add_eos_and_truncate(ids, self.config.max_length)

  def read_request(self, value: str) -> np.ndarray:
    ids = tf.constant(list(self.config.vocab.encode(value)), tf.int32)
    return pipeline.add_eos_and_truncate(ids, self.config.max_length).numpy()

  def serving_spec(self) -> "tf.TypeSpec":
    return tf.RaggedTensorSpec([None], tf.int32)

  def resources(self) -> Dict[str, object]:
    return self.config.vocab.tf_resources()
