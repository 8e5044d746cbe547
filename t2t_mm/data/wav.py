"""Reading WAV files at a problem's sample rate, and what their headers say before any decoding."""

import io
import math
import struct
import wave
from typing import Tuple

import numpy as np

from t2t_mm import errors
from t2t_mm.utils import fs

# The sample rates accepted from users' WAV files: resampling from a rate far below the problem's
# multiplies the samples (a 1 Hz header would turn 1 KB into 16000x the samples), so a header's
# rate is checked against this range before anything is decoded or resampled.
MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 384000
NOT_WAV = "not a WAV file (expected RIFF/WAVE, 16-bit PCM)"


def check_sample_rate(rate: int, name: str) -> None:
  """DataError naming `name` unless MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE."""
  if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
    raise errors.DataError(f"{name}: a sample rate of {rate} Hz is outside the range read, "
                           f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz (t2t_mm.data.wav).")


def wav_header(data: bytes, name: str) -> Tuple[int, int, int]:
  """A WAV file's bytes -> (channels, sample rate, bits per sample) from its 'fmt ' chunk, before
  any decoding; DataError naming `name` for bytes that are not RIFF/WAVE."""
  if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
    raise errors.DataError(f"{name}: {NOT_WAV}.")
  pos = 12
  while pos + 8 <= len(data):
    chunk, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
    if chunk == b"fmt " and pos + 24 <= len(data):
      _, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[pos + 8:pos + 24])
      return channels, rate, bits
    pos += 8 + size + (size & 1)  # Chunks are padded to an even size.
  raise errors.DataError(f"{name}: {NOT_WAV}; it has no 'fmt ' chunk.")


def read_wav(path_or_bytes, sample_rate: int) -> np.ndarray:
  """A 16-bit PCM WAV (mono, or its first channel) -> float32 [N] in [-1, 1] at `sample_rate`.

  Other rates (MIN_SAMPLE_RATE..MAX_SAMPLE_RATE, checked before the samples are read) are
  resampled with scipy's polyphase filter, which low-passes before decimating (8 kHz -> 16 kHz,
  44.1 kHz -> 16 kHz). A file that is not 16-bit PCM WAV is a DataError.
  """
  name = "<bytes>" if isinstance(path_or_bytes, bytes) else path_or_bytes
  data = path_or_bytes if isinstance(path_or_bytes, bytes) else fs.read_bytes(path_or_bytes)
  try:
    with wave.open(io.BytesIO(data)) as w:
      width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
      check_sample_rate(rate, name)
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
