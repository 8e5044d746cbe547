"""Reading WAV files at a problem's sample rate."""

import io
import math
import wave

import numpy as np

from t2t_mm import errors


def read_wav(path_or_bytes, sample_rate: int) -> np.ndarray:
  """A 16-bit PCM WAV (mono, or its first channel) -> float32 [N] in [-1, 1] at `sample_rate`.

  Other rates are resampled with scipy's polyphase filter, which low-passes before decimating
  (8 kHz -> 16 kHz, 44.1 kHz -> 16 kHz). A file that is not 16-bit PCM WAV is a DataError.
  """
  name = "<bytes>" if isinstance(path_or_bytes, bytes) else path_or_bytes
  src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
  try:
    with wave.open(src) as w:
      width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
      frames = w.readframes(w.getnframes())
  except (EOFError, wave.Error) as e:  # What `wave` raises on files that are not PCM WAV.
    raise errors.DataError(f"{name}: not a readable 16-bit PCM WAV file ({e}).") from e
  if width != 2:
    raise errors.DataError(f"{name}: expected 16-bit PCM samples, got {8 * width}-bit.")
  data = np.frombuffer(frames, "<i2").astype(np.float32) / 32768.0
  data = data[::channels] if channels > 1 else data
  if rate == sample_rate or data.size == 0:
    return data
  from scipy import signal
  g = math.gcd(int(rate), int(sample_rate))
  return signal.resample_poly(data, sample_rate // g, rate // g).astype(np.float32)
