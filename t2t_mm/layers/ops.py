"""Weightless helpers shared by the layers: masking, explicit padding, timing signal.

Every sequence in the body is `x: [B, L, C]` with a boolean-like `mask: [B, L]` (1 = real,
0 = padding). Layers zero padded positions before any op that mixes positions, so whatever
sits at a padded position never reaches a real one.
"""

import math

import tensorflow as tf
from keras import ops


def apply_mask(x, mask):
  """x * mask, broadcasting mask [B, L] (or [B, L, W]) over the trailing channel axis.

  The mask is data, never trained, so the gradient is one multiply; autodiff of the
  broadcasting product would also reduce over the broadcast axes, at dynamic shapes.
  """
  if mask is None:
    return x
  return times_data(x, ops.expand_dims(ops.cast(mask, x.dtype), -1))


@ops.custom_gradient
def times_data(x, m):
  """x * m where m is data (a mask, a dropout mask's scale), never trained: the gradient is
  one multiply, dy * m, and m gets none."""
  def grad(dy, upstream=None):
    del upstream  # TensorFlow passes captured variables; there are none.
    return dy * m, None
  return x * m, grad


def dense(x, kernel, bias=None):
  """x [..., C] @ kernel [C, D] (+ bias [D]) -> [..., D], as one 2-D matmul.

    x [B, L, C] -> [B*L, C] -> matmul (+ bias) -> [B*L, D] -> [B, L, D]

  keras.ops.matmul of a rank-3 by a rank-2 tensor runs tf.tensordot, a dozen shape ops each
  way; flattening first, with the bias gradient in closed form (a column sum), runs about
  half the ops in a training step's projections (docs/STACK.md).
  """
  if len(x.shape) == 2:
    return ops.matmul(x, kernel) if bias is None else _affine(x, kernel, bias)
  channels, units = kernel.shape
  lead = ops.shape(x)[:-1]
  return ops.reshape(dense(ops.reshape(x, (-1, channels)), kernel, bias), (*lead, units))


@ops.custom_gradient
def _affine(x, w, b):
  """x [N, C] @ w [C, D] + b [D]."""
  def grad(dy, upstream=None):
    del upstream
    # The transposes ride on the matmuls (one op each, not two).
    return (tf.linalg.matmul(dy, w, transpose_b=True), tf.linalg.matmul(x, dy, transpose_a=True),
            ops.sum(dy, axis=0))
  return ops.matmul(x, w) + b, grad


def layer_norm(x, gamma, beta, epsilon):
  """(x - mean) / sqrt(var + epsilon) * gamma + beta over the last axis, in float32.

    x [..., C], gamma [C], beta [C] -> [..., C] in x's dtype

  Same values as keras.ops.layer_normalization; the gradient is written out (about ten ops
  instead of the fifty autodiff makes of the moments at dynamic shapes).
  """
  y = _layer_norm(ops.cast(x, "float32"), ops.cast(gamma, "float32"),
                  ops.cast(beta, "float32"), float(epsilon))
  return ops.cast(y, x.dtype)


@ops.custom_gradient
def _layer_norm(x, gamma, beta, epsilon):
  mean = ops.mean(x, axis=-1, keepdims=True)
  centred = x - mean
  rstd = ops.rsqrt(ops.mean(ops.square(centred), axis=-1, keepdims=True) + epsilon)
  xhat = centred * rstd

  def grad(dy, upstream=None):
    del upstream
    axes = tuple(range(len(dy.shape) - 1))
    dxhat = dy * gamma
    dx = rstd * (dxhat - ops.mean(dxhat, axis=-1, keepdims=True)
                 - xhat * ops.mean(dxhat * xhat, axis=-1, keepdims=True))
    return dx, ops.sum(dy * xhat, axis=axes), ops.sum(dy, axis=axes), None

  return xhat * gamma + beta, grad


def depthwise_conv1d(x, kernel, dilation: int = 1):
  """A "valid" stride-1 depthwise conv: y[:, t] = sum_k x[:, t + k*d] w[k].

    x [B, L, C], kernel [K, C] -> [B, L - (K-1)*dilation, C]

  Equal to keras.ops.depthwise_conv with depth multiplier 1, run as the undilated conv op on
  x folded by the dilation d (no space-to-batch reshuffles), with the gradient written out:

    x [B, L, C] -> pad to M*d rows -> [B, M, d*C]     row m holds x[m*d : m*d + d]
    w [K, C]    -> tiled [K, d*C]                     so tap k steps over whole rows
    undilated depthwise conv -> [B, M-K+1, d*C] -> [B, (M-K+1)*d, C] -> first L - (K-1)*d

  dx is the conv op's input gradient on the folded dy; dw[k] is sum(window_k(x) * dy), K
  multiplies and sums, where the conv op's own kernel gradient is several times slower on
  this CPU (docs/STACK.md).
  """
  return _depthwise_fn(int(kernel.shape[0]), int(dilation))(x, kernel)


_DEPTHWISE_FNS = {}


