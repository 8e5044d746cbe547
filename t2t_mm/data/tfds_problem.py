"""Base classes of the paper's problems: data from TFDS builders or from files in --tmp_dir.

Language problems among them share the declared vocabulary "all8" (t2t_mm/data/all8_vocab.py).
"""

from typing import Dict, Iterator, Optional

import numpy as np

from t2t_mm.data import all8_vocab
from t2t_mm.data.problem import Problem
from t2t_mm.data.tfds_source import TfdsSource


class All8Problem(Problem):
  """A paper problem; `download` lets datagen fetch missing TFDS data (needs internet).

  Args:
    was_reversed: swap inputs and targets (text-to-text only).
    download: download and prepare missing TFDS data instead of failing with instructions.
  """

  input_vocab_name = target_vocab_name = all8_vocab.NAME

  def __init__(self, was_reversed: bool = False, download: bool = False):
    super().__init__(was_reversed=was_reversed)
    self.download = download

  def config(self) -> Dict[str, object]:
    return {"vocab": all8_vocab.vocab_filename()}


class TfdsProblem(All8Problem):
  """A problem read from the TFDS builder `tfds_name`; `split_map` maps our splits to its."""

  tfds_name: str = ""
  split_map: Dict[str, Optional[str]] = {"train": "train", "dev": "validation", "test": "test"}
  manual_files = ()
  how_to_get = ""

  def __init__(self, was_reversed: bool = False, download: bool = False):
    super().__init__(was_reversed=was_reversed, download=download)
    self.splits = tuple(k for k, v in self.split_map.items() if v)
    self._source = None

  def source(self, tmp_dir: str) -> TfdsSource:
    if self._source is None:
      self._source = TfdsSource(self.tfds_name, tmp_dir, download=self.download,
                                manual_files=self.manual_files, how_to_get=self.how_to_get)
    return self._source

  def check_raw_data(self, tmp_dir: str) -> None:
    self.source(tmp_dir).check(self.base_name)

  def split_size(self, split: str, tmp_dir: str) -> int:
    return self.source(tmp_dir).split_size(self.split_map[split])

  def examples(self, split: str, tmp_dir: str, start: int, stop: int) -> Iterator[dict]:
    for ex in self.source(tmp_dir).examples(self.split_map[split], start, stop):
      yield from self.convert(ex)

  def convert(self, ex: dict) -> Iterator[dict]:
    """One TFDS example (numpy) -> our raw examples."""
    raise NotImplementedError


def resize_and_encode(image: np.ndarray, size: int) -> bytes:
  """uint8 [h, w, 3] -> JPEG bytes of a size x size image (stored small, decoded fast)."""
  import tensorflow as tf
  if image.ndim == 2:
    image = np.stack([image] * 3, axis=-1)
  if image.shape[-1] == 1:
    image = np.concatenate([image] * 3, axis=-1)
  resized = tf.image.resize(image, (size, size), antialias=True)
  resized = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
  return tf.io.encode_jpeg(resized, quality=90).numpy()
