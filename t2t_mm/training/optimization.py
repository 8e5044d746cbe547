"""Learning-rate schedule and optimizer from hparams (reference: Adam 0.85/0.997/1e-6, clip 2)."""

import keras
from keras import ops
import tensorflow as tf

from t2t_mm.config.hparams import HParams


@keras.saving.register_keras_serializable(package="t2t_mm")
class WarmupRsqrtDecay(keras.optimizers.schedules.LearningRateSchedule):
  """Linear warmup to `peak` over `warmup_steps`, then decay as 1/sqrt(step).

      lr(step) = peak * min(step / warmup, 1) * sqrt(warmup / max(step, warmup))
  """

  def __init__(self, peak: float, warmup_steps: int):
    self.peak = peak
    self.warmup_steps = warmup_steps

  def __call__(self, step):
    step = ops.cast(step, "float32") + 1.0
    warmup = float(max(self.warmup_steps, 1))
    return self.peak * ops.minimum(step / warmup, 1.0) * ops.sqrt(
        warmup / ops.maximum(step, warmup))

  def get_config(self):
    return {"peak": self.peak, "warmup_steps": self.warmup_steps}


def learning_rate_schedule(hp: HParams):
  if hp.learning_rate_schedule == "constant":
    return hp.learning_rate
  return WarmupRsqrtDecay(hp.learning_rate, hp.learning_rate_warmup_steps)


@keras.saving.register_keras_serializable(package="t2t_mm")
class FusedAdam(keras.optimizers.Adam):
  """keras.optimizers.Adam whose update of each variable is one fused TensorFlow kernel.

      m <- m + (g - m)(1 - beta_1)        v <- v + (g^2 - v)(1 - beta_2)
      var <- var - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

  Keras's Adam update (same slots, checkpoints and config), written as one ResourceApplyAdam
  per variable instead of about twenty element-wise ops, with the bias-correction powers
  computed once per step. Why: Keras's version gives a training step far more graph ops, which
  cost trace time, first-run time and a little per step (figures in docs/STACK.md).
  A sparse gradient (IndexedSlices) is summed into a dense one first, so v gets the square of
  the summed gradient as in dense Adam. Keras's Adam, given an unclipped IndexedSlices, squares
  each slice before repeated rows are summed; with global clipping (the trainer's default)
  Keras densifies first too. Falls back to Keras's update for amsgrad, for variables other
  than float32/float64 (the kernel would compute 1 - beta in their precision) and on backends
  other than TensorFlow. Tested on one device and under MirroredStrategy; not on TPUs.

  Args:
    As keras.optimizers.Adam.

  Example:
    >>> opt = FusedAdam(1e-3, beta_1=0.85, beta_2=0.997, epsilon=1e-6, global_clipnorm=2.0)
  """

  def _distributed_tf_update_step(self, distribution, grads_and_vars, learning_rate):
    # The step's bias-correction powers once per apply (cross-replica), not once per variable.
    step = tf.cast(self.iterations + 1, tf.float32)
    self._powers = (tf.pow(tf.cast(self.beta_1, tf.float32), step),
                    tf.pow(tf.cast(self.beta_2, tf.float32), step))
    try:
      return super()._distributed_tf_update_step(distribution, grads_and_vars, learning_rate)
    finally:
      self._powers = None

  def update_step(self, gradient, variable, learning_rate):
    """Applies one Adam step to `variable` (inside strategy.extended.update on TF)."""
    if self.amsgrad or keras.backend.backend() != "tensorflow":
      return super().update_step(gradient, variable, learning_rate)
    # The TF backend passes the tf.Variable (or a replica's copy); other callers may not.
    if isinstance(variable, keras.Variable):
      variable = variable.value
    dtype = variable.dtype
    if dtype not in (tf.float32, tf.float64):
      return super().update_step(gradient, variable, learning_rate)
    index = self._get_variable_index(variable)
    beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
    powers = getattr(self, "_powers", None)
    if powers is None:  # Called outside apply_gradients.
      step = tf.cast(self.iterations + 1, dtype)
      powers = (tf.pow(beta_1, step), tf.pow(beta_2, step))
    # Inside strategy.extended.update, a mirrored slot's .handle is this device's copy.
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle, m=self._momentums[index].value.handle,
        v=self._velocities[index].value.handle, beta1_power=tf.cast(powers[0], dtype),
        beta2_power=tf.cast(powers[1], dtype), lr=tf.cast(learning_rate, dtype), beta1=beta_1,
        beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype),
        grad=tf.cast(tf.convert_to_tensor(gradient), dtype))
    return None


