"""Sparsely-gated mixture of experts (Shazeer et al. 2017) with noisy top-k gating.

Dispatch: each (token, expert) assignment is partitioned by expert (tf.dynamic_partition), each
expert runs one dense FFN on its own rows, and the gated outputs are summed back per token
(tf.math.unsorted_segment_sum). FLOPs grow with tokens x k, not with the number of experts;
padded tokens go to no expert. Why this dispatch (docs/STACK.md, bench/model.py):
  * on CPU without XLA it is the fastest we measured: a fixed-capacity one-hot dispatch
    (einsum with [tokens, experts, capacity] tensors) costs tokens x experts and was 4x slower;
  * it drops no token (no capacity), so each token's output depends on that token alone,
    which keeps the MultiModel's padding invariance exact;
  * its gradient does not compile under XLA ("Reading input as constant from a dynamic
    tensor"), so models holding it must run with jit_compile=False, which is what STACK.md
    measured to be faster on this CPU anyway.
keras.ops has no dynamic_partition/dynamic_stitch, hence the tf ops here (TensorFlow backend).
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

  Example:
    >>> moe = MixtureOfExperts(8, 16, num_experts=4, k=2)
    >>> y = moe(keras.ops.ones((2, 3, 8)), training=True)  # [2, 3, 8]; moe.losses has 1 loss
  """

  def __init__(self, hidden_size, filter_size, num_experts, k=2, loss_coef=0.01,
               noise_epsilon=1e-2, **kwargs):
    super().__init__(**kwargs)
    if not 0 < k < num_experts:
      raise ValueError(f"MixtureOfExperts: need 0 < k < num_experts, got k={k}, "
                       f"num_experts={num_experts}.")
    self.hidden_size, self.filter_size = hidden_size, filter_size
    self.num_experts, self.k = num_experts, k
    self.loss_coef, self.noise_epsilon = loss_coef, noise_epsilon
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
    """x [N, d], mask [N] -> (top_idx [N, k], top gates [N, k], dense gates [N, E], loss)."""
    x32 = ops.cast(x, "float32")
    clean = ops.matmul(x32, self.w_gate)
    e, k = self.num_experts, self.k
    if training:
      noise_std = ops.softplus(ops.matmul(x32, self.w_noise)) + self.noise_epsilon
      noise = keras.random.normal(ops.shape(clean), seed=self.seed_generator)
      logits = clean + noise * noise_std
    else:
      logits = clean
    top_vals, top_idx = ops.top_k(logits, k=k + 1)
    top_gates = ops.softmax(top_vals[:, :k], axis=-1)
    top_idx = top_idx[:, :k]
    gates = ops.sum(ops.one_hot(top_idx, e) * top_gates[:, :, None], axis=1)  # [N, E]
    m = ops.cast(mask, "float32")[:, None]
    importance = ops.sum(gates * m, axis=0)
    if training:
      # P(token would still be in the top k with fresh noise on this expert only).
      thr_in = top_vals[:, k:k + 1]
      thr_out = top_vals[:, k - 1:k]
      is_in = ops.greater(logits, thr_in)
      normal_cdf = lambda z: 0.5 * (1.0 + ops.erf(z / 1.4142135623730951))
      prob = ops.where(is_in, normal_cdf((clean - thr_in) / noise_std),
                       normal_cdf((clean - thr_out) / noise_std))
      load = ops.sum(prob * m, axis=0)
    else:
      load = ops.sum(ops.cast(ops.greater(gates, 0.0), "float32") * m, axis=0)
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
    e, k = self.num_experts, self.k
    token = ops.reshape(ops.repeat(ops.arange(n)[:, None], k, axis=1), (-1,))
    expert = ops.reshape(top_idx, (-1,))
    # Padded tokens go to partition E, which no expert reads.
    expert = ops.where(ops.greater(ops.take(mask_flat, token), 0.0), expert, e)
    expert = ops.cast(expert, "int32")
    rows = tf.dynamic_partition(ops.take(flat, token, axis=0), expert, e + 1)
    slots = tf.dynamic_partition(ops.arange(n * k), expert, e + 1)
    outs = []
    for i in range(e):
      hidden = ops.relu(ops.matmul(rows[i], ops.take(self.w1, i, axis=0)) + self.b1[i])
      outs.append(ops.matmul(hidden, ops.take(self.w2, i, axis=0)) + self.b2[i])
    outs.append(ops.zeros_like(rows[e]))
    assigned = tf.dynamic_stitch(slots, outs)  # [N*k, d], in assignment order.
    weight = ops.cast(ops.reshape(top_gates, (-1, 1)), assigned.dtype)
    y = tf.math.unsorted_segment_sum(assigned * weight, token, n)
    return mm_ops.apply_mask(ops.reshape(y, shape), padding_mask)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "hidden_size": self.hidden_size,
            "filter_size": self.filter_size, "num_experts": self.num_experts, "k": self.k,
            "loss_coef": self.loss_coef, "noise_epsilon": self.noise_epsilon}
