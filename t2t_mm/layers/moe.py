"""Sparsely-gated mixture of experts (Shazeer et al. 2017) with noisy top-k gating.

Dispatch (constant op count in E; FLOPs ~ tokens x k): the N*k (token, expert) assignments
are sorted by expert (argsort), experts are ranked by load and cut into G = dispatch_groups
groups of ranks; group g gathers its rows into a [E_g, C_g, d] buffer (C_g = the largest load
in the group: exact, no token dropped) and runs its experts as one batched matmul pair
[E_g, C_g, d] x [E_g, d, h] -> [E_g, C_g, h] -> [E_g, C_g, d]; outputs are gathered back per
assignment, weighted by the gates and summed per token. Padded tokens go to no expert.
Why (bench/model.py, 8192 tokens, d=256, h=512, k=4, fwd+bwd, 2 busy cores):
  * the previous per-expert loop (dynamic_partition, E matmul pairs) cost 2.7x more at 240
    experts than at 16: thousands of small ops. One batched matmul is E-independent.
  * with one buffer (G=1) C is the busiest expert's load: a random router's max load is
    1.64x the mean at 240 experts (1.06x at 16), and 240/16 stayed at ~2.0-2.3. Ranking
    experts by load into G=4 groups cuts the padding to 1.15x (1.01x at 16), and
    multimodel_tiny's translate step fell from 779 to 250 ms. On a quiet machine 240/16 is
    1.9 (903 vs 473 ms): the router costs 83 vs 16 ms, and the rest is the batched matmuls
    themselves, which run at about half speed with ~140 rows per expert (240 experts) instead
    of ~2,070 (16), at equal FLOPs (docs/STACK.md). One run at 240 gave G=4/8/16: 1097 /
    960 / 1045 ms, within this machine's run-to-run spread (the bench read 903 at G=4).
  * the weights are gathered per group (gradient: IndexedSlices); slicing them in place was
    slower, as a strided slice's gradient is a dense copy of the whole [E, d, h] weight.
  * exact dispatch keeps each token's output a function of that token alone, so the
    MultiModel's padding invariance holds. `capacity_factor` > 0 caps each expert's rows
    (bounded memory under a collapsed router) at the price of dropping overflow assignments.
  * dynamic shapes: the gradient does not compile under XLA (docs/STACK.md); keep XLA off.
tf.argsort(stable=True) is used because keras.ops.argsort is not stable on TensorFlow.
"""

import keras
from keras import ops
import tensorflow as tf

