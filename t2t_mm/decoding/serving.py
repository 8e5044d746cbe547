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
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.decoding import inputs
from t2t_mm.data.vocabularies import Vocabulary


def _check_in_graph(vocab, problem_name: str, method: str) -> None:
  """ConfigError unless `vocab` is a Vocabulary with the in-graph `method`."""
  if not (isinstance(vocab, Vocabulary) and vocab.has_tf(method)):
    raise errors.ConfigError(
        f"Problem '{problem_name}' uses a {type(vocab).__name__}, which has no in-graph form "
        f"(a t2t_mm.data.vocabularies.Vocabulary with {method}, as SubwordVocab, ByteVocab "
        "and ClassLabelVocab have).")


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
                  input_limits: InputLimits = InputLimits()) -> "InputEncoder":
    vocab = problem.input_vocab(data_dir)
    if vocab is not None:
      _check_in_graph(vocab, spec.name, "encode_tf")  # Else it cannot serve.
    return cls(inputs.preprocessor(problem, spec, data_dir, hparams, vocab, input_limits))

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
    vocab: the target Vocabulary; its decode_tf converts the ids (its tf_resources are tracked
      here, so that the SavedModel holds them).
  """

  def __init__(self, vocab: Vocabulary):
    super().__init__(name=f"{type(vocab).__name__.lower()}_output_decoder")
    self.vocab = vocab
    for name, resource in vocab.tf_resources().items():
      setattr(self, name, resource)  # Tracked here so that the SavedModel holds it.

  @classmethod
  def for_problem(cls, problem, spec, data_dir) -> "OutputDecoder":
    vocab = problem.target_vocab(data_dir)
    _check_in_graph(vocab, spec.name, "decode_tf")
    return cls(vocab)

  def __call__(self, ids: tf.Tensor) -> tf.Tensor:
    shape = tf.shape(ids)
    texts = self.vocab.decode_tf(tf.reshape(ids, [-1, shape[2]]))
    return tf.reshape(texts, shape[:2])
