"""all8_mini: eight small local problems, one per task of the paper, made in seconds.

    mm-datagen --problem=all8_mini --data_dir=D --tmp_dir=T

| problem                      | inputs              | targets                    |
| ---------------------------- | ------------------- | -------------------------- |
| wmt_ende_mini (_rev: DE->EN) | English sentence    | German sentence            |
| wmt_enfr_mini (_rev: FR->EN) | English sentence    | French sentence            |
| image_scenes_mini            | 32x32 scene         | one of 20 "colour shape"   |
| caption_scenes_mini          | 32x32 scene         | English caption            |
| speech_en_mini               | 16 kHz speech       | characters (bytes vocab)   |
| parse_en_mini                | English sentence    | linearized parse tree      |

Sizes and seeds are constructor arguments, bound with gin, e.g.
`problems.wmt_ende_mini.num_train_examples = 2000`; the shared vocab size with
`problems.all8_mini_vocab.vocab_size = 1000`. Language problems share one subword vocab
(`vocab.all8_mini.subword.<size>.model` in data_dir); speech targets use the byte vocab.
"""

from typing import Dict, Iterator, Optional

import numpy as np

from t2t_mm import registry
from t2t_mm.data.mini import corpus
from t2t_mm.data.mini import grammar
from t2t_mm.data.mini import scenes
from t2t_mm.data.mini import speech
from t2t_mm.data.problem import Problem
from t2t_mm.data.spec import TargetSpace

_SPLIT_ID = {"train": 0, "dev": 1, "test": 2}


