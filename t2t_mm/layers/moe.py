"""Sparsely-gated mixture of experts (Shazeer et al. 2017) with noisy top-k gating.

Two dispatches, chosen by `dispatch` (hparam moe_dispatch):
  exact     dynamic shapes, nothing dropped: fastest in TensorFlow's graph executor on CPU,
            but its gradient does not compile under XLA.
  capacity  static shapes (GShard, Switch Transformer): every tensor's shape follows from the
            batch shape, so forward and backward compile under XLA.
  auto      (default) capacity where XLA compiles the call (a jit_compile tf.function),
            exact elsewhere.

Capacity dispatch: C = ceil(c * N * k / E) for the N = batch x length positions (padding
included: the shape must not depend on data), c = capacity_factor or 2.0 where that is 0.
Each real (token, expert) assignment takes the next free row of its expert's [C, d] buffer in
token order; assignments past row C are dropped (counted in `last_drop_counts`), padded tokens
take no row. The experts run as one batched matmul pair on the [E, C, d] buffer and each
assignment reads its row back (gathers and a scatter: FLOPs ~ c x tokens x k, not x E).
With nothing dropped a token's output is a function of that token alone, as in exact dispatch.

Exact dispatch (constant op count per expert, no padding; FLOPs ~ tokens x k): the N*k
(token, expert) assignments are sorted by expert (stable argsort), the rows are gathered in
that order and split by each expert's load into E blocks; expert i runs one 2-D matmul pair
on its block; the outputs are scattered back to assignment order, weighted by the gates and summed
per token. Padded tokens go to no expert.
Why this dispatch (the measurements are in docs/STACK.md, "Found while building the trainer
and decoder"):
  * per-expert strided slices of the weights have dense zero-padded gradients, one per expert;
    unstacking the weights once and splitting the rows once avoids them.
  * a batched matmul over a [E, C, d] capacity buffer pads every expert to the busiest one's
    load, and small batched matmuls run slower than 2-D ones on CPU.
  * exact dispatch keeps each token's output a function of that token alone, so the
    MultiModel's padding invariance holds. `capacity_factor` > 0 caps each expert's rows
    (bounded work under a collapsed router) at the price of dropping overflow assignments.
  * the shapes are dynamic: the gradient does not compile under XLA (the capacity dispatch
    does).
tf.argsort(stable=True) is used because keras.ops.argsort is not stable on TensorFlow, and
tf.split because keras.ops.split takes only static sections.
"""

import math

import keras
from keras import ops
import tensorflow as tf
# Whether the graph being traced is compiled by XLA: no public TensorFlow API says so.
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import control_flow_util

from t2t_mm.layers import ops as mm_ops

DISPATCHES = ("auto", "exact", "capacity")
DEFAULT_CAPACITY_FACTOR = 2.0  # Of the capacity dispatch where capacity_factor is 0.


def in_xla_context() -> bool:
  """True while tracing a function XLA compiles (tf.function(jit_compile=True))."""
  return bool(control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph()))


def _cv_squared(x):
  """Squared coefficient of variation var/mean^2 of a vector (0 for a single element)."""
  x = ops.cast(x, "float32")
  mean = ops.mean(x)
  return ops.var(x) / (mean * mean + 1e-10)


