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
class FusedAdam(keras.optimizers.Optimizer):
  """Adam whose update of each variable is one fused TensorFlow kernel.

      m <- m + (g - m)(1 - beta_1)        v <- v + (g^2 - v)(1 - beta_2)
      var <- var - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

  keras.optimizers.Adam's update, slots (`momentum`, `velocity`, named by each variable's
  path, so checkpoints are interchangeable) and config, written as one ResourceApplyAdam per
  variable instead of about twenty element-wise ops. Why: Keras's version gives a training
  step far more graph ops, which cost trace time, first-run time and a little per step
  (figures in docs/STACK.md). Built on Keras's documented subclassing API alone (`build`,
  `add_optimizer_variables`, `update_step`, `get_config`, and `_get_variable_index`, which
  Keras's Optimizer docstring itself uses to find a variable's slots), so a Keras release that
  keeps that API keeps this class working.
  A sparse gradient (IndexedSlices) is summed into a dense one first, so v gets the square of
  the summed gradient as in dense Adam. Keras's Adam, given an unclipped IndexedSlices, squares
  each slice before repeated rows are summed; with global clipping (the trainer's default)
  Keras densifies first too. Variables other than float32/float64 (the kernel would compute
  1 - beta in their precision), and backends other than TensorFlow, get the same update in
  keras.ops. Tested on one device and under MirroredStrategy; not on TPUs.

  Args:
    learning_rate: a float or a LearningRateSchedule.
    beta_1: decay of the first moment m.
    beta_2: decay of the second moment v.
    epsilon: added to sqrt(v) (Keras's Adam convention, not inside the root).
    **kwargs: keras.optimizers.Optimizer's (global_clipnorm, name, ...).

  Example:
    >>> opt = FusedAdam(1e-3, beta_1=0.85, beta_2=0.997, epsilon=1e-6, global_clipnorm=2.0)
  """

  def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
               name="fused_adam", **kwargs):
    super().__init__(learning_rate=learning_rate, name=name, **kwargs)
    self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

  def build(self, var_list):
    if self.built:
      return
    super().build(var_list)
    # As Keras's Adam makes them: same names, same order of creation.
    self.momentums, self.velocities = self.add_optimizer_variables(
        var_list, ["momentum", "velocity"])

  def apply(self, grads, trainable_variables=None):
    """Keras's apply, with the step's bias-correction powers computed once for all variables
    (per variable they were ~1,200 more graph ops in multimodel_tiny's step, docs/STACK.md).
    Under MirroredStrategy each replica sets them before Keras's merge_call, which runs every
    update while the replicas wait, with equal values (the step count is shared)."""
    step = tf.cast(self.iterations + 1, tf.float32)
    self._step_powers = (tf.pow(tf.cast(self.beta_1, tf.float32), step),
                         tf.pow(tf.cast(self.beta_2, tf.float32), step))
    try:
      return super().apply(grads, trainable_variables)
    finally:
      self._step_powers = None

  def update_step(self, gradient, variable, learning_rate):
    """Applies one Adam step to `variable` (inside strategy.extended.update on TF)."""
    index = self._get_variable_index(variable)
    m, v = self.momentums[index], self.velocities[index]
    dtype = variable.dtype
    if keras.backend.backend() != "tensorflow" or dtype not in (tf.float32, tf.float64):
      return self._update_in_ops(gradient, variable, learning_rate, m, v)
    # The TF backend passes the tf.Variable (or a replica's copy); other callers may not.
    if isinstance(variable, keras.Variable):
      variable = variable.value
    beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
    powers = getattr(self, "_step_powers", None)
    if powers is None:  # Called outside apply.
      step = tf.cast(self.iterations + 1, dtype)
      powers = (tf.pow(beta_1, step), tf.pow(beta_2, step))
    # Inside strategy.extended.update, a mirrored slot's .handle is this device's copy.
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle, m=m.value.handle, v=v.value.handle,
        beta1_power=tf.cast(powers[0], dtype), beta2_power=tf.cast(powers[1], dtype),
        lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
        epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(tf.convert_to_tensor(gradient), dtype))
    return None

  def _update_in_ops(self, gradient, variable, learning_rate, m, v):
    """The same update in keras.ops (Keras's Adam formula), for what the kernel does not take."""
    dtype = variable.dtype
    lr = ops.cast(learning_rate, dtype)
    gradient = ops.cast(gradient, dtype)
    step = ops.cast(self.iterations + 1, dtype)
    beta_1_power = ops.power(ops.cast(self.beta_1, dtype), step)
    beta_2_power = ops.power(ops.cast(self.beta_2, dtype), step)
    alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
    self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
    self.assign_sub(variable, ops.divide(ops.multiply(m, alpha),
                                         ops.add(ops.sqrt(v), self.epsilon)))

  def get_config(self):
    config = super().get_config()
    config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
    return config


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

  def __init__(self, learning_rate=0.001, **kwargs):
    super().__init__(learning_rate=learning_rate, **kwargs)
    # Keras's relative_step caps a fixed learning rate at 1/sqrt(t), not a schedule's.
    self._fixed_rate = not callable(learning_rate)

  def build(self, var_list):
    if self.built:
      return
    keras.optimizers.Optimizer.build(self, var_list)  # Iterations, learning rate.
    # Not Keras's _r, _c, _v (private to its Adafactor): this class's own lists.
    self.row_moments, self.col_moments, self.full_moments = [], [], []
    for var in var_list:
      if len(var.shape) < 2:
        self.row_moments.append(None)
        self.col_moments.append(None)
        self.full_moments.append(self.add_variable_from_reference(var, name="velocity"))
      else:
        # Named after the variable's path, as Keras names Adam's slots: checkpoints hold
        # every variable by its path.
        stem = var.path.replace("/", "_") if hasattr(var, "path") else var.name
        self.row_moments.append(
            self.add_variable(var.shape[:-1], dtype=var.dtype, name=f"{stem}_r"))
        self.col_moments.append(self.add_variable(
            var.shape[:-2] + (var.shape[-1],), dtype=var.dtype, name=f"{stem}_c"))
        self.full_moments.append(None)

  def update_step(self, gradient, variable, learning_rate):
    index = self._get_variable_index(variable)
    r, c, v = (self.row_moments[index], self.col_moments[index],
               self.full_moments[index])
    dtype = variable.dtype
    gradient = ops.cast(gradient, dtype)
    step = ops.cast(self.iterations + 1, dtype)
    lr = ops.cast(learning_rate, dtype)
    if self._fixed_rate and self.relative_step:
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