class MiniProblem(Problem):
  """Sizes, seed and the shared vocab of the mini problems.

  Args:
    was_reversed: swap inputs and targets (text-to-text only).
    num_train_examples, num_dev_examples, num_test_examples: split sizes.
    data_seed: seed of the generator; equal seeds give equal data (named so because
      `seed` is an hparam, which gin may not bind).
  """

  def __init__(self, was_reversed: bool = False, num_train_examples: int = 20000,
               num_dev_examples: int = 500, num_test_examples: int = 500,
               data_seed: int = 1):
    super().__init__(was_reversed=was_reversed)
    self.sizes = {"train": num_train_examples, "dev": num_dev_examples,
                  "test": num_test_examples}
    self.seed = data_seed

  @property
  def subword_vocab_file(self) -> str:
    return corpus.vocab_filename()

  # Bump when a generator changes what it makes, so old shards are rewritten, not reused.
  generator_version = 2

  def config(self) -> Dict[str, object]:
    return {"seed": self.seed, "vocab": self.subword_vocab_file,
            "generator_version": self.generator_version}

  def split_size(self, split: str, tmp_dir: str) -> int:
    return self.sizes[split]

  def build_vocabs(self, data_dir: str, tmp_dir: str) -> None:
    if "subword" in (self.input_vocab_name, self.target_vocab_name):
      corpus.build(data_dir)

  def _rng(self, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([self.seed, _SPLIT_ID[split], index])


class _GrammarProblem(MiniProblem):
  """Text-to-text problems over the mini grammar: inputs and targets are keys of render()."""

  source, target, kind = "en", "de", ""

  def examples(self, split: str, tmp_dir: str, start: int, stop: int) -> Iterator[dict]:
    for i in range(start, stop):
      r = grammar.render(grammar.example_for(self.seed, split, i, self.kind))
      yield {"inputs": r[self.source], "targets": r[self.target]}


@registry.register_problem
class WmtEndeMini(_GrammarProblem):
  """English -> German sentences of the mini grammar (_rev: German -> English)."""

  target, kind = "de", "ende"
  reversed_target_space, target_space = TargetSpace.TO_ENGLISH, TargetSpace.TO_GERMAN
  metrics = ("token_accuracy", "bleu", "chrf")


@registry.register_problem
class WmtEnfrMini(_GrammarProblem):
  """English -> French sentences of the mini grammar (_rev: French -> English)."""

  target, kind = "fr", "enfr"
  reversed_target_space, target_space = TargetSpace.TO_ENGLISH, TargetSpace.TO_FRENCH
  metrics = ("token_accuracy", "bleu", "chrf")


@registry.register_problem
class ParseEnMini(_GrammarProblem):
  """English sentence -> linearized parse tree; a small training set, as WSJ is in the paper."""

  target, kind = "tree", "parse"
  reversed_target_space, target_space = TargetSpace.TO_ENGLISH, TargetSpace.TO_PARSE_TREE
  metrics = ("token_accuracy", "exact_match", "bracket_f1")

  def __init__(self, was_reversed: bool = False, num_train_examples: int = 3000,
               num_dev_examples: int = 500, num_test_examples: int = 500,
               data_seed: int = 1):
    super().__init__(was_reversed, num_train_examples, num_dev_examples, num_test_examples,
                     data_seed)


@registry.register_problem
class ImageScenesMini(MiniProblem):
  """A 32x32 scene with one shape -> one of 20 classes "colour shape" (the ImageNet stand-in)."""

  input_modality, target_modality = "image", "class_label"
  input_vocab_name, target_vocab_name = None, "labels"
  target_space = TargetSpace.TO_LABEL
  metrics = ("accuracy", "top5")
  class_labels = tuple(scenes.CLASS_LABELS)
  image_size = (32, 32)

  def __init__(self, was_reversed: bool = False, num_train_examples: int = 8000,
               num_dev_examples: int = 500, num_test_examples: int = 500,
               data_seed: int = 2):
    super().__init__(was_reversed, num_train_examples, num_dev_examples, num_test_examples,
                     data_seed)

  def examples(self, split: str, tmp_dir: str, start: int, stop: int) -> Iterator[dict]:
    for i in range(start, stop):
      image, label = scenes.classification_example(self._rng(split, i), self.image_size[0])
      yield {"inputs": scenes.encode_png(image), "targets": label}


@registry.register_problem
class CaptionScenesMini(MiniProblem):
  """A 32x32 scene with two shapes -> an English caption (the MS-COCO stand-in)."""

  input_modality, input_vocab_name = "image", None
  target_space = TargetSpace.TO_ENGLISH
  metrics = ("token_accuracy", "bleu", "cider_d")
  image_size = (32, 32)

  def __init__(self, was_reversed: bool = False, num_train_examples: int = 8000,
               num_dev_examples: int = 500, num_test_examples: int = 500,
               data_seed: int = 3):
    super().__init__(was_reversed, num_train_examples, num_dev_examples, num_test_examples,
                     data_seed)

  def examples(self, split: str, tmp_dir: str, start: int, stop: int) -> Iterator[dict]:
    for i in range(start, stop):
      image, caption = scenes.caption_example(self._rng(split, i), self.image_size[0])
      yield {"inputs": scenes.encode_png(image), "targets": caption}


@registry.register_problem
class SpeechEnMini(MiniProblem):
  """16 kHz speech of a short English sentence -> its characters (the WSJ speech stand-in).

  Audio is synthesized with espeak-ng (Debian package `espeak-ng`); sentences have 2-5 words,
  clips about 1-2.9 s, all kept whole (`max_audio_seconds`: 3 s, whatever max_input_length).
  """

  input_modality, input_vocab_name = "audio_spectral", None
  target_vocab_name = "bytes"
  target_space = TargetSpace.TO_CHARACTERS
  metrics = ("token_accuracy", "cer", "wer")
  sample_rate = speech.SAMPLE_RATE
  shuffle_buffer = 512  # Records are ~50 KB each.

  def __init__(self, was_reversed: bool = False, num_train_examples: int = 2000,
               num_dev_examples: int = 200, num_test_examples: int = 200,
               data_seed: int = 4, max_audio_seconds: Optional[float] = 3.0):
    super().__init__(was_reversed, num_train_examples, num_dev_examples, num_test_examples,
                     data_seed)
    self.max_audio_seconds = max_audio_seconds
    self._bank = None

  def check_raw_data(self, tmp_dir: str) -> None:
    speech.check_espeak()

  def build_vocabs(self, data_dir: str, tmp_dir: str) -> None:
    self._word_bank(tmp_dir)  # Synthesize the word clips once, before parallel workers.

  def _texts(self, split: str, start: int, stop: int):
    return [grammar.render_speech(grammar.example_for(self.seed, split, i, "speech",
                                                      simple=True, max_words=5))
            for i in range(start, stop)]

  def _word_bank(self, tmp_dir: str) -> speech.WordBank:
    if self._bank is None:
      self._bank = speech.WordBank(tmp_dir, grammar.speech_vocabulary())
    return self._bank

  def examples(self, split: str, tmp_dir: str, start: int, stop: int) -> Iterator[dict]:
    bank = self._word_bank(tmp_dir)
    for i, text in zip(range(start, stop), self._texts(split, start, stop)):
      yield {"inputs": bank.utterance(self._rng(split, i), text), "targets": text}


registry.register_suite("all8_mini", [
    "wmt_ende_mini", "wmt_ende_mini_rev", "wmt_enfr_mini", "wmt_enfr_mini_rev",
    "image_scenes_mini", "caption_scenes_mini", "speech_en_mini", "parse_en_mini"])
