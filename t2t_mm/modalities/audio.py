"""Audio modalities: raw waveform and log-mel spectrogram, each through strided ConvRes blocks.

Both take float32 [B, N] zero-padded waveforms. A clip's length is the index after its last
non-zero sample, so trailing zeros are padding: they are masked at every block and never change
the real positions' outputs.
"""

import keras
from keras import ops
import tensorflow as tf

from t2t_mm import registry
from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.conv_res import ConvRes
from t2t_mm.layers.dense import Dense


def waveform_mask(wave):
  """float32 [B, N]: 1 up to and including each clip's last non-zero sample."""
  nonzero = ops.cast(ops.not_equal(wave, 0.0), "int32")
  n = ops.shape(wave)[1]
  last = ops.max(nonzero * ops.arange(1, n + 1)[None, :], axis=1)  # 0 for a silent clip.
  return ops.cast(ops.less(ops.arange(n)[None, :], last[:, None]), "float32")


@registry.register_modality(name="audio_waveform")
@keras.saving.register_keras_serializable(package="t2t_mm")
class AudioWaveformModality(keras.layers.Layer):
  """wave [B, N] -> [B, ceil(N / 2^blocks), d]: ConvRes blocks with time stride 2 (paper 2.3).

    [B, N, 1, 1] -> ConvRes(2) -> ConvRes(4) -> ... -> ConvRes(2^(blocks-1)) -> ConvRes(d)
  The paper's 2x2 strides on a width-1 waveform act on time only, so kernels are (3, 1) and
  strides (2, 1): the same outputs without convolving padding columns. Channel widths 2^(i+1)
  follow the reference code.

  Args:
    hidden_size: d.
    num_blocks: strided ConvRes blocks (paper: 8), the last one of width d.

  Example:
    >>> net = AudioWaveformModality(hidden_size=8, num_blocks=3)
    >>> x, mask = net.bottom(keras.ops.ones((2, 64)))  # [2, 8, 8], [2, 8]
  """

  def __init__(self, hidden_size, num_blocks=8, **kwargs):
    super().__init__(**kwargs)
    self.hidden_size, self.num_blocks = hidden_size, num_blocks

  @classmethod
  def from_hparams(cls, hparams, spec, role, **kwargs):
    del spec, role
    return cls(hidden_size=hparams.hidden_size, num_blocks=hparams.audio_waveform_blocks,
               **kwargs)

  def build(self, input_shape=None):
    widths = [2 ** (i + 1) for i in range(self.num_blocks - 1)] + [self.hidden_size]
    self.blocks, channels = [], 1
    for i, w in enumerate(widths):
      block = ConvRes(w, (3, 1), (2, 1), res_relu=i < len(widths) - 1, name=f"block{i}",
                      dtype=self.dtype_policy)
      block.build((None, None, 1, channels))
      self.blocks.append(block)
      channels = w

  def bottom(self, wave, training=None):
    del training
    mask = waveform_mask(wave)
    x = ops.cast(wave, self.compute_dtype)[:, :, None, None]
    for block in self.blocks:
      x = block(x, mask)
      mask = mm_ops.downsample_mask(mask, 2)
    return ops.squeeze(x, 2), mask

  def call(self, wave, training=None):
    return self.bottom(wave, training)

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "num_blocks": self.num_blocks}


@registry.register_modality(name="audio_spectral")
@keras.saving.register_keras_serializable(package="t2t_mm")
class AudioSpectralModality(keras.layers.Layer):
  """wave [B, N] -> log-mel [B, F, M] -> ConvRes blocks, strides (2, 1) -> [B, F/2^b, d].

  Log-mel features are computed in-graph with tf.signal (STFT, mel matrix): keras.ops has no
  equivalent, and computing them here keeps one waveform format for both audio modalities.
  Frames are 25 ms with a 10 ms hop (pad_end), M mel bins. Strides (2, 1) keep the frequency
  bins (paper 2.3); every block has c = max(16, d // 8) channels (a narrow net over M bins),
  then the M * c features of a frame are projected to d.

  Args:
    hidden_size: d.
    sample_rate: Hz of the waveform.
    num_blocks: strided ConvRes blocks.
    num_mel_bins: M.

  Example:
    >>> net = AudioSpectralModality(hidden_size=16, sample_rate=16000, num_blocks=2)
    >>> x, mask = net.bottom(keras.random.normal((2, 16000)))  # [2, 25, 16], [2, 25]
  """

  def __init__(self, hidden_size, sample_rate=16000, num_blocks=2, num_mel_bins=80, **kwargs):
    super().__init__(**kwargs)
    self.hidden_size, self.sample_rate = hidden_size, sample_rate
    self.num_blocks, self.num_mel_bins = num_blocks, num_mel_bins
    self.frame_length = int(round(0.025 * sample_rate))
    self.frame_step = int(round(0.010 * sample_rate))
    self.fft_length = 1 << (self.frame_length - 1).bit_length()

  @classmethod
  def from_hparams(cls, hparams, spec, role, **kwargs):
    del role
    return cls(hidden_size=hparams.hidden_size, sample_rate=spec.sample_rate or 16000,
               num_blocks=hparams.audio_spectral_blocks,
               num_mel_bins=hparams.audio_num_mel_bins, **kwargs)

  def build(self, input_shape=None):
    c = max(16, self.hidden_size // 8)
    self.blocks, channels = [], 1
    for i in range(self.num_blocks):
      block = ConvRes(c, (3, 3), (2, 1), name=f"block{i}", dtype=self.dtype_policy)
      block.build((None, None, self.num_mel_bins, channels))
      self.blocks.append(block)
      channels = c
    self.project = Dense(self.hidden_size, name="project", dtype=self.dtype_policy)
    self.project.build((None, None, self.num_mel_bins * c))

  def log_mel(self, wave):
    """float32 [B, N] -> [B, ceil(N / hop), M] log-mel energies."""
    stft = tf.signal.stft(tf.cast(wave, tf.float32), self.frame_length, self.frame_step,
                          self.fft_length, pad_end=True)
    power = tf.math.square(tf.abs(stft))
    mel = tf.signal.linear_to_mel_weight_matrix(
        self.num_mel_bins, self.fft_length // 2 + 1, self.sample_rate, 20.0,
        self.sample_rate / 2.0)
    return tf.math.log(tf.tensordot(power, mel, 1) + 1e-6)

  def bottom(self, wave, training=None):
    del training
    mask = mm_ops.downsample_mask(waveform_mask(wave), self.frame_step)
    x = ops.cast(self.log_mel(wave), self.compute_dtype)[:, :, :, None]
    for block in self.blocks:
      x = block(x, mask)
      mask = mm_ops.downsample_mask(mask, 2)
    b, t = ops.shape(x)[0], ops.shape(x)[1]
    x = self.project(ops.reshape(x, (b, t, self.num_mel_bins * x.shape[-1])))
    return mm_ops.apply_mask(x, mask), mask

  def call(self, wave, training=None):
    return self.bottom(wave, training)

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "sample_rate": self.sample_rate, "num_blocks": self.num_blocks,
            "num_mel_bins": self.num_mel_bins}
