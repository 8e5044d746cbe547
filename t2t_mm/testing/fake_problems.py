"""In-memory problems that follow the Problem contract (docs/DESIGN.md), for fast tests.

    FakeCopyProblem: symbol inputs -> the same symbols (a copy task), metric exact_match.
    FakeLabelProblem: symbol inputs -> class label (each class draws its own range of ids).
    FakeImageLabelProblem: images [8, 8, 3] -> class label (the brightest colour channel).
    FakeSpeechProblem: 800 Hz waveforms -> symbols (the count of loud segments, as ids).
"""

from typing import List, Optional

import numpy as np
import tensorflow as tf

from t2t_mm.data import problem as problem_lib
from t2t_mm.data import spec as spec_lib
from t2t_mm.data import vocabularies


class FakeVocab(vocabularies.Vocabulary):
  """Ids <-> space-separated numbers: decode stops at EOS and drops PAD (no in-graph form)."""

  name = "fake"

  def __init__(self, vocab_size: int = 12):
    self._size = vocab_size

  @property
  def vocab_size(self) -> int:
    return self._size

  def encode(self, text: str) -> List[int]:
    return [int(t) for t in text.split()]

  def decode(self, ids) -> str:
    return " ".join(str(i) for i in vocabularies.strip_special(ids))


def _with_eos(tokens: np.ndarray) -> np.ndarray:
  eos = np.full((len(tokens), 1), spec_lib.EOS_ID, np.int32)
  return np.concatenate([tokens, eos], axis=1).astype(np.int32)


class _FixedShape:
  """What mm-eval's batching asks of a preprocessor: every example has one shape here."""

  fixed_shape = True
  length_unit = None  # Nothing for datagen's length report to measure.

  def length(self, x):
    return tf.shape(x)[0]


class FakeCopyProblem:
  """Random token sequences (ids 2..vocab_size-1) whose target is the same sequence."""

  def __init__(self, name: str = "fake_copy", vocab_size: int = 12, length: int = 5,
               num_train: int = 256, num_dev: int = 64, seed: int = 0):
    self.name, self.vocab_size, self.length = name, vocab_size, length
    self._sizes = {"train": num_train, "dev": num_dev, "test": num_dev}
    self._seed = seed

  def spec(self, data_dir) -> spec_lib.ProblemSpec:
    del data_dir
    return spec_lib.ProblemSpec(
        name=self.name, input_modality="symbol", target_modality="symbol",
        target_space=spec_lib.TargetSpace.TO_ENGLISH, target_vocab="fake",
        target_vocab_size=self.vocab_size, input_vocab="fake",
        input_vocab_size=self.vocab_size, metrics=("exact_match",))

  def has_data(self, data_dir) -> bool:
    del data_dir
    return True  # Made in memory.

  def num_examples(self, mode: str, data_dir) -> int:
    del data_dir
    return self._sizes[mode]

  def target_vocab(self, data_dir) -> FakeVocab:
    del data_dir
    return FakeVocab(self.vocab_size)

  def input_vocab(self, data_dir) -> FakeVocab:
    del data_dir
    return FakeVocab(self.vocab_size)

  def _rng(self, mode: str) -> np.random.Generator:
    """The generator of `mode`'s examples: fixed by the seed, different per split."""
    return np.random.default_rng([self._seed, ("train", "dev", "test").index(mode)])

  def _arrays(self, mode: str):
    rng = self._rng(mode)
    n = self._sizes[mode]
    tokens = rng.integers(2, self.vocab_size, size=(n, self.length), dtype=np.int32)
    with_eos = _with_eos(tokens)
    return with_eos, self._targets(with_eos)

  def _targets(self, inputs: np.ndarray) -> np.ndarray:
    return inputs

  metrics = ()  # Beyond the spec's (the Problem contract's problem-level metrics).

  def examples_dataset(self, mode: str, data_dir, config, shuffle: bool = True, seed=None):
    """(unbatched examples, inputs and targets "preprocessors"): what mm-eval batches."""
    del data_dir, config
    inputs, targets = self._arrays(mode)
    space = int(self.spec(None).target_space)
    ds = tf.data.Dataset.from_tensor_slices({
        "inputs": inputs, "targets": targets,
        "target_space": np.full([len(inputs)], space, np.int32)})
    if shuffle and mode == "train":
      ds = ds.shuffle(len(inputs), seed=seed)
    return ds, _FixedShape(), _FixedShape()

  def dataset(self, mode: str, data_dir, config, shuffle: bool = True, seed=None,
              num_shards: int = 1, shard_index: int = 0,
              order: Optional[str] = None) -> tf.data.Dataset:
    """Problem.dataset's batches; every example has one length, so both `order`s are the
    split's order."""
    del data_dir
    problem_lib.check_order(order, mode)
    inputs, targets = self._arrays(mode)
    space = int(self.spec(None).target_space)
    ds = tf.data.Dataset.from_tensor_slices({
        "inputs": inputs, "targets": targets,
        "target_space": np.full([len(inputs)], space, np.int32)})
    if order:
      ds = problem_lib.with_index(ds)
    ds = ds.shard(num_shards, shard_index)
    if mode == "train":
      if shuffle:
        ds = ds.shuffle(len(inputs), seed=seed)
      ds = ds.repeat()
    return ds.batch(config.batch_size, drop_remainder=mode == "train").prefetch(2)