from t2t_mm.layers import ops as mm_ops


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
  `last_gates` keeps the dense gates [tokens, E] of the last call (for tests and analysis).

  Args:
    hidden_size: d (in = out).
    filter_size: hidden width h of each expert.
    num_experts: E.
    k: experts per token (k < E).
    loss_coef: coefficient w of the balancing loss.
    noise_epsilon: added to the noise standard deviation.
    capacity_factor: 0 (default) = exact dispatch; c > 0 caps each expert at
      ceil(c * real tokens * k / E) assignments and drops the rest (in token order).
    dispatch_groups: G, groups of experts (ranked by load) that each get their own buffer
      capacity; more groups pad less but add G small ops and a gather of the weights.

  Example:
    >>> moe = MixtureOfExperts(8, 16, num_experts=4, k=2)
    >>> y = moe(keras.ops.ones((2, 3, 8)), training=True)  # [2, 3, 8]; moe.losses has 1 loss
  """

  def __init__(self, hidden_size, filter_size, num_experts, k=2, loss_coef=0.01,
               noise_epsilon=1e-2, capacity_factor=0.0, dispatch_groups=4,
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
    if dispatch_groups < 1:
      raise ValueError(f"MixtureOfExperts: dispatch_groups must be >= 1, got {dispatch_groups}.")
    self.dispatch_groups = min(dispatch_groups, num_experts)
    self.seed_generator = keras.random.SeedGenerator(0)
    self.last_gates = None

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
    if training:
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
    if training:
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
    y = self.dispatch(flat, mask_flat, top_idx, top_gates)
    return mm_ops.apply_mask(ops.reshape(y, shape), padding_mask)

  def dispatch(self, flat, mask_flat, top_idx, top_gates):
    """Run each token's k experts: flat [N, d], top_idx/top_gates [N, k] -> [N, d].

      assignments (token, expert), N*k of them, sorted by expert; experts ranked by load
      experts in G groups of ranks; group g: buffer [E_g, C_g, d], C_g = its largest load
        -> one batched matmul pair [E_g, C_g, d] x [E_g, d, h] -> [E_g, C_g, h] -> [E_g, C_g, d]
      y_t = sum_j gate_tj * output[slot of (t, j)]
    Slots past an expert's load hold any row and are never read back (no gradient). With
    capacity_factor > 0, C_g <= ceil(cf * real tokens * k / E) and the assignments past it
    (in token order) are dropped. Padded tokens go to no expert.
    """
    e, k, d = self.num_experts, self.k, self.hidden_size
    n = ops.shape(flat)[0]
    a = n * k
    expert = ops.reshape(ops.cast(top_idx, "int32"), (-1,))
    real = ops.greater(ops.repeat(mask_flat, k), 0.0)
    counts = ops.bincount(ops.where(real, expert, e), minlength=e + 1)[:e]
    by_load = ops.cast(ops.argsort(-counts), "int32")  # Rank r -> expert, busiest first.
    rank_of = ops.scatter(by_load[:, None], ops.arange(e, dtype="int32"), (e,))
    rank = ops.where(real, ops.take(rank_of, expert), e)  # Padded tokens: bin E, never read.
    order = ops.cast(tf.argsort(rank, stable=True), "int32")  # [A], grouped by rank.
    ranked_counts = ops.take(counts, by_load)
    starts = ops.cumsum(ranked_counts) - ranked_counts
    limit = None
    if self.capacity_factor > 0:
      real_tokens = ops.sum(mask_flat)
      limit = ops.cast(ops.ceil(self.capacity_factor * real_tokens * k / e), "int32")
    outs, slot_base, caps, offset = [], [], [], ops.convert_to_tensor(0, "int32")
    bounds = [round(g * e / self.dispatch_groups) for g in range(self.dispatch_groups + 1)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
      if hi == lo:
        continue
      cap = ranked_counts[lo]
      if limit is not None:
        cap = ops.minimum(cap, limit)
      cap = ops.maximum(cap, 1)  # Keeps every gather index valid when no token is real.
      # Slot (i, c) <- assignment order[starts[lo + i] + c] (clamped when c >= load).
      src = ops.minimum(starts[lo:hi, None] + ops.arange(cap, dtype="int32")[None, :], a - 1)
      token = ops.floor_divide(ops.take(order, ops.reshape(src, (-1,))), k)
      xs = ops.reshape(ops.take(flat, token, axis=0), (hi - lo, cap, d))
      ids = by_load[lo:hi]
      w1, b1 = ops.take(self.w1, ids, axis=0), ops.take(self.b1, ids, axis=0)
      w2, b2 = ops.take(self.w2, ids, axis=0), ops.take(self.b2, ids, axis=0)
      hidden = ops.relu(ops.matmul(xs, ops.cast(w1, xs.dtype))
                        + ops.cast(b1, xs.dtype)[:, None, :])
      out = ops.matmul(hidden, ops.cast(w2, xs.dtype)) + ops.cast(b2, xs.dtype)[:, None, :]
      outs.append(ops.reshape(out, (-1, d)))
      slot_base.append(offset + ops.arange(hi - lo, dtype="int32") * cap)
      caps.append(ops.zeros((hi - lo,), "int32") + cap)
      offset = offset + (hi - lo) * cap
    out = ops.concatenate(outs, axis=0)
    slot_base = ops.concatenate(slot_base, axis=0)  # [E]: first slot of each rank.
    # Assignment i sits at slot_base[rank] + (its position within its expert).
    safe_rank = ops.minimum(rank, e - 1)
    pos_sorted = ops.arange(a, dtype="int32") - ops.take(starts, ops.take(safe_rank, order))
    pos = ops.scatter(order[:, None], pos_sorted, (a,))  # Inverse permutation.
    kept = ops.logical_and(real, ops.less(pos, ops.take(ops.concatenate(caps, 0), safe_rank)))
    slot = ops.where(kept, ops.take(slot_base, safe_rank) + pos, 0)
    picked = ops.take(out, slot, axis=0)  # [A, d]
    weight = ops.where(kept, ops.reshape(top_gates, (-1,)), 0.0)
    return ops.sum(ops.reshape(picked * ops.cast(weight, picked.dtype)[:, None], (n, k, d)),
                   axis=1)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "filter_size": self.filter_size, "num_experts": self.num_experts, "k": self.k,
            "loss_coef": self.loss_coef, "noise_epsilon": self.noise_epsilon,
            "capacity_factor": self.capacity_factor, "dispatch_groups": self.dispatch_groups}
