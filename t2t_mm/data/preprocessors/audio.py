"""AudioPreprocessor: a waveform -> float32 [N] mono in [-1, 1] at the problem's sample rate."""

from typing import Dict

import numpy as np

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data import wav
from t2t_mm.data.preprocessors.base import Preprocessor
from t2t_mm.data.preprocessors.base import check_bytes
from t2t_mm.data.preprocessors.base import read_file
from t2t_mm.utils.lazy import tf

RATE_MESSAGE = (f"wav_bytes: the WAV file's sample rate is outside the range read, "
                f"{wav.MIN_SAMPLE_RATE}..{wav.MAX_SAMPLE_RATE} Hz (t2t_mm.data.wav)")


def decode_pcm(pcm: tf.Tensor) -> tf.Tensor:
  """Little-endian int16 PCM bytes -> float32 [N] in [-1, 1]."""
  return tf.cast(tf.io.decode_raw(pcm, tf.int16), tf.float32) / 32768.0


@registry.register_preprocessor(name="audio_waveform")
class AudioPreprocessor(Preprocessor):
  """Shards hold int16 PCM at the problem's rate; users give 16-bit PCM WAV files at any rate of
  wav.MIN_SAMPLE_RATE..MAX_SAMPLE_RATE (mixed to mono, linearly resampled; the rate is checked
  before resampling, which computes at most max_length frames). Both become float32 [N],
  N <= max_length frames of frame_step samples.

  Args:
    config: a SideConfig with `sample_rate` and `frame_step` (samples per frame: what the
      length for batching counts).

  Example:
    >>> pre = AudioPreprocessor(SideConfig("p", 100, sample_rate=16000, frame_step=160))
    >>> pre.read_request("/tmp/hello.wav").shape   # (samples,), at most 100 * 160
  """

  request_kind = "audio"
  serving_input = "wav_bytes"
  length_unit = "frames"

  @classmethod
  def max_length_for(cls, spec, max_length: int) -> int:
    """Frames of the problem's `max_audio_seconds` if it sets one, else the run's limit."""
    if spec.max_audio_seconds:
      return max(1, int(round(spec.max_audio_seconds * spec.sample_rate
                              / spec.audio_frame_step)))
    return max_length

  def seconds(self, length: int) -> float:
    return length * self.config.frame_step / self.config.sample_rate

  @classmethod
  def to_feature(cls, raw) -> "tf.train.Feature":
    value = np.asarray(raw)
    if value.dtype != np.int16:
      value = (np.clip(value, -1.0, 1.0) * 32767.0).round().astype(np.int16)
    data = value.astype("<i2").tobytes()
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))

  @property
  def max_samples(self) -> int:
    return self.config.max_length * self.config.frame_step

  def from_stored(self, parts: Dict[str, "tf.Tensor"]) -> "tf.Tensor":
    return decode_pcm(parts["raw"])[:self.max_samples]

  def length(self, x: "tf.Tensor") -> "tf.Tensor":
    return tf.shape(x)[0] // self.config.frame_step

  def padded_size(self, longest: int) -> int:
    # length() rounds down: `longest` frames hold up to one sample less than longest + 1.
    return min((longest + 1) * self.config.frame_step - 1, self.max_samples)

  def _wav(self, data: "tf.Tensor") -> "tf.Tensor":
    # decode_wav's output is bounded by the bytes (max_audio_bytes); what resampling makes
    # is bounded by the rate's range and by computing at most max_samples positions.
    audio, rate = tf.audio.decode_wav(data)
    checks = [tf.debugging.assert_greater_equal(rate, wav.MIN_SAMPLE_RATE, message=RATE_MESSAGE),
              tf.debugging.assert_less_equal(rate, wav.MAX_SAMPLE_RATE, message=RATE_MESSAGE)]
    with tf.control_dependencies(checks):
      wave = tf.reduce_mean(audio, axis=1)
    n_in = tf.shape(wave)[0]
    ratio = tf.cast(rate, tf.float64) / float(self.config.sample_rate)
    n_out = tf.maximum(1, tf.cast(tf.round(tf.cast(n_in, tf.float64) / ratio), tf.int32))
    n_out = tf.minimum(n_out, self.max_samples)
    pos = tf.minimum(tf.cast(tf.range(n_out), tf.float64) * ratio,
                     tf.cast(n_in - 1, tf.float64))
    lo = tf.cast(tf.floor(pos), tf.int32)
    hi = tf.minimum(lo + 1, n_in - 1)
    frac = tf.cast(pos - tf.floor(pos), tf.float32)
    return tf.gather(wave, lo) * (1.0 - frac) + tf.gather(wave, hi) * frac

  def from_request_tf(self, data: "tf.Tensor") -> "tf.Tensor":
    check = self._at_most(tf.strings.length(data), "max_audio_bytes", "a WAV file of more bytes")
    with tf.control_dependencies([check]):
      return self._wav(data)

  def read_request(self, value: str) -> np.ndarray:
    data = read_file(value, "audio", self.config.input_limits.max_audio_bytes)
    return self.read_bytes(data, f"audio={value}")

  def read_bytes(self, data: bytes, name: str) -> np.ndarray:
    check_bytes(data, name, "audio", self.config.input_limits.max_audio_bytes)
    wav.check_sample_rate(wav.wav_header(data, name)[1], name)
    try:
      audio, _ = tf.audio.decode_wav(data)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
      raise errors.DataError(f"{name}: not a 16-bit PCM WAV file: {errors.first_line(e)}") from e
    if int(audio.shape[0]) == 0:
      raise errors.DataError(f"{name}: the WAV file holds no samples.")
    return self._wav(tf.constant(data)).numpy()

  def serving_spec(self) -> "tf.TypeSpec":
    return tf.RaggedTensorSpec([None], tf.float32)


@registry.register_preprocessor(name="audio_spectral")
class AudioSpectralPreprocessor(AudioPreprocessor):
  """The same waveforms: the audio_spectral modality net computes its log-mel features."""