class FakeLabelProblem(FakeCopyProblem):
  """Token sequences drawn from a class-specific range of ids, labelled by that class."""

  def __init__(self, name: str = "fake_label", num_classes: int = 3, **kwargs):
    super().__init__(name=name, **kwargs)
    self.num_classes = num_classes

  def spec(self, data_dir) -> spec_lib.ProblemSpec:
    del data_dir
    return spec_lib.ProblemSpec(
        name=self.name, input_modality="symbol", target_modality="class_label",
        target_space=spec_lib.TargetSpace.TO_LABEL, target_vocab="labels",
        target_vocab_size=self.num_classes, input_vocab="fake",
        input_vocab_size=self.vocab_size, metrics=("accuracy", "top5"))

  def _arrays(self, mode: str):
    rng = self._rng(mode)
    n, width = self._sizes[mode], (self.vocab_size - 2) // self.num_classes
    labels = rng.integers(0, self.num_classes, size=(n, 1), dtype=np.int32)
    tokens = 2 + labels * width + rng.integers(0, width, size=(n, self.length), dtype=np.int32)
    with_eos = _with_eos(tokens)
    return with_eos, labels


class FakeLabelVocab(vocabularies.Vocabulary):
  """Class ids <-> names "class0", "class1", ... (no in-graph form)."""

  name = "labels"
  pad_id = eos_id = None

  def __init__(self, num_classes: int):
    self.labels = [f"class{i}" for i in range(num_classes)]

  @property
  def vocab_size(self) -> int:
    return len(self.labels)

  def encode(self, text: str) -> List[int]:
    return [self.labels.index(text)]

  def decode(self, ids) -> str:
    return self.labels[int(list(ids)[0])]


class FakeImageLabelProblem(FakeCopyProblem):
  """Random 8x8 images labelled by their brightest colour channel (3 classes)."""

  image_size = (8, 8)

  def __init__(self, name: str = "fake_image_label", **kwargs):
    super().__init__(name=name, **kwargs)

  def spec(self, data_dir) -> spec_lib.ProblemSpec:
    del data_dir
    return spec_lib.ProblemSpec(
        name=self.name, input_modality="image", target_modality="class_label",
        target_space=spec_lib.TargetSpace.TO_LABEL, target_vocab="labels",
        target_vocab_size=3, metrics=("accuracy",), image_size=self.image_size)

  def input_vocab(self, data_dir):
    del data_dir
    return None

  def target_vocab(self, data_dir) -> FakeLabelVocab:
    del data_dir
    return FakeLabelVocab(3)

  def _arrays(self, mode: str):
    rng = self._rng(mode)
    n = self._sizes[mode]
    images = rng.random((n, *self.image_size, 3)).astype(np.float32)
    return images, images.mean(axis=(1, 2)).argmax(-1)[:, None].astype(np.int32)


class FakeSpeechProblem(FakeCopyProblem):
  """Random 0.1 s waveforms at 8 kHz; the target spells how many of 4 segments are loud."""

  sample_rate = 8000

  def __init__(self, name: str = "fake_speech", **kwargs):
    super().__init__(name=name, **kwargs)

  def spec(self, data_dir) -> spec_lib.ProblemSpec:
    del data_dir
    return spec_lib.ProblemSpec(
        name=self.name, input_modality="audio_waveform", target_modality="symbol",
        target_space=spec_lib.TargetSpace.TO_CHARACTERS, target_vocab="fake",
        target_vocab_size=self.vocab_size, metrics=("exact_match",),
        sample_rate=self.sample_rate)

  def input_vocab(self, data_dir):
    del data_dir
    return None

  def _arrays(self, mode: str):
    rng = self._rng(mode)
    n = self._sizes[mode]
    loud = rng.integers(0, 2, (n, 4))
    wave = rng.uniform(-0.1, 0.1, (n, 4, 200)) * (1 + 8 * loud[:, :, None])
    targets = np.stack([2 + loud.sum(1), np.full(n, spec_lib.EOS_ID)], axis=1)
    return wave.reshape(n, 800).astype(np.float32), targets.astype(np.int32)
