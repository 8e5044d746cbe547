"""The uncached greedy decoder: the reference that cached decoding (start_decoding/decode_step,
the layers' init_state/step) is tested against, and bench/decode.py's baseline.

    ids = greedy_uncached(model, features, problem, max_length=10)  # int32 [B, <= 10]

It recomputes the whole teacher-forced decoder (model.encode once, then model.decode) over a
[B, max_length] buffer at every step; causality makes the positions after t (still PAD)
irrelevant for step t. A sequence stops at EOS (or PAD); after that it emits PAD. Class-label
problems give [B, 1]: the argmax of one teacher-forced call.
"""

import weakref

import tensorflow as tf
from keras import ops

from t2t_mm import errors
from t2t_mm.data.spec import EOS_ID
from t2t_mm.data.spec import PAD_ID

# model -> {(problem, max_length): traced loop}; dies with the model.
_FNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def greedy_uncached(model, features, problem: str, max_length: int):
  """Greedy ids int32 [B, <= max_length] ([B, 1] for class labels); see the module docstring."""
  if model.specs[problem].one_token_targets:
    b = ops.shape(features["target_space"])[0]
    logits = model(dict(features, targets=ops.zeros((b, 1), "int32")), problem=problem,
                   training=False)
    return ops.cast(ops.argmax(logits, axis=-1), "int32")
  if max_length < 1:
    raise errors.ConfigError(f"greedy_uncached: max_length must be >= 1, got {max_length}.")
  fns = _FNS.setdefault(model, {})
  key = (problem, int(max_length))
  if key not in fns:
    owner = weakref.ref(model)  # A strong reference here would keep the key (and entry) alive.
    fns[key] = tf.function(lambda f: _loop(owner(), f, problem, int(max_length)),
                           reduce_retracing=True)
  return fns[key](dict(features))


def _loop(model, features, problem, max_length):
  encoded, enc_mask = model.encode(features["inputs"], problem, training=False)
  space = features["target_space"]
  b = ops.shape(space)[0]
  positions = ops.arange(max_length)[None, :]

  def cond(t, buf, done):
    return ops.logical_and(t < max_length, ops.logical_not(ops.all(done)))

  def body(t, buf, done):
    logits = model.decode(encoded, enc_mask, buf, space, problem, training=False)
    nxt = ops.cast(ops.argmax(logits[:, t], axis=-1), "int32")
    nxt = ops.where(done, PAD_ID, nxt)
    buf = ops.where(ops.equal(positions, t), nxt[:, None], buf)
    done = ops.logical_or(done, ops.logical_or(nxt == EOS_ID, nxt == PAD_ID))
    return t + 1, buf, done

  init = (ops.convert_to_tensor(0, "int32"), ops.zeros((b, max_length), "int32"),
          ops.zeros((b,), "bool"))
  t, buf, _ = ops.while_loop(cond, body, init)
  return buf[:, :t]
