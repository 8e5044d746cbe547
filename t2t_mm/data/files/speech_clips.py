"""SpeechClips: speech recognition from a manifest of WAV files and their transcripts."""

from typing import List, Tuple

from t2t_mm.data.files import base
from t2t_mm.data.spec import TargetSpace
from t2t_mm.data.wav import read_wav


class SpeechClips(base.FileProblem):
  """Audio -> characters, from a manifest `wav_path<TAB>transcript` per split.

  WAVs are 16-bit PCM at any sample rate, resampled to `sample_rate`; transcripts pass through
  `normalize_transcript` (override it to change the normalization). Targets are characters
  (the byte vocabulary), as in the paper's speech problem.

  Args:
    was_reversed: unused (speech problems have no _rev).

  Example:
    >>> @registry.register_problem
    ... class SpokenDigits(SpeechClips):
    ...   folder, files = "~/data/digits", {"train": "train.tsv", "dev": "dev.tsv"}
    ...   def normalize_transcript(self, text):
    ...     return text.strip().lower()
  """

  input_modality, input_vocab_name = "audio_spectral", None
  target_vocab_name = "bytes"
  target_space = TargetSpace.TO_CHARACTERS
  metrics = ("token_accuracy", "cer", "wer")
  sample_rate = 16000
  shuffle_buffer = 256
  examples_per_shard = 2000
  manifest_fields = ("audio", "text")
  layout = ("per split, a manifest of `wav_path<TAB>transcript` lines (paths relative to it; "
            "16-bit PCM WAV at any sample rate), e.g. files={'train': 'train.tsv'}.")

  def normalize_transcript(self, text: str) -> str:
    """The target text of a transcript: here, whitespace collapsed to single spaces."""
    return " ".join(text.split())

  def index(self, split: str, tmp_dir: str) -> List[Tuple[str, str, str]]:
    def read(tmp_dir, split):
      return [(base.relative_to(where, path), text, where)
              for (path, text), where in self.manifest_rows(tmp_dir, split, 2)]
    return self.cached(split, tmp_dir, read)

  def example(self, item) -> dict:
    path, text, where = item
    base.check_file(path, where)
    return {"inputs": read_wav(path, self.sample_rate),
            "targets": self.normalize_transcript(text)}
