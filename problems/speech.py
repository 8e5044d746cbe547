"""The paper's speech problem: WSJ speech recognition (files in --tmp_dir), and LibriSpeech
(TFDS) as the free alternative. Targets are characters (the byte vocab)."""

import os
from typing import Iterator, List, Tuple

import numpy as np

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data.spec import TargetSpace
from t2t_mm.data.tfds_problem import All8Problem, TfdsProblem
from t2t_mm.data.wav import read_wav
from t2t_mm.utils import fs

SAMPLE_RATE = 16000


class _Speech:
  input_modality, input_vocab_name = "audio_spectral", None
  target_vocab_name = "bytes"
  target_space = TargetSpace.TO_CHARACTERS
  metrics = ("token_accuracy", "cer", "wer")
  sample_rate = SAMPLE_RATE
  shuffle_buffer = 256
  examples_per_shard = 2000


@registry.register_problem
class WsjSpeech(_Speech, All8Problem):
  """Wall Street Journal read speech (LDC93S6B + LDC94S13B), from files you convert and list.

  Put in {tmp_dir}/wsj_speech/ the files train.tsv, dev.tsv, test.tsv, one utterance per line:
  `path/to/utt.wav<TAB>transcript`, paths relative to that folder, 16-bit PCM wav (any rate,
  resampled to 16 kHz). Usual splits: train si284, dev dev93, test eval92.
  """

  folder = "wsj_speech"

  def __init__(self, was_reversed: bool = False, download: bool = False):
    super().__init__(was_reversed=was_reversed, download=download)
    self._lists = {}

  def _list_path(self, tmp_dir: str, split: str) -> str:
    return os.path.join(tmp_dir, self.folder, f"{split}.tsv")

  def check_raw_data(self, tmp_dir: str) -> None:
    missing = [self._list_path(tmp_dir, s) for s in self.splits
               if not fs.isfile(self._list_path(tmp_dir, s))]
    if missing:
      raise errors.DataError(
          f"problem '{self.base_name}' needs WSJ audio, licensed from the LDC (LDC93S6B, "
          "LDC94S13B). Convert its .wv1 files to 16-bit wav (e.g. `sph2pipe -f wav`) and list "
          f"them in {os.path.join(tmp_dir, self.folder)}/train.tsv, dev.tsv and test.tsv, one "
          "`path<TAB>transcript` per line (paths relative to that folder). Missing: "
          f"{', '.join(missing)}. Free alternative: --problem=librispeech.")

  def _utterances(self, tmp_dir: str, split: str) -> List[Tuple[str, str]]:
    if split not in self._lists:
      path = self._list_path(tmp_dir, split)
      rows = []
      with fs.open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
          if not line.strip():
            continue
          parts = line.rstrip("\n").split("\t", 1)
          if len(parts) != 2:
            raise errors.DataError(f"{path}:{n}: expected `path<TAB>transcript`, got {line!r}.")
          rows.append((os.path.join(os.path.dirname(path), parts[0]), parts[1]))
      self._lists[split] = rows
    return self._lists[split]

  def split_size(self, split: str, tmp_dir: str) -> int:
    return len(self._utterances(tmp_dir, split))

  def examples(self, split: str, tmp_dir: str, start: int, stop: int) -> Iterator[dict]:
    for wav, text in self._utterances(tmp_dir, split)[start:stop]:
      if not fs.isfile(wav):
        raise errors.DataError(f"{self._list_path(tmp_dir, split)} lists {wav}, which does not "
                               "exist.")
      yield {"inputs": read_wav(wav, SAMPLE_RATE), "targets": text}


@registry.register_problem
class Librispeech(_Speech, TfdsProblem):
  """LibriSpeech (train-clean-100 / dev-clean / test-clean) through TFDS."""

  tfds_name = "librispeech"
  split_map = {"train": "train_clean100", "dev": "dev_clean", "test": "test_clean"}
  how_to_get = "LibriSpeech comes from openslr.org through TFDS (about 60 GB in all)."

  def _first_split(self):
    return "dev_clean"

  def convert(self, ex: dict) -> Iterator[dict]:
    yield {"inputs": np.asarray(ex["speech"], np.int16), "targets": ex["text"].decode("utf-8")}