def _depthwise_fn(taps: int, dilation: int):
  """The custom-gradient depthwise conv for one (kernel size, dilation), built once."""
  if (taps, dilation) in _DEPTHWISE_FNS:
    return _DEPTHWISE_FNS[(taps, dilation)]
  span = (taps - 1) * dilation

  def fold(t, rows):
    """[B, N, C] -> [B, 1, rows, d*C]: zero-padded to rows*d positions, d positions a row."""
    if dilation > 1:
      t = tf.pad(t, [[0, 0], [0, rows * dilation - tf.shape(t)[1]], [0, 0]])
    return tf.reshape(t, [tf.shape(t)[0], 1, rows, dilation * t.shape[-1]])

  def unfold(t, rows, length):
    """[B, 1, rows, d*C] -> [B, length, C] (the first `length` positions)."""
    t = tf.reshape(t, [tf.shape(t)[0], rows * dilation, t.shape[-1] // dilation])
    return t[:, :length] if dilation > 1 else t

  def window(x, k, length):
    """x[:, k*d : k*d + length], the inputs tap k multiplies."""
    return x[:, k * dilation:k * dilation + length]

  @ops.custom_gradient
  def depthwise(x, w):
    # A static length stays static (a decoding cache's window must keep its shape).
    length = x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]
    out_length = length - span
    rows = (length + dilation - 1) // dilation
    w_folded = tf.tile(w, [1, dilation])[None, :, :, None]  # [1, K, d*C, 1]
    y = unfold(tf.nn.depthwise_conv2d(fold(x, rows), w_folded, [1, 1, 1, 1], "VALID"),
               rows - taps + 1, out_length)

    def grad(dy, upstream=None):
      del upstream
      folded_shape = tf.stack([tf.shape(x)[0], 1, rows, dilation * w.shape[-1]])
      dx_folded = tf.nn.depthwise_conv2d_backprop_input(
          folded_shape, w_folded, fold(dy, rows - taps + 1), [1, 1, 1, 1], "VALID")
      dx = unfold(dx_folded, rows, length)
      # dw sums over batch and time, which in float16 must accumulate in float32 (as the conv
      # op's gradient does); the windows are sliced here, not kept from the forward pass.
      acc = "float32" if ops.dtype(dy) in ("float16", "bfloat16") else ops.dtype(dy)
      dy_acc = ops.cast(dy, acc)
      dw = ops.stack([ops.sum(dy_acc * ops.cast(window(x, k, out_length), acc), axis=(0, 1))
                      for k in range(taps)])
      return dx, ops.cast(dw, w.dtype)

    return y, grad

  _DEPTHWISE_FNS[(taps, dilation)] = depthwise
  return depthwise


def pad_axis(x, axis: int, left: int, right: int):
  """Zero-pads `x` along `axis` by `left` and `right` positions."""
  if left == 0 and right == 0:
    return x
  widths = [[0, 0] for _ in range(len(x.shape))]
  widths[axis] = [left, right]
  return ops.pad(x, widths)


def same_padding(kernel: int, dilation: int = 1):
  """(left, right) zero padding so that a stride-s conv puts output i at input i*s.

  Unlike Keras' "same" padding, the left amount does not depend on the input length, so a
  sequence padded at the end gives the same values at its real positions (padding invariance).
  """
  total = (kernel - 1) * dilation
  return total // 2, total - total // 2


def downsample_mask(mask, stride: int):
  """The mask after a stride-s layer whose output i sits at input i*s: mask[:, ::s]."""
  if mask is None or stride == 1:
    return mask
  return mask[:, ::stride]


def timing_signal(length, channels: int, dtype="float32", min_timescale=1.0,
                  max_timescale=1.0e4):
  """Sinusoids [1, length, channels] (Vaswani et al. 2017), `length` may be a tensor."""
  num_timescales = channels // 2
  log_inc = math.log(max_timescale / min_timescale) / max(num_timescales - 1, 1)
  inv = min_timescale * ops.exp(
      ops.arange(num_timescales, dtype="float32") * -log_inc)
  position = ops.cast(ops.arange(length), "float32")
  scaled = ops.expand_dims(position, 1) * ops.expand_dims(inv, 0)
  signal = ops.concatenate([ops.sin(scaled), ops.cos(scaled)], axis=1)
  if channels % 2:
    signal = ops.pad(signal, [[0, 0], [0, 1]])
  return ops.cast(ops.expand_dims(signal, 0), dtype)


def timing_signal_at(position, channels: int, dtype="float32", min_timescale=1.0,
                     max_timescale=1.0e4):
  """timing_signal(...)[:, position:position + 1] [1, 1, channels] for a scalar tensor position.

  Same ops on the same numbers as timing_signal, so incremental decoding adds bit-identical
  values.
  """
  num_timescales = channels // 2
  log_inc = math.log(max_timescale / min_timescale) / max(num_timescales - 1, 1)
  inv = min_timescale * ops.exp(
      ops.arange(num_timescales, dtype="float32") * -log_inc)
  scaled = ops.reshape(ops.cast(position, "float32"), (1, 1)) * ops.expand_dims(inv, 0)
  signal = ops.concatenate([ops.sin(scaled), ops.cos(scaled)], axis=1)
  if channels % 2:
    signal = ops.pad(signal, [[0, 0], [0, 1]])
  return ops.cast(ops.expand_dims(signal, 0), dtype)


def sequence_mask_from_ids(ids):
  """1.0 where ids != PAD (0), as float32 [B, L]."""
  return ops.cast(ops.not_equal(ids, 0), "float32")


def masked_mean(x, mask):
  """Mean of x [B, L, C] over real positions -> [B, 1, C]; 0 where none is real."""
  if mask is None:
    return ops.mean(x, axis=1, keepdims=True)
  m = ops.expand_dims(ops.cast(mask, x.dtype), -1)
  total = ops.sum(x * m, axis=1, keepdims=True)
  count = ops.maximum(ops.sum(m, axis=1, keepdims=True), ops.cast(1.0, x.dtype))
  return total / count

