"""Compiled decoding of feature batches with DecodeHParams: greedy, sampling or beam search.

    search = CompiledSearch(model)
    result = search.decode(features, problem, DecodeHParams(beam_size=4, alpha=0.6))
    result.ids      int32 numpy [B, N, L]: N = beam_size hypotheses (1 for greedy/sampling),
                    best first, each up to and including its end token, PAD after
    result.scores   float32 numpy [B, N]: log P (greedy, sampling) or log P / lp(len) (beam)

One tf.function per (problem, search settings), traced with a batch and input length of any
size (reduce_retracing), so a session does not recompile per input. Class-label problems take
one decoder step: the N most likely labels with their log-probabilities.

With DecodeHParams.jit_compile (the default) the search loop, every step after the encoder, is
compiled by XLA, which fuses each step's many small ops (4x the tokens/s at batch 1 on CPU,
docs/STACK.md). XLA compiles once per shape, so `decode` pads the batch and the input length
up to a bucket (BATCH_BUCKETS, length_bucket): a session compiles a bounded set of shapes.
Padding changes nothing: padded rows repeat the last real row and are dropped, and trailing
zeros of token and waveform inputs are masked by the model (multimodel_test). The encoder stays
in TensorFlow's graph executor: its exact MoE dispatch has data-dependent shapes.
"""

import dataclasses
import weakref
from typing import Dict, Optional, Tuple

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
  # decode(..., attention=True) only; see CompiledSearch.decode.
  attention: Optional[np.ndarray] = None
  source_mask: Optional[np.ndarray] = None


BATCH_BUCKETS = (1, 2, 4, 8, 16, 32)  # Then multiples of 32.
LENGTH_STEP = 8  # Length buckets are multiples of 8, each about 1.25x the one before.


