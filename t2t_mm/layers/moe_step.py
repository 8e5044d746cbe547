"""MixtureOfExperts at inference for the few tokens of one decoding step.

    y = moe_step(moe, x)     # x [N, 1, d] -> [N, 1, d] == moe(x, training=False) up to rounding

MixtureOfExperts.call partitions tokens by expert and loops over all E experts: right for
thousands of tokens, but for the B (or B x beams) tokens of a decoding step that is ~6 ops per
expert whatever the tokens, which made the MoE 3/4 of a multimodel_tiny decoding step (bench/
decode.py). Here each token gathers the weights of its k chosen experts and runs them as one
batched matmul: a fixed handful of ops, and k x (2dh) weights read per token. Same gating as
the layer without noise: softmax over the k largest of x W_g. No balancing loss (inference).
"""

from keras import ops


def moe_step(moe, x):
  """x [N, T, d] (T small, e.g. 1) -> the MoE output at inference, [N, T, d]."""
  shape = ops.shape(x)
  flat = ops.reshape(x, (-1, moe.hidden_size))                       # [n, d]
  logits = ops.matmul(ops.cast(flat, "float32"), moe.w_gate)         # [n, E]
  top_vals, top_idx = ops.top_k(logits, k=moe.k)                     # [n, k]
  gates = ops.cast(ops.softmax(top_vals, axis=-1), flat.dtype)
  w1 = ops.take(ops.cast(moe.w1, flat.dtype), top_idx, axis=0)       # [n, k, d, h]
  w2 = ops.take(ops.cast(moe.w2, flat.dtype), top_idx, axis=0)       # [n, k, h, d]
  b1 = ops.take(ops.cast(moe.b1, flat.dtype), top_idx, axis=0)       # [n, k, h]
  b2 = ops.take(ops.cast(moe.b2, flat.dtype), top_idx, axis=0)       # [n, k, d]
  hidden = ops.relu(ops.einsum("nd,nkdh->nkh", flat, w1) + b1)
  out = ops.einsum("nkh,nkhd->nkd", hidden, w2) + b2
  y = ops.sum(out * gates[:, :, None], axis=1)
  return ops.reshape(y, shape)
