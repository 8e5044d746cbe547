"""In-graph conversions for serving: raw strings and file bytes in, text out.

    to_ids = InputEncoder.for_problem(problem, spec, data_dir, hparams)
    features_inputs = to_ids(tf.constant(["the cat sleeps"]))     # int32 [B, L], EOS, 0-padded
    to_text = OutputDecoder.for_problem(problem, spec, data_dir)
    texts = to_text(ids)                                          # ids [B, N, L] -> string [B, N]

What each input modality reads (a batch [B] of scalar strings):
  symbol:          UTF-8 text -> the problem's vocabulary (SentencePiece in-graph, or bytes)
  image:           encoded PNG/JPEG/GIF/BMP bytes -> float32 [B, H, W, 3] at the problem's size
  audio_*:         16-bit PCM WAV bytes, any rate -> float32 [B, N] mono at the problem's rate
The same steps as t2t_mm/decoding/inputs.py, written with tf ops so that an exported SavedModel
needs no Python and no vocabulary files to serve (the SentencePiece model is inside the graph).
These are tf.Modules: the exporter attaches them so that their resources are saved.
"""

import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.data import pipeline
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
  """A batch of strings -> the model's "inputs" for one problem (see the module docstring).

  Args:
    kind: "subword", "bytes", "image" or "audio".
    max_length: keep at most this many tokens (EOS included) or audio samples.
    vocab: the SubwordVocab or ByteVocab of kinds "subword" and "bytes".
    image_size: (H, W) images are resized to, for kind "image".
    sample_rate: Hz waveforms are resampled to, for kind "audio".
    limits: the DecodeHParams whose max_input_chars, max_image_bytes, max_image_pixels and
      max_audio_bytes bound each input: a larger one fails the call with InvalidArgumentError
      naming the limit, before it is decoded.
  """

  def __init__(self, kind, max_length, vocab=None, image_size=None, sample_rate=None,
               limits: DecodeHParams = DecodeHParams()):
    super().__init__(name=f"{kind}_input_encoder")
    self.kind, self.max_length = kind, int(max_length)
    self.image_size, self.sample_rate = image_size, sample_rate
    self.limits = limits
    self.vocab = vocab
    # Tracked here so that the SavedModel holds the SentencePiece resource.
    self.tokenizer = vocab.tokenizer if kind == "subword" else None

  @classmethod
  def for_problem(cls, problem, spec, data_dir, hparams,
                  limits: DecodeHParams = DecodeHParams()) -> "InputEncoder":
    if spec.input_modality == "symbol":
      vocab = problem.input_vocab(data_dir)
      return cls(_vocab_kind(vocab, spec.name), hparams.max_input_length, vocab=vocab,
                 limits=limits)
    if spec.input_modality == "image":
      return cls("image", 0, image_size=tuple(problem.image_size), limits=limits)
    frame_step = getattr(problem, "audio_frame_step", 160)
    return cls("audio", hparams.max_input_length * frame_step, sample_rate=spec.sample_rate,
               limits=limits)

  @property
  def input_name(self) -> str:
    return {"subword": "text", "bytes": "text", "image": "image_bytes"}.get(self.kind,
                                                                             "wav_bytes")

  def __call__(self, strings: tf.Tensor) -> tf.Tensor:
    # Per example, with the data pipeline's own steps, so serving encodes as training did.
    if self.kind in ("subword", "bytes"):
      ids = tf.map_fn(self._text, strings,
                      fn_output_signature=tf.RaggedTensorSpec([None], tf.int32))
      return ids.to_tensor(PAD_ID)
    if self.kind == "image":
      h, w = self.image_size
      return tf.map_fn(self._image, strings,
                       fn_output_signature=tf.TensorSpec([h, w, 3], tf.float32))
    waves = tf.map_fn(self._wav, strings,
                      fn_output_signature=tf.RaggedTensorSpec([None], tf.float32))
    return waves.to_tensor(0.0)

  def _at_most(self, value: tf.Tensor, limit: str, what: str):
    """An assertion that `value` <= the limit named `limit`; its message names both."""
    bound = getattr(self.limits, limit)
    return tf.debugging.assert_less_equal(
        tf.cast(value, tf.int64), tf.constant(bound, tf.int64),
        message=f"{self.input_name}: {what} is more than {limit}={bound} (set when exported: "
        f"mm-export --decode_hparams='{limit}=N')")

  def _text(self, text: tf.Tensor) -> tf.Tensor:
    # Characters, as the decoder counts a line's.
    check = self._at_most(tf.strings.length(text, unit="UTF8_CHAR"), "max_input_chars",
                          "a text of more characters")
    with tf.control_dependencies([check]):
      ids = tf.cast(self.vocab.tf_encode(text), tf.int32)
    return pipeline.add_eos_and_truncate(ids, self.max_length)

  def _image(self, data: tf.Tensor) -> tf.Tensor:
    """Bytes and header pixels are checked before decoding; formats without a header we read
    (shape [-1, -1]) after it."""
    checks = [self._at_most(tf.strings.length(data), "max_image_bytes", "an image of more bytes")]
    with tf.control_dependencies(checks):
      header = pipeline.image_header_shape(data)
      checks.append(self._at_most(header[0] * header[1], "max_image_pixels",
                                  "an image of more pixels (header)"))
    with tf.control_dependencies(checks):
      image = tf.io.decode_image(data, channels=3, expand_animations=False)
      shape = tf.shape(image, out_type=tf.int64)
    with tf.control_dependencies([self._at_most(shape[0] * shape[1], "max_image_pixels",
                                                "an image of more pixels")]):
      return pipeline.decode_image(data, self.image_size, decoded=image)

  def _wav(self, data: tf.Tensor) -> tf.Tensor:
    check = self._at_most(tf.strings.length(data), "max_audio_bytes", "a WAV file of more bytes")
    with tf.control_dependencies([check]):
      audio, rate = tf.audio.decode_wav(data)
    wave = tf.reduce_mean(audio, axis=1)
    # Linear resampling, as inputs.read_wav does with np.interp.
    n_in = tf.shape(wave)[0]
    ratio = tf.cast(rate, tf.float64) / float(self.sample_rate)
    n_out = tf.maximum(1, tf.cast(tf.round(tf.cast(n_in, tf.float64) / ratio), tf.int32))
    pos = tf.minimum(tf.cast(tf.range(n_out), tf.float64) * ratio,
                     tf.cast(n_in - 1, tf.float64))
    lo = tf.cast(tf.floor(pos), tf.int32)
    hi = tf.minimum(lo + 1, n_in - 1)
    frac = tf.cast(pos - tf.floor(pos), tf.float32)
    wave = tf.gather(wave, lo) * (1.0 - frac) + tf.gather(wave, hi) * frac
    return wave[:self.max_length]


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

