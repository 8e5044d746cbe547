"""What the model needs to know about a problem, independent of where its data comes from.

A Problem describes itself with a ProblemSpec; the MultiModel builds one modality net per
distinct (modality, vocab) pair among the specs it is given, so problems that share a
modality and a vocabulary share its net, as in the paper.

Batches of every problem are dicts of tensors (one problem per batch):
  "inputs":       symbol: int32 [B, L] (0 = padding, ends with EOS = 1)
                  image:  float32 [B, H, W, 3] in [0, 1], fixed H, W per problem
                  audio:  float32 [B, N] waveform in [-1, 1] at `sample_rate`, zero-padded
  "targets":      symbol: int32 [B, T] (0 = padding, ends with EOS = 1)
                  class_label: int32 [B, 1], labels 0 .. num_classes - 1
  "target_space": int32 [B], the TargetSpace (command token) of the problem
"""

import dataclasses
import enum
from typing import Optional, Tuple

import numpy as np

PAD_ID = 0
EOS_ID = 1


class TargetSpace(enum.IntEnum):
  """Command tokens: the first decoder input, telling the decoder which output to produce."""

  GENERIC = 0
  TO_ENGLISH = 1
  TO_GERMAN = 2
  TO_FRENCH = 3
  TO_PARSE_TREE = 4
  TO_LABEL = 5
  TO_CHARACTERS = 6  # Speech transcripts spelled out as characters.


@dataclasses.dataclass(frozen=True)
class ProblemSpec:
  """The model-facing description of one problem.

  Args:
    name: the problem's registered name (with `_rev` where reversed).
    input_modality: registered modality of the inputs: "symbol", "image", "audio_spectral" or
      "audio_waveform".
    target_modality: registered modality of the targets: "symbol" or "class_label".
    target_space: the command token the decoder starts from.
    input_vocab: name of the input vocabulary ("subword", "bytes", ...); None if not symbols.
    input_vocab_size: its size; None if not symbols.
    target_vocab: name of the target vocabulary, or "labels" for class labels.
    target_vocab_size: vocabulary size, or the number of classes.
    metrics: names of the problem's eval metrics ("accuracy", "bleu", "wer", ...).
    sample_rate: Hz of audio inputs; None otherwise.
    image_size: (H, W) of image inputs; None otherwise (or images of any size).
    audio_frame_step: audio samples per frame (10 ms): max_input_length counts frames.
    max_audio_seconds: audio inputs are cut at this many seconds, whatever max_input_length
      says; None: at max_input_length frames.
  """

  name: str
  input_modality: str
  target_modality: str
  target_space: TargetSpace
  target_vocab: str
  target_vocab_size: int
  input_vocab: Optional[str] = None
  input_vocab_size: Optional[int] = None
  metrics: Tuple[str, ...] = ()
  sample_rate: Optional[int] = None
  image_size: Optional[Tuple[int, int]] = None
  audio_frame_step: int = 160
  max_audio_seconds: Optional[float] = None

  @property
  def one_token_targets(self) -> bool:
    """Each target is one token (a class label): no EOS, every position counts, one step.

    A property of the target modality's registered preprocessor, so a new target modality
    declares it once instead of every loss, search and metric testing the modality's name.
    """
    from t2t_mm import registry  # Lazily: the preprocessors import modules that import this one.
    from t2t_mm.data import preprocessors  # noqa: F401  (registers them)
    return registry.preprocessor(self.target_modality).one_token

  @property
  def input_key(self) -> Tuple[str, Optional[str]]:
    """Problems with equal keys share the input modality net."""
    return (self.input_modality, self.input_vocab)

  @property
  def target_key(self) -> Tuple[str, str]:
    """Problems with equal keys share the target modality net.

    Class labels are each problem's own: problems with 2 and 16 classes (or two label sets of
    one size) must not share one classifier, so their key names the problem.
    """
    if self.one_token_targets:
      return (self.target_modality, f"{self.target_vocab}_{self.name}")
    return (self.target_modality, self.target_vocab)

  def to_dict(self) -> dict:
    """JSON-ready fields (what problems.json and a model's config hold)."""
    d = dataclasses.asdict(self)
    d["target_space"] = int(self.target_space)
    d["metrics"] = list(self.metrics)
    d["image_size"] = list(self.image_size) if self.image_size is not None else None
    return d

  @classmethod
  def from_dict(cls, d: dict) -> "ProblemSpec":
    """The inverse of to_dict."""
    d = dict(d)
    d["target_space"] = TargetSpace(d["target_space"])
    d["metrics"] = tuple(d.get("metrics", ()))
    if d.get("image_size") is not None:
      d["image_size"] = tuple(d["image_size"])
    return cls(**d)


def output_text(vocab, spec: ProblemSpec, ids) -> str:
  """One hypothesis' (or reference's) ids [L] -> text up to its EOS (or the class name for
  class labels): how every decoder and evaluator turns target ids into text."""
  if spec.one_token_targets:
    return vocab.decode([int(ids[0])])
  out = []
  for i in np.asarray(ids).tolist():
    if i in (PAD_ID, EOS_ID):
      break
    out.append(int(i))
  return vocab.decode(out)