@keras.saving.register_keras_serializable(package="t2t_mm")
class MixtureOfExperts(keras.layers.Layer):
  """y_t = sum_i G(x_t)_i E_i(x_t) over the k experts with the largest noisy gate logits.

    H(x)_i = (x W_g)_i + N(0, 1) * softplus((x W_noise)_i)     (noise in training only)
    G(x) = softmax(KeepTopK(H(x), k))                           [tokens, E], k non-zeros
    E_i(x) = relu(x W1_i + b1_i) W2_i + b2_i                    experts as [E, d, h] tensors
    loss = coef * (CV(importance)^2 + CV(load)^2)               added with add_loss

  W_g and W_noise start at zero (uniform routing at first, with noise in training). Load is
  the smooth estimate of Shazeer et al. (normal CDF of the margin to the k-th largest noisy
  logit) in training, the count of assignments otherwise. Both sums run over real tokens only.
  `last_gates` keeps the dense gates [tokens, E] of the last call (for tests and analysis),
  `last_drop_counts` a float32 [2]: (assignments dropped for capacity, real assignments).

  Args:
    hidden_size: d (in = out).
    filter_size: hidden width h of each expert.
    num_experts: E.
    k: experts per token (k < E).
    loss_coef: coefficient w of the balancing loss.
    noise_epsilon: added to the noise standard deviation.
    noisy_gating: noise in training (paper); False routes by the clean logits, so a training
      step is deterministic (load then counts assignments, as in inference).
    capacity_factor: exact dispatch: 0 (default) = no cap; c > 0 caps each expert at
      ceil(c * real tokens * k / E) assignments and drops the rest (in token order).
      Capacity dispatch: c of its buffers, ceil(c * positions * k / E) rows per expert
      (2.0 where 0).
    dispatch: "auto" (default), "exact" or "capacity"; see the module docstring.

  Example:
    >>> moe = MixtureOfExperts(8, 16, num_experts=4, k=2)
    >>> y = moe(keras.ops.ones((2, 3, 8)), training=True)  # [2, 3, 8]; moe.losses has 1 loss
  """

  def __init__(self, hidden_size, filter_size, num_experts, k=2, loss_coef=0.01,
               noise_epsilon=1e-2, capacity_factor=0.0, noisy_gating=True, dispatch="auto",
               **kwargs):
    super().__init__(**kwargs)
    if not 0 < k < num_experts:
      raise ValueError(f"MixtureOfExperts: need 0 < k < num_experts, got k={k}, "
                       f"num_experts={num_experts}.")
    self.hidden_size, self.filter_size = hidden_size, filter_size
    self.num_experts, self.k = num_experts, k
    if capacity_factor < 0:
      raise ValueError(f"MixtureOfExperts: capacity_factor must be >= 0 (0 = no cap), got "
                       f"{capacity_factor}.")
    self.loss_coef, self.noise_epsilon = loss_coef, noise_epsilon
    self.capacity_factor = float(capacity_factor)
    self.noisy_gating = bool(noisy_gating)
    if dispatch not in DISPATCHES:
      raise ValueError(f"MixtureOfExperts: dispatch must be one of {DISPATCHES}, got "
                       f"'{dispatch}'.")
    self.dispatch_mode = dispatch
    self.seed_generator = keras.random.SeedGenerator(0)
    self.last_gates = self.last_drop_counts = None

  def build(self, input_shape):
    d, h, e = self.hidden_size, self.filter_size, self.num_experts
    self.w_gate = self.add_weight(name="w_gate", shape=(d, e), initializer="zeros",
                                  dtype="float32")
    self.w_noise = self.add_weight(name="w_noise", shape=(d, e), initializer="zeros",
                                   dtype="float32")
    init = keras.initializers.VarianceScaling(1.0, "fan_avg", "uniform")
    self.w1 = self.add_weight(name="w1", shape=(e, d, h), initializer=init)
    self.b1 = self.add_weight(name="b1", shape=(e, h), initializer="zeros")
    self.w2 = self.add_weight(name="w2", shape=(e, h, d), initializer=init)
    self.b2 = self.add_weight(name="b2", shape=(e, d), initializer="zeros")

  def gating(self, x, mask, training):
    """x [N, d], mask [N] -> (top_idx [N, k], top gates [N, k], dense gates [N, E], loss).

    The dense gates only feed `last_gates`; importance and load are segment sums over the
    N*k assignments, so inside a tf.function the [N, k, E] one-hot is pruned away.
    """
    x32 = ops.cast(x, "float32")
    clean = ops.matmul(x32, ops.cast(self.w_gate, "float32"))
    e, k = self.num_experts, self.k
    noisy = training and self.noisy_gating
    if noisy:
      noise_std = ops.softplus(ops.matmul(x32, ops.cast(self.w_noise, "float32")))
      noise_std = noise_std + self.noise_epsilon
      noise = keras.random.normal(ops.shape(clean), seed=self.seed_generator)
      logits = clean + noise * noise_std
    else:
      logits = clean
    top_vals, top_idx = ops.top_k(logits, k=k + 1)
    top_gates = ops.softmax(top_vals[:, :k], axis=-1)
    top_idx = top_idx[:, :k]
    gates = ops.sum(ops.one_hot(top_idx, e) * top_gates[:, :, None], axis=1)  # [N, E]
    m = ops.cast(mask, "float32")
    flat_idx = ops.reshape(top_idx, (-1,))
    importance = ops.segment_sum(ops.reshape(top_gates * m[:, None], (-1,)), flat_idx, e)
    if noisy:
      # P(token would still be in the top k with fresh noise on this expert only): the
      # margin to the k+1-th logit for a selected expert, to the k-th for the others.
      thr = ops.where(ops.greater(logits, top_vals[:, k:k + 1]), top_vals[:, k:k + 1],
                      top_vals[:, k - 1:k])
      prob = 0.5 * (1.0 + ops.erf((clean - thr) / (noise_std * 1.4142135623730951)))
      load = ops.sum(prob * m[:, None], axis=0)
    else:
      load = ops.segment_sum(ops.repeat(m, k), flat_idx, e)
    loss = self.loss_coef * (_cv_squared(importance) + _cv_squared(load))
    return top_idx, top_gates, gates, loss

  def call(self, x, padding_mask=None, training=None):
    shape = ops.shape(x)
    flat = ops.reshape(x, (-1, self.hidden_size))
    n = ops.shape(flat)[0]
    mask_flat = (ops.ones((n,), "float32") if padding_mask is None
                 else ops.reshape(ops.cast(padding_mask, "float32"), (-1,)))
    top_idx, top_gates, gates, loss = self.gating(flat, mask_flat, bool(training))
    self.last_gates = gates
    self.add_loss(loss)
    if self.uses_capacity_dispatch():
      y, dropped = self.capacity_dispatch(flat, mask_flat, top_idx, top_gates)
    else:
      y, dropped = self.dispatch(flat, mask_flat, top_idx, top_gates)
    self.last_drop_counts = ops.stack([ops.cast(dropped, "float32"),
                                       ops.sum(mask_flat) * self.k])
    return mm_ops.apply_mask(ops.reshape(y, shape), padding_mask)

  def uses_capacity_dispatch(self) -> bool:
    """Whether a call now runs the capacity dispatch ("auto": while XLA compiles it)."""
    return self.dispatch_mode == "capacity" or (self.dispatch_mode == "auto"
                                                and in_xla_context())

  def capacity(self, num_positions):
    """Rows per expert of the capacity dispatch: ceil(c * positions * k / E) (>= 1)."""
    c = self.capacity_factor or DEFAULT_CAPACITY_FACTOR
    if isinstance(num_positions, int):
      return max(1, math.ceil(c * num_positions * self.k / self.num_experts))
    # A traced count (shape unknown when traced): XLA still sees a constant per shape.
    cap = ops.ceil(ops.cast(num_positions, "float32") * (c * self.k / self.num_experts))
    return ops.maximum(ops.cast(cap, "int32"), 1)

  def capacity_dispatch(self, flat, mask_flat, top_idx, top_gates):
    """Static-shape dispatch: flat [N, d], top_idx/top_gates [N, k] -> ([N, d], dropped).

      slot of assignment (t, j) = expert * C + its position among that expert's assignments
        (token order), or the trash slot E*C if padded or position >= C
      buffer [E, C, d] = flat[token of each slot's assignment] (zeros where none)
      out [E, C, d] = relu(buffer W1 + b1) W2 + b2      (one batched matmul pair)
      y_t = sum_j gate_tj * out[slot of (t, j)]         (0 for a dropped or padded one)
    """
    e, k, d = self.num_experts, self.k, self.hidden_size
    n = ops.shape(flat)[0]
    a = n * k
    cap = self.capacity(n)
    expert = ops.reshape(ops.cast(top_idx, "int32"), (-1,))
    bucket = ops.where(ops.greater(ops.repeat(mask_flat, k), 0.0), expert, e)
    pos = self._position_in_bucket(bucket)
    keep = ops.logical_and(ops.less(bucket, e), ops.less(pos, cap))
    trash = e * cap
    slot = ops.where(keep, bucket * cap + pos, trash)  # [A], unique where kept.
    dropped = ops.sum(ops.cast(ops.logical_and(ops.less(bucket, e), ops.greater_equal(pos, cap)),
                               "int32"))
    # Which assignment fills each slot (1-based; 0 = empty; the trash slot's sum is unused).
    filler = ops.scatter(slot[:, None], ops.arange(1, a + 1, dtype="int32"), (trash + 1,))
    # Gathers with clipped indices and a mask, not from a concatenated zero row: the gradient
    # of a concat fed by a gather splits its IndexedSlices with tf.where, whose size depends
    # on data (a dynamic shape in the compiled step, and a minute of XLA's value inference).
    filled = ops.greater(filler[:trash], 0)
    token = ops.where(filled, ops.floor_divide(filler[:trash] - 1, k), 0)
    rows = ops.where(filled[:, None], ops.take(flat, token, axis=0), 0.0)  # [E*C, d]
    w1, b1, w2, b2 = (ops.cast(w, rows.dtype) for w in (self.w1, self.b1, self.w2, self.b2))
    hidden = ops.relu(ops.matmul(ops.reshape(rows, (e, cap, d)), w1) + b1[:, None, :])
    out = ops.reshape(ops.matmul(hidden, w2) + b2[:, None, :], (trash, d))
    # [A, d]; a dropped or padded assignment reads row 0 and takes zeros (as in `rows`).
    picked = ops.where(keep[:, None], ops.take(out, ops.where(keep, slot, 0), axis=0), 0.0)
    weight = ops.cast(ops.where(keep, ops.reshape(top_gates, (-1,)), 0.0), picked.dtype)
    return ops.sum(ops.reshape(picked * weight[:, None], (n, k, d)), axis=1), dropped

  def dispatch(self, flat, mask_flat, top_idx, top_gates):
    """Exact dispatch: flat [N, d], top_idx/top_gates [N, k] -> ([N, d], dropped).

      assignments (token, expert), A = N*k of them -> stable sort by expert
      rows [A, d] = flat[token of each sorted assignment]
      split by expert load -> E blocks [load_i, d]   (no padding, no capacity buffer)
      block i -> relu(block W1_i + b1_i) W2_i + b2_i  (one 2-D matmul pair per expert)
      y_t = sum_j gate_tj * output row of (t, j)       (scattered back to (t, j) order)
    Padded tokens (and, with capacity_factor > 0, the assignments past an expert's capacity
    in token order) go to an extra block E that no expert reads; their weight is 0.
    """
    e, k, d = self.num_experts, self.k, self.hidden_size
    n = ops.shape(flat)[0]
    a = n * k
    expert = ops.reshape(ops.cast(top_idx, "int32"), (-1,))
    bucket = ops.where(ops.greater(ops.repeat(mask_flat, k), 0.0), expert, e)
    dropped = ops.zeros((), "int32")
    if self.capacity_factor > 0:
      limit = ops.cast(ops.ceil(self.capacity_factor * ops.sum(mask_flat) * k / e), "int32")
      over = ops.logical_and(ops.less(bucket, e),
                             ops.greater_equal(self._position_in_bucket(bucket), limit))
      dropped = ops.sum(ops.cast(over, "int32"))
      bucket = ops.where(over, e, bucket)
    order = ops.cast(tf.argsort(bucket, stable=True), "int32")  # [A], grouped by expert.
    loads = ops.bincount(bucket, minlength=e + 1)
    rows = ops.take(flat, ops.floor_divide(order, k), axis=0)  # [A, d]
    # tf.split with per-expert sizes: keras.ops.split takes static sections only.
    blocks = tf.split(rows, ops.cast(loads, "int32"), num=e + 1)
    # One unstack per weight (its gradient is one stack), not a slice per expert.
    w1, b1, w2, b2 = (ops.unstack(ops.cast(w, rows.dtype), axis=0)
                      for w in (self.w1, self.b1, self.w2, self.b2))
    outs = [mm_ops.dense(ops.relu(mm_ops.dense(blocks[i], w1[i], b1[i])), w2[i], b2[i])
            for i in range(e)]
    out = ops.concatenate(outs + [ops.zeros_like(blocks[e])], axis=0)  # [A, d], sorted.
    # Unsort by scattering (a permutation): its gradient is a dense gather, where a gather's
    # sparse gradient would make the concat's gradient slice it once per expert (O(E * A)).
    picked = ops.scatter(order[:, None], out, (a, d))  # [A, d] in (token, j) order.
    weight = ops.where(ops.less(bucket, e), ops.reshape(top_gates, (-1,)), 0.0)
    return ops.sum(ops.reshape(picked * ops.cast(weight, picked.dtype)[:, None], (n, k, d)),
                   axis=1), dropped

  def _position_in_bucket(self, bucket):
    """[A] bucket ids -> each assignment's position among its bucket's, in token order.

    A sort, not a cumsum over an [A, E] one-hot, so the cost does not grow with E; the loads
    are a segment sum with a fixed segment count (bincount's size is data-dependent, which
    XLA refuses).
    """
    a = ops.shape(bucket)[0]
    order = ops.cast(tf.argsort(bucket, stable=True), "int32")
    loads = ops.segment_sum(ops.ones_like(bucket), bucket, self.num_experts + 1)
    starts = ops.cast(ops.cumsum(loads) - loads, "int32")
    pos_sorted = ops.arange(a, dtype="int32") - ops.take(starts, ops.take(bucket, order))
    return ops.scatter(order[:, None], pos_sorted, (a,))

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "filter_size": self.filter_size, "num_experts": self.num_experts, "k": self.k,
            "loss_coef": self.loss_coef, "noise_epsilon": self.noise_epsilon,
            "capacity_factor": self.capacity_factor, "noisy_gating": self.noisy_gating,
            "dispatch": self.dispatch_mode}
