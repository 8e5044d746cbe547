"""Audio modalities: shapes, trailing-zero padding invariance, registration."""

import numpy as np
import pytest

from t2t_mm import registry
from t2t_mm.modalities.audio import AudioSpectralModality
from t2t_mm.modalities.audio import AudioWaveformModality
from t2t_mm.modalities.audio import waveform_mask


def _wave(n, seed=0):
  return np.random.default_rng(seed).uniform(-1, 1, (1, n)).astype("float32")


def test_waveform_mask_ends_at_last_nonzero_sample():
  w = np.array([[0.5, 0.0, 0.2, 0.0, 0.0], [0, 0, 0, 0, 0]], "float32")
  np.testing.assert_array_equal(np.asarray(waveform_mask(w)), [[1, 1, 1, 0, 0], [0] * 5])


def _nets():
  return [AudioWaveformModality(hidden_size=8, num_blocks=3),
          AudioSpectralModality(hidden_size=8, sample_rate=8000, num_blocks=2, num_mel_bins=16)]


# 1000 samples: waveform /8; spectral: 13 frames of 10 ms at 8 kHz, then /4.
@pytest.mark.parametrize("index,expected_len", [(0, 125), (1, 4)])
def test_shapes(index, expected_len):
  net = _nets()[index]
  net.build()
  x, mask = net.bottom(_wave(1000))
  assert tuple(x.shape) == (1, expected_len, 8)
  assert tuple(mask.shape) == (1, expected_len)


@pytest.mark.parametrize("index", [0, 1])
def test_trailing_zeros_never_change_real_positions(index):
  net = _nets()[index]
  net.build()
  wave = _wave(1000)
  x, mask = net.bottom(wave)
  n = int(np.asarray(mask).sum())
  assert n == x.shape[1]
  padded = np.concatenate([wave, np.zeros((1, 700), "float32")], axis=1)
  xp, maskp = net.bottom(padded)
  assert int(np.asarray(maskp).sum()) == n
  np.testing.assert_allclose(np.asarray(x), np.asarray(xp)[:, :n], atol=1e-4)
  assert np.all(np.asarray(xp)[:, n:] == 0)


def test_registered_names():
  assert {"audio_waveform", "audio_spectral", "symbol", "image",
          "class_label"} <= set(registry.names("modalities"))