@keras.saving.register_keras_serializable(package="t2t_mm")
class FactoredAdafactor(keras.optimizers.Adafactor):
  """keras.optimizers.Adafactor that keeps only the factored second moments of a matrix.

      r <- b r + (1 - b) mean_last(g^2 + eps1)        [..., rows]     (no first moment)
      c <- b c + (1 - b) mean_rows(g^2 + eps1)        [..., cols]
      v  = (r / mean(r)) outer c                       never formed, never stored
      var <- var - max(eps2, rms(var)) min(lr, 1/sqrt(t)) * clip(g / sqrt(v))

  The same update as Keras's Adafactor (Shazeer & Stern 2018; the paper-era T2T setting), but
  Keras also stores v at the full size of every variable, which is the very slot factoring
  exists to save: its optimizer state is then as large as Adam's minus one slot. Here a
  variable of rank >= 2 keeps r and c alone (for multimodel_base's 1 B parameters: megabytes
  instead of 4 GiB); variables of rank < 2 keep their unfactored v as in Keras.

  Args:
    As keras.optimizers.Adafactor.

  Example:
    >>> opt = FactoredAdafactor(1e-2, global_clipnorm=2.0)
  """

  def build(self, var_list):
    if self.built:
      return
    keras.optimizers.Optimizer.build(self, var_list)  # Iterations, learning rate.
    self._r, self._c, self._v = [], [], []
    for var in var_list:
      if len(var.shape) < 2:
        self._r.append(None)
        self._c.append(None)
        self._v.append(self.add_variable_from_reference(var, name="velocity"))
      else:
        # Named after the variable's path, as Keras names Adam's slots: checkpoints hold
        # every variable by its path.
        stem = var.path.replace("/", "_") if hasattr(var, "path") else var.name
        self._r.append(self.add_variable(var.shape[:-1], dtype=var.dtype, name=f"{stem}_r"))
        self._c.append(self.add_variable(var.shape[:-2] + (var.shape[-1],), dtype=var.dtype,
                                         name=f"{stem}_c"))
        self._v.append(None)

  def update_step(self, gradient, variable, learning_rate):
    index = self._get_variable_index(variable)
    r, c, v = self._r[index], self._c[index], self._v[index]
    dtype = variable.dtype
    gradient = ops.cast(gradient, dtype)
    step = ops.cast(self.iterations + 1, dtype)
    lr = ops.cast(learning_rate, dtype)
    if not callable(self._learning_rate) and self.relative_step:
      lr = ops.minimum(lr, 1 / ops.sqrt(step))
    rho = ops.minimum(lr, 1 / ops.sqrt(step))
    alpha = ops.maximum(ops.cast(self.epsilon_2, dtype), ops.sqrt(ops.mean(
        ops.square(variable)))) * rho
    square = ops.square(gradient) + ops.cast(self.epsilon_1, dtype)
    beta = 1 - ops.power(step, ops.cast(self.beta_2_decay, dtype))
    if v is None:
      self.assign(r, beta * r + (1 - beta) * ops.mean(square, axis=-1))
      self.assign(c, beta * c + (1 - beta) * ops.mean(square, axis=-2))
      # g / sqrt(r c / mean(r)) as a product of two rsqrts (as T2T's adafactor): the product
      # r c of two small moments (an expert's unused rows) underflows to 0 where TensorFlow
      # flushes denormals, and 0 / 0 made the weights NaN after one step.
      update = (gradient
                * ops.expand_dims(ops.rsqrt(r / ops.mean(r, axis=-1, keepdims=True)), -1)
                * ops.expand_dims(ops.rsqrt(c), -2))
    else:
      self.assign(v, beta * v + (1 - beta) * square)
      update = gradient / ops.sqrt(v)
    update = update / ops.maximum(1.0, ops.sqrt(ops.mean(ops.square(update)))
                                  / ops.cast(self.clip_threshold, dtype))
    self.assign_sub(variable, alpha * update)


def make_optimizer(hp: HParams) -> keras.optimizers.Optimizer:
  """FusedAdam, or FactoredAdafactor (optimizer=adafactor); under dtype_policy=mixed_float16
  wrapped in Keras's dynamic loss scaling (the loss is multiplied by a scale before the
  gradients are taken; an update whose gradients are not finite is skipped and the scale
  halved; 2000 good steps double it)."""
  # A fixed name: checkpoints key its slots by path, and Keras would number a second
  # optimizer of one process fused_adam_1.
  if hp.optimizer == "adafactor":
    optimizer = FactoredAdafactor(learning_rate=learning_rate_schedule(hp),
                                  global_clipnorm=hp.clip_grad_norm or None, name="optimizer")
  else:
    optimizer = FusedAdam(
        learning_rate=learning_rate_schedule(hp), beta_1=hp.adam_beta1, beta_2=hp.adam_beta2,
        epsilon=hp.adam_epsilon, global_clipnorm=hp.clip_grad_norm or None, name="optimizer")
  if hp.dtype_policy == "mixed_float16":
    return keras.optimizers.LossScaleOptimizer(optimizer, name="loss_scale_optimizer")
  return optimizer


def scale_loss(optimizer, loss):
  """`loss` times the optimizer's loss scale (itself when it does not scale)."""
  if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
    return optimizer.scale_loss(loss)
  return loss
