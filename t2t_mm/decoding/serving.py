"""In-graph conversions for serving: raw strings and file bytes in, text out.

    to_ids = InputEncoder.for_problem(problem, spec, data_dir, hparams)
    features_inputs = to_ids(tf.constant(["the cat sleeps"]))     # int32 [B, L], EOS, 0-padded
    to_text = OutputDecoder.for_problem(problem, spec, data_dir)
    texts = to_text(ids)                                          # ids [B, N, L] -> string [B, N]

Each input modality's Preprocessor (t2t_mm/data/preprocessors/) converts one scalar string
with tf ops (text; PNG/JPEG/GIF/BMP/WebP bytes; 16-bit PCM WAV bytes at 1-384 kHz), the same object
the data pipeline and the decoder use, so an exported SavedModel needs no Python and no
vocabulary files to serve (the SentencePiece model is inside the graph).
These are tf.Modules: the exporter attaches them so that their resources are saved.
"""

import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.decoding import inputs
from t2t_mm.data.spec import EOS_ID
from t2t_mm.data.spec import PAD_ID
from t2t_mm.data.text_encoders import ByteVocab
from t2t_mm.data.text_encoders import ClassLabelVocab
from t2t_mm.data.text_encoders import SubwordVocab


def _vocab_kind(vocab, problem_name: str) -> str:
  """The in-graph form of `vocab`; ConfigError for vocabularies that have none."""
  for kind, cls in (("subword", SubwordVocab), ("bytes", ByteVocab), ("labels", ClassLabelVocab)):
    if isinstance(vocab, cls):
      return kind
  raise errors.ConfigError(
      f"Problem '{problem_name}' uses a {type(vocab).__name__}, which has no in-graph form "
      "(SubwordVocab, ByteVocab and ClassLabelVocab do).")


def _until_eos(ids: tf.Tensor) -> tf.RaggedTensor:
  """int32 [M, L] -> ragged [M, None]: the ids before the first EOS, without PAD."""
  before_eos = tf.cumsum(tf.cast(tf.equal(ids, EOS_ID), tf.int32), axis=1) == 0
  return tf.ragged.boolean_mask(ids, before_eos & tf.not_equal(ids, PAD_ID))


class InputEncoder(tf.Module):
  """A batch of strings -> the model's "inputs" for one problem, through its Preprocessor.

  Args:
    preprocessor: the problem's input Preprocessor (t2t_mm/data/preprocessors/), whose
      from_request_tf converts one string and asserts the size limits it was made with.
  """

  def __init__(self, preprocessor):
    super().__init__(name=f"{type(preprocessor).__name__.lower()}_input_encoder")
    self.preprocessor = preprocessor
    self.output_spec = preprocessor.serving_spec()  # Fails early for what cannot be served.
    for name, resource in preprocessor.resources().items():
      setattr(self, name, resource)  # Tracked here so that the SavedModel holds it.

  @classmethod
  def for_problem(cls, problem, spec, data_dir, hparams,
                  limits: DecodeHParams = DecodeHParams()) -> "InputEncoder":
    vocab = problem.input_vocab(data_dir)
    if vocab is not None:
      _vocab_kind(vocab, spec.name)  # A vocabulary without an in-graph form cannot serve.
    return cls(inputs.preprocessor(problem, spec, data_dir, hparams, vocab, limits))

  @property
  def input_name(self) -> str:
    return self.preprocessor.serving_input

  def __call__(self, strings: tf.Tensor) -> tf.Tensor:
    # Per example, with the data pipeline's own steps, so serving encodes as training did.
    out = tf.map_fn(self.preprocessor.from_request_tf, strings,
                    fn_output_signature=self.output_spec)
    return out.to_tensor(0) if isinstance(out, tf.RaggedTensor) else out


class OutputDecoder(tf.Module):
  """Decoded ids [B, N, L] -> strings [B, N]: text, or class names for class labels.

  Args:
    kind: "subword", "bytes" or "labels".
    vocab: the SubwordVocab ("subword") or ClassLabelVocab ("labels").
  """

  def __init__(self, kind, vocab=None):
    super().__init__(name=f"{kind}_output_decoder")
    self.kind = kind
    self.tokenizer = vocab.tokenizer if kind == "subword" else None
    self.labels = tf.constant(vocab.labels) if kind == "labels" else None
    self.byte_strings = tf.constant([bytes([i]) for i in range(256)]) if kind == "bytes" else None

  @classmethod
  def for_problem(cls, problem, spec, data_dir) -> "OutputDecoder":
    vocab = problem.target_vocab(data_dir)
    return cls(_vocab_kind(vocab, spec.name), vocab)

  def __call__(self, ids: tf.Tensor) -> tf.Tensor:
    if self.kind == "labels":
      return tf.gather(self.labels, ids[:, :, 0])
    shape = tf.shape(ids)
    flat = _until_eos(tf.reshape(ids, [-1, shape[2]]))
    if self.tokenizer is not None:
      texts = self.tokenizer.detokenize(flat)
    else:
      byte_ids = tf.clip_by_value(flat - ByteVocab.offset, 0, 255)
      texts = tf.strings.reduce_join(tf.gather(self.byte_strings, byte_ids), axis=1)
    # Ids can spell invalid UTF-8 (byte pieces, bytes); U+FFFD for those, as decode() does.
    texts = tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace",
                                         replacement_char=0xFFFD)
    return tf.reshape(texts, shape[:2])