def batch_bucket(n: int) -> int:
  """The batch size n is padded to: 3 -> 4, 32 -> 32, 33 -> 64."""
  for b in BATCH_BUCKETS:
    if n <= b:
      return b
  return -(-n // BATCH_BUCKETS[-1]) * BATCH_BUCKETS[-1]


def length_bucket(n: int) -> int:
  """The input length n is padded to: 5 -> 8, 20 -> 24, 100 -> 104, 16000 -> 16656."""
  b = LENGTH_STEP
  while b < n:
    b = max(b + LENGTH_STEP, -(-int(b * 1.25) // LENGTH_STEP) * LENGTH_STEP)
  return b


def pad_to_buckets(features):
  """(features padded to batch and length buckets, real batch size); see the module docstring.

  Every feature has the batch first; 2-D inputs ([B, tokens] or [B, samples]) are padded with
  zeros at the end of axis 1; images and frames keep their shape.
  """
  features = {k: tf.convert_to_tensor(v) for k, v in features.items()}
  n = int(features["target_space"].shape[0])
  extra = batch_bucket(n) - n
  if extra:
    features = {k: tf.concat([v, tf.repeat(v[-1:], extra, axis=0)], 0)
                for k, v in features.items()}
  inputs = features["inputs"]
  if inputs.shape.rank == 2:
    length = int(inputs.shape[1])
    features["inputs"] = tf.pad(inputs, [[0, 0], [0, length_bucket(length) - length]])
  return features, n


def search_loop(model, problem: str, dhp: DecodeHParams, attention: bool = False):
  """fn(state, seed) -> (ids [B, N, L], scores [B, N]): the search from a start_decoding state;
  with attention (greedy and sampling only) also the attention [B, L, layers, S]."""
  if dhp.beam_size > 1:
    return lambda state, seed: beam_search.beam_loop(model, state, problem, dhp.max_decode_length,
                                                     dhp.beam_size, dhp.alpha)

  def greedy_fn(state, seed):
    out = greedy.greedy_loop(model, state, problem, dhp.max_decode_length,
                             dhp.sampling_temperature, dhp.top_k, seed, attention)
    return (out[0][:, None, :], out[1][:, None], *out[2:])
  return greedy_fn


def decode_features(model, features, problem: str, dhp: DecodeHParams, seed=None,
                    attention: bool = False):
  """Graph-mode body: (ids [B, N, L], scores [B, N]) as tensors (see module docstring); with
  attention, also the attention of the best hypothesis [B, L, layers, S] and the source mask
  [B, S].

  dhp.jit_compile compiles the search loop with XLA (call it inside a tf.function).
  """
  spec = model.specs[problem]
  if spec.one_token_targets:
    state = model.start_decoding(features, problem, 1)
    b = tf.shape(features["target_space"])[0]
    out = model.decode_step(tf.zeros([b], tf.int32), state, problem,
                            return_attention=attention)
    logp = tf.nn.log_softmax(out[0], axis=-1)
    n = min(dhp.beam_size, spec.target_vocab_size)
    scores, labels = tf.math.top_k(logp, k=n)
    if attention:
      return labels[:, :, None], scores, out[2][:, None], model.source_mask(state)
    return labels[:, :, None], scores
  loop = search_loop(model, problem, dhp, attention)
  if dhp.jit_compile:
    # autograph=False: the loops are explicit while_loops, nothing to convert (autograph
    # cannot read the source of a function_for copy and would warn).
    loop = tracing.function_for(loop, problem, jit_compile=True, autograph=False)
  state = model.start_decoding(features, problem, dhp.max_decode_length)
  out = loop(state, dhp.seed if seed is None else seed)
  return (*out, model.source_mask(state)) if attention else out


# model -> its compiled decoding functions, shared by every CompiledSearch of that model (the
# trainer's evaluation and mm-eval's per-problem searches trace a graph once). The functions
# hold the model weakly, so an entry goes with its model.
_FNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class CompiledSearch:
  """Holds a model and its compiled decoding functions (shared by every CompiledSearch of
  one model); see the module docstring."""

  def __init__(self, model):
    self.model = model
    self._fns: Dict[Tuple, tf.types.experimental.GenericFunction] = _FNS.setdefault(model, {})

  def function(self, problem: str, dhp: DecodeHParams, attention: bool = False):
    """The compiled fn(features, seed) of these settings (batch_size, return_beams and seed
    do not change the graph). With attention, a function of its own: the one without it
    carries no attention buffer."""
    key = (problem, dhp.beam_size, dhp.alpha, dhp.max_decode_length, dhp.sampling_temperature,
           dhp.top_k, dhp.jit_compile, attention)
    if key not in self._fns:
      if problem not in self.model.specs:
        raise errors.UnknownNameError(
            f"The model has no problem {problem!r}."
            f"{errors.did_you_mean(str(problem), self.model.specs)} It was built for: "
            f"{sorted(self.model.specs)}.")
      if (attention and dhp.beam_size > 1
          and not self.model.specs[problem].one_token_targets):
        raise errors.ConfigError(
            f"Attention comes from greedy decoding and sampling; beam_size={dhp.beam_size} "
            "asks for beam search: use beam_size=1 with attention.")
      if attention:
        self.model._check_attention()
      model = weakref.ref(self.model)
      self._fns[key] = tracing.function_for(
          lambda features, seed: decode_features(model(), features, problem, dhp, seed,
                                                 attention),
          problem, reduce_retracing=True)
    return self._fns[key]

  def decode(self, features, problem: str, dhp: DecodeHParams,
             attention: bool = False) -> DecodeResult:
    """See the module docstring. attention=True (greedy and sampling, or class labels) also
    fills result.attention, float32 [B, L_out, layers, S]: per output position, each source
    attention block's weights (model.attention_layers(), averaged over heads) over the S
    encoded input positions, and result.source_mask [B, S] (1: a real input position; the
    input may have been padded to a bucket)."""
    fn = self.function(problem, dhp, attention)
    n = None
    if dhp.jit_compile and not self.model.specs[problem].one_token_targets:
      features, n = pad_to_buckets(features)
    out = fn(dict(features), tf.constant(dhp.seed, tf.int32))
    result = DecodeResult(out[0].numpy()[:n], out[1].numpy()[:n])
    if attention:
      result.attention, result.source_mask = out[2].numpy()[:n], out[3].numpy()[:n]
    return result

