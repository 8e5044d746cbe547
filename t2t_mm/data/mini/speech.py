"""Spoken sentences synthesized with espeak-ng, one recording per word and voice, then joined.

    words = WordBank(tmp_dir)             # runs espeak-ng once per (voice, word), cached
    audio = words.utterance(rng, "the red dog sleeps")   # float32 [N] at 16 kHz in [-1, 1]

Utterances vary by voice, speed (resampling), pauses, loudness and background noise, so the
model must recognize words, not memorize clips. Word clips are cached in tmp_dir (atomically),
so reruns are fast and give the same audio.
"""

import concurrent.futures
import io
import os
import shutil
import subprocess
import wave
from typing import Dict, Iterable, Tuple

import numpy as np

from t2t_mm import errors
from t2t_mm.utils import atomic, fs

SAMPLE_RATE = 16000
VOICES: Tuple[Tuple[str, int, int], ...] = (  # (voice, words per minute, pitch)
    ("en-us", 170, 50), ("en-gb", 160, 40), ("en-gb-scotland", 180, 60),
    ("en-us", 150, 70), ("en-gb-x-rp", 175, 35), ("en-us", 190, 55))


def check_espeak() -> str:
  path = shutil.which("espeak-ng")
  if path is None:
    raise errors.DataError(
        "The speech problems of all8_mini synthesize audio with espeak-ng, which is not "
        "installed. Install the Debian package: `apt-get install -y espeak-ng` (or your "
        "system's espeak-ng package), then rerun mm-datagen.")
  return path


def _synthesize(exe: str, voice: str, wpm: int, pitch: int, word: str) -> np.ndarray:
  """float32 samples at 16 kHz of `word`, leading and trailing silence removed."""
  out = subprocess.run([exe, "-v", voice, "-s", str(wpm), "-p", str(pitch), "--stdout", word],
                       capture_output=True, check=False)
  if out.returncode != 0:
    raise errors.DataError(f"espeak-ng failed on {word!r} with voice {voice}: "
                           f"{out.stderr.decode(errors='replace')}")
  with wave.open(io.BytesIO(out.stdout)) as w:
    rate = w.getframerate()
    data = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0
  data = resample(data, rate, SAMPLE_RATE)
  loud = np.flatnonzero(np.abs(data) > 0.02)
  return data[loud[0]: loud[-1] + 1] if loud.size else data


def resample(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
  """Linear-interpolation resampling (enough for synthetic speech at these rates)."""
  n = max(1, int(round(len(x) * rate_out / rate_in)))
  return np.interp(np.arange(n) * (rate_in / rate_out), np.arange(len(x)), x).astype(np.float32)


class WordBank:
  """Recordings of every word in every voice, cached as tmp_dir/mini_speech_words.npz.

  Args:
    tmp_dir: cache folder.
    words: the vocabulary that utterances may use.
  """

  def __init__(self, tmp_dir: str, words: Iterable[str]):
    self.words = sorted(set(words))
    path = os.path.join(tmp_dir, f"mini_speech_words_{len(self.words)}_{len(VOICES)}.npz")
    if fs.isfile(path):
      with np.load(io.BytesIO(fs.read_bytes(path))) as data:
        self.clips = {k: data[k] for k in data.files}
      if all(self._key(v, w) in self.clips for v in range(len(VOICES)) for w in self.words):
        return
    exe = check_espeak()
    jobs = [(v, w) for v in range(len(VOICES)) for w in self.words]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
      clips = pool.map(lambda job: _synthesize(exe, *VOICES[job[0]], job[1]), jobs)
      self.clips: Dict[str, np.ndarray] = {self._key(v, w): c for (v, w), c in zip(jobs, clips)}
    buffer = io.BytesIO()
    np.savez(buffer, **self.clips)
    atomic.atomic_write_bytes(path, buffer.getvalue())

  @staticmethod
  def _key(voice: int, word: str) -> str:
    return f"{voice}:{word}"

  def utterance(self, rng: np.random.Generator, text: str) -> np.ndarray:
    """float32 [N] waveform of `text` (words of the bank, separated by spaces)."""
    voice = int(rng.integers(len(VOICES)))
    parts = [np.zeros(int(rng.uniform(0.03, 0.12) * SAMPLE_RATE), np.float32)]
    for word in text.split():
      clip = self.clips.get(self._key(voice, word))
      if clip is None:
        raise errors.DataError(f"Word {word!r} is not in the speech word bank.")
      parts.append(clip)
      parts.append(np.zeros(int(rng.uniform(0.02, 0.09) * SAMPLE_RATE), np.float32))
    audio = np.concatenate(parts)
    audio = resample(audio, SAMPLE_RATE * rng.uniform(0.9, 1.1), SAMPLE_RATE)  # Tempo.
    peak = float(np.max(np.abs(audio))) or 1.0
    audio = audio / peak * rng.uniform(0.3, 0.9)
    audio = audio + rng.normal(0, rng.uniform(0.002, 0.02), size=audio.shape)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)
