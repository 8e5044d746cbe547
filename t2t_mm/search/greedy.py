"""Greedy search and sampling over a model's incremental decoding (start_decoding/decode_step).

    ids, scores = greedy_or_sample(model, features, problem, max_length)          # argmax
    ids, scores = greedy_or_sample(model, features, problem, 50, temperature=0.8, top_k=10,
                                   seed=7)
    ids, scores, att = greedy_or_sample(model, features, problem, 50, attention=True)
  ids int32 [B, max_length]: tokens up to and including the end token (EOS, or PAD as the
  uncached reference decoder treats it), PAD after; scores float32 [B]: sum of the chosen tokens'
  log-probabilities (of the untempered model); att float32 [B, max_length, L, S]: per output
token, the attention of each of the model's L source-attention blocks (averaged over heads)
over the S encoded input positions (model.decode_step(..., return_attention=True)).

    state = model.start_decoding(features, problem, max_length)                 # encoder once
    ids, scores = greedy_loop(model, state, problem, max_length)                # the steps

The loop is a while_loop over fixed-size buffers (static shapes); it stops when every
sequence has ended or at max_length. Compile it by calling inside tf.function (runner.py, which
compiles greedy_loop alone with XLA: it has only static shapes, the encoder does not).
"""

from keras import ops
import tensorflow as tf

from t2t_mm.data.spec import EOS_ID
from t2t_mm.data.spec import PAD_ID

NEG_INF = -1e9


def is_end(ids):
  """EOS ends a sequence; so does PAD, as in t2t_mm.testing.reference_decode."""
  return ops.logical_or(ops.equal(ids, EOS_ID), ops.equal(ids, PAD_ID))


def restrict_top_k(logits, top_k: int):
  """Logits outside each row's k largest set to NEG_INF (top_k <= 0: unchanged)."""
  if top_k <= 0 or top_k >= logits.shape[-1]:
    return logits
  kth = ops.top_k(logits, k=top_k)[0][:, -1:]
  return ops.where(ops.less(logits, kth), NEG_INF, logits)


def choose(logits, t, temperature: float, top_k: int, seed):
  """Next ids int32 [B] from float32 logits [B, V]: argmax, or a sample at `temperature`."""
  if temperature <= 0.0:
    return ops.cast(ops.argmax(logits, axis=-1), "int32")
  scaled = restrict_top_k(logits / temperature, top_k)
  step_seed = tf.stack([tf.cast(seed, tf.int32), tf.cast(t, tf.int32)])
  return tf.cast(tf.random.stateless_categorical(scaled, 1, seed=step_seed)[:, 0], tf.int32)


def greedy_or_sample(model, features, problem, max_length: int, temperature: float = 0.0,
                     top_k: int = 0, seed=0, attention: bool = False):
  """See the module docstring."""
  state = model.start_decoding(features, problem, max_length)
  return greedy_loop(model, state, problem, max_length, temperature, top_k, seed, attention)


def greedy_loop(model, state, problem, max_length: int, temperature: float = 0.0,
                top_k: int = 0, seed=0, attention: bool = False):
  """The search from a start_decoding state: (ids [B, max_length], scores [B]); with
  attention=True also the decoder's source attention of each chosen token, float32
  [B, max_length, L, S] (model.decode_step's, zeros after a sequence's end). A Python flag:
  without it the loop carries no attention buffer at all."""
  b = ops.shape(state["fixed"]["command"])[0]
  positions = ops.arange(max_length)[None, :]

  def cond(prev, buf, done, score, state, *att):
    del prev, buf, score, att
    return ops.logical_and(state["t"] < max_length, ops.logical_not(ops.all(done)))

  def body(prev, buf, done, score, state, *att):
    t = state["t"]
    if attention:
      logits, state, weights = model.decode_step(prev, state, problem, return_attention=True)
      at_t = ops.equal(positions, t)[:, :, None, None]  # [1, max_length, 1, 1]
      keep = ops.logical_not(done)[:, None, None, None]
      att = (ops.where(ops.logical_and(at_t, keep), weights[:, None], att[0]),)
    else:
      logits, state = model.decode_step(prev, state, problem)
    nxt = ops.where(done, PAD_ID, choose(logits, t, temperature, top_k, seed))
    logp = ops.take_along_axis(ops.log_softmax(logits, axis=-1), nxt[:, None], axis=-1)[:, 0]
    score = score + ops.where(done, 0.0, logp)
    buf = ops.where(ops.equal(positions, t), nxt[:, None], buf)
    return (nxt, buf, ops.logical_or(done, is_end(nxt)), score, state, *att)

  init = (ops.zeros((b,), "int32"), ops.zeros((b, max_length), "int32"),
          ops.zeros((b,), "bool"), ops.zeros((b,), "float32"), state)
  if attention:
    s = ops.shape(model.source_mask(state))[1]
    init += (ops.zeros((b, max_length, len(model.attention_layers()), s), "float32"),)
  out = ops.while_loop(cond, body, init)
  return (out[1], out[3], out[5]) if attention else (out[1], out[3])
