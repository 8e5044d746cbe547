"""Compiled decoding of feature batches with DecodeHParams: greedy, sampling or beam search.

    runner = DecodeRunner(model)
    result = runner.decode(features, problem, DecodeHParams(beam_size=4, alpha=0.6))
    result.ids      int32 numpy [B, N, L]: N = beam_size hypotheses (1 for greedy/sampling),
                    best first, each up to and including its end token, PAD after
    result.scores   float32 numpy [B, N]: log P (greedy, sampling) or log P / lp(len) (beam)

One tf.function per (problem, search settings), traced with a batch and input length of any
size (reduce_retracing), so a session does not recompile per input. Class-label problems take
one decoder step: the N most likely labels with their log-probabilities.
"""

import dataclasses
from typing import Dict, Tuple

import numpy as np
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.search import beam_search
from t2t_mm.search import greedy
from t2t_mm.utils import tracing


@dataclasses.dataclass
class DecodeResult:
  ids: np.ndarray
  scores: np.ndarray


def decode_features(model, features, problem: str, dhp: DecodeHParams, seed=None):
  """Graph-mode body: (ids [B, N, L], scores [B, N]) as tensors (see module docstring)."""
  spec = model.specs[problem]
  if spec.one_token_targets:
    state = model.start_decoding(features, problem, 1)
    b = tf.shape(features["target_space"])[0]
    logits, _ = model.decode_step(tf.zeros([b], tf.int32), state, problem)
    logp = tf.nn.log_softmax(logits, axis=-1)
    n = min(dhp.beam_size, spec.target_vocab_size)
    scores, labels = tf.math.top_k(logp, k=n)
    return labels[:, :, None], scores
  if dhp.beam_size > 1:
    return beam_search.beam_search(model, features, problem, dhp.max_decode_length,
                                   dhp.beam_size, dhp.alpha)
  ids, scores = greedy.greedy_or_sample(model, features, problem, dhp.max_decode_length,
                                        dhp.sampling_temperature, dhp.top_k,
                                        dhp.seed if seed is None else seed)
  return ids[:, None, :], scores[:, None]


class DecodeRunner:
  """Holds a model and its compiled decoding functions; see the module docstring."""

  def __init__(self, model):
    self.model = model
    self._fns: Dict[Tuple, tf.types.experimental.GenericFunction] = {}

  def function(self, problem: str, dhp: DecodeHParams):
    """The compiled fn(features, seed) of these settings (batch_size, return_beams and seed
    do not change the graph)."""
    key = (problem, dhp.beam_size, dhp.alpha, dhp.max_decode_length, dhp.sampling_temperature,
           dhp.top_k)
    if key not in self._fns:
      if problem not in self.model.specs:
        raise errors.UnknownNameError(
            f"The model has no problem {problem!r}."
            f"{errors.did_you_mean(str(problem), self.model.specs)} It was built for: "
            f"{sorted(self.model.specs)}.")
      self._fns[key] = tracing.function_for(
          lambda features, seed: decode_features(self.model, features, problem, dhp, seed),
          problem, reduce_retracing=True)
    return self._fns[key]

  def decode(self, features, problem: str, dhp: DecodeHParams) -> DecodeResult:
    fn = self.function(problem, dhp)
    ids, scores = fn(dict(features), tf.constant(dhp.seed, tf.int32))
    return DecodeResult(ids.numpy(), scores.numpy())


def trim(ids) -> list:
  """One hypothesis' ids up to (excluding) its end token (EOS or PAD), as a Python list."""
  out = []
  for i in np.asarray(ids).tolist():
    if i in (0, 1):
      break
    out.append(int(i))
  return out
