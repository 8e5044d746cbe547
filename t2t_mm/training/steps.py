"""The training step of each problem: what one update of the shared model computes.

    steps = TrainingSteps(model, optimizer, strategy, specs, hparams, element_specs)
    loss, aux = steps.steps["wmt_ende_mini"](batch)   # one update; a list of batches when
                                                       # accumulate_steps > 1
    block = steps.make_block(steps.steps, iterators, order)   # steps_per_call > 1

Loss = token cross-entropy / global target tokens (+ MoE balancing loss once) -> gradients
update the variables that problem uses. Every problem's step is a tf.function traced once
(input_signature from its dataset) and shares the body's variables.

With hparam jit_compile, XLA compiles each problem's replica step (forward, backward, loss
scaling and update; with accumulate_steps > 1 its accumulate and apply steps), once per batch
shape; the MoE layers then take their static-shape dispatch (moe_dispatch=auto). Under several
replicas only the forward and backward pass are compiled: the update's cross-replica sum runs
outside XLA. Each MoE layer's share of assignments dropped for capacity since the last
summary is kept (drop_rates) for the summary `moe/<layer>/dropped`.

With accumulate_steps = N, one update takes N micro-batches of the chosen problem: their
target tokens are counted first, then each micro-batch adds the gradient of its token loss
over that global count (and of 1/N of its MoE loss) into accumulators, and one apply step
updates the variables and clears them: the update of one batch N times as large. Under
mixed_float16 the loss is scaled before each gradient; an update with non-finite gradients
is skipped by the optimizer, and its step does not advance (the loop counts it).
"""

from typing import Callable, Dict, Iterator, List, Sequence, Tuple

import tensorflow as tf

from t2t_mm.config.hparams import HParams
from t2t_mm.layers.moe import MixtureOfExperts
from t2t_mm.training import losses
from t2t_mm.training import optimization
from t2t_mm.utils import tracing


class TrainingSteps:
  """The compiled update of each problem of `specs`; see the module docstring.

  Args:
    model: the built model, shared by every problem.
    optimizer: the built optimizer of its trainable variables.
    strategy: the tf.distribute strategy the model and optimizer were made under.
    specs: per problem name, its ProblemSpec.
    hparams: accumulate_steps, jit_compile, label_smoothing, problem_loss_weights.
    element_specs: per problem name, the element_spec of its distributed train dataset.

  Attributes:
    steps: per problem name, fn(batch) -> (loss, MoE loss) reduced over replicas; with
      accumulate_steps > 1, fn(list of that many batches).
    gradient_fns: per problem name, (features, scale) -> (grads, loss, aux, drops).
    moes: [(name, layer)] of the model's MixtureOfExperts layers (moe_layers).
  """

  def __init__(self, model, optimizer, strategy: tf.distribute.Strategy,
               specs: Dict[str, object], hparams: HParams,
               element_specs: Dict[str, object]):
    self.model, self.optimizer, self.strategy = model, optimizer, strategy
    self.specs, self.hparams = specs, hparams
    with strategy.scope():
      self._accumulators = None
      if hparams.accumulate_steps > 1:  # Per replica: each sums its own gradients.
        self._accumulators = [
            tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False,
                        synchronization=tf.VariableSynchronization.ON_READ,
                        aggregation=tf.VariableAggregation.SUM, name=f"accumulator_{i}")
            for i, v in enumerate(model.trainable_variables)]
      self.moes = moe_layers(model)
      # (dropped, real assignments) per MoE layer since the last summary; not checkpointed.
      self._drop_counts = tf.Variable(
          tf.zeros((len(self.moes), 2)), trainable=False,
          synchronization=tf.VariableSynchronization.ON_READ,
          aggregation=tf.VariableAggregation.SUM, name="moe_drop_counts")
    self.gradient_fns = {}
    self.steps = {name: self._make_step(name, element_specs[name]) for name in specs}

  def drop_rates(self) -> List[Tuple[str, float]]:
    """[(MoE layer name, share of its assignments dropped)] since the last call; resets."""
    rates = [(layer_name, dropped / max(real, 1.0))
             for (layer_name, _), (dropped, real) in zip(self.moes, self._drop_counts.numpy())]
    self._drop_counts.assign(tf.zeros_like(self._drop_counts))
    return rates

  def _make_step(self, name: str, element_spec):
    """The update of problem `name`: fn(batch) -> (loss, MoE loss) reduced over replicas, a
    tf.function; with accumulate_steps > 1, fn(list of that many batches), which runs the
    compiled count, accumulate and apply steps."""
    spec, hp = self.specs[name], self.hparams
    weight = hp.problem_loss_weights.get(name, 1.0)
    num_replicas = self.strategy.num_replicas_in_sync
    micro = hp.accumulate_steps

    def gradients(features, scale):
      """(gradients of this replica's share of the update, its token loss, its MoE loss,
      its MoE layers' (dropped, real assignments) [layers, 2])."""
      for _, layer in self.moes:  # A layer this problem does not reach reports zeros.
        layer.last_drop_counts = None
      with tf.GradientTape() as tape:
        logits = self.model(features, problem=name, training=True)
        # Read the MoE losses before any merge point (all_reduce): Keras keeps them in one
        # list shared by the replica threads, which the next replica's call clears.
        model_losses = list(self.model.losses)
        weights = losses.target_weights(features["targets"], spec.one_token_targets)
        loss_sum, _ = losses.smoothed_cross_entropy(
            logits, features["targets"], weights, hp.label_smoothing)
        loss = loss_sum * scale  # scale: 1 / target tokens of the whole update.
        # Each replica and micro-batch adds its share of its balancing loss: summed once.
        aux = (tf.add_n([tf.cast(x, tf.float32) for x in model_losses]) / (num_replicas * micro)
               if model_losses else tf.constant(0.0))
        total = optimization.scale_loss(self.optimizer, weight * loss + aux)
      counts = [tf.zeros(2) if layer.last_drop_counts is None else layer.last_drop_counts
                for _, layer in self.moes]
      drops = tf.stack(counts) if counts else tf.zeros((0, 2))
      return tape.gradient(total, self.model.trainable_variables), loss, aux, drops

    # XLA compiles a replica's whole step on one replica; under several, the update's
    # cross-replica sum (a merge call) cannot run inside XLA, so only the gradients compile.
    whole = hp.jit_compile and num_replicas == 1

    def xla(fn):
      return tf.function(fn, jit_compile=True, autograph=False)

    if hp.jit_compile and not whole:
      gradients = xla(gradients)
    self.gradient_fns[name] = xla(gradients) if whole else gradients

    def compiled(fn):
      return xla(fn) if whole else fn

    def global_count(features):
      count = tf.reduce_sum(losses.target_weights(features["targets"], spec.one_token_targets))
      return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, count)

    def apply(grads):
      variables = self.model.trainable_variables
      self.optimizer.apply_gradients([(g, v) for g, v in zip(grads, variables)
                                      if g is not None])

    def reduced(loss, aux):
      return (self.strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
              self.strategy.reduce(tf.distribute.ReduceOp.SUM, aux, axis=None))

    if micro == 1:
      @compiled
      def replica_step(features):
        scale = 1.0 / tf.maximum(global_count(features), 1.0)
        grads, loss, aux, drops = gradients(features, scale)
        apply(grads)
        self._drop_counts.assign_add(drops)
        return loss, aux

      def step(features):
        return reduced(*self.strategy.run(replica_step, args=(features,)))

      return tracing.function_for(step, name, input_signature=[element_spec])

    used = {}  # Which accumulators this problem's gradients reach (known once traced).

    @compiled
    def replica_accumulate(features, scale):
      grads, loss, aux, drops = gradients(features, scale)
      used["indices"] = [i for i, g in enumerate(grads) if g is not None]
      for i in used["indices"]:
        self._accumulators[i].assign_add(tf.convert_to_tensor(grads[i]))
      self._drop_counts.assign_add(drops)
      return loss, aux

    @compiled
    def replica_apply():
      grads = [None] * len(self._accumulators)
      for i in used["indices"]:
        grads[i] = tf.identity(self._accumulators[i])  # This replica's sum.
      apply(grads)
      for i in used["indices"]:
        self._accumulators[i].assign(tf.zeros_like(self._accumulators[i]))
      return tf.constant(0)

    count_fn = tracing.function_for(
        lambda features: self.strategy.reduce(
            tf.distribute.ReduceOp.MEAN, self.strategy.run(global_count, args=(features,)),
            axis=None), f"{name}_count", input_signature=[element_spec])
    accumulate_fn = tracing.function_for(
        lambda features, scale: reduced(*self.strategy.run(replica_accumulate,
                                                           args=(features, scale))),
        f"{name}_accumulate",
        input_signature=[element_spec, tf.TensorSpec([], tf.float32)])
    apply_fn = tracing.function_for(lambda: self.strategy.run(replica_apply),
                                    f"{name}_apply", input_signature=[])

    def accumulated_step(batches):
      # Every replica's all-reduced count is the global one, so their MEAN is it.
      total = sum(float(count_fn(b)) for b in batches)
      scale = tf.constant(1.0 / max(total, 1.0), tf.float32)
      loss = aux = 0.0
      for batch in batches:
        b_loss, b_aux = accumulate_fn(batch, scale)
        loss, aux = loss + b_loss, aux + b_aux
      apply_fn()
      return loss, aux

    return accumulated_step


def make_block(steps: Dict[str, Callable], iterators: Dict[str, Iterator],
               order: Sequence[str]):
  """fn(problem indices [n]) -> (losses [n], MoE losses [n]): n training steps in one
  tf.function, step i running problem order[indices[i]]'s step on its next batch.

    for i in range(n):  switch_case(indices[i], [next batch + step of each problem])
  """
  def branch(name):
    def run():
      loss, aux = steps[name](next(iterators[name]))
      return tf.cast(loss, tf.float32), tf.cast(aux, tf.float32)
    return run

  branches = [branch(name) for name in order]

  def block(indices):
    n = tf.shape(indices)[0]
    losses_ = tf.TensorArray(tf.float32, size=n)
    auxes = tf.TensorArray(tf.float32, size=n)
    for i in tf.range(n):
      loss, aux = tf.switch_case(indices[i], branches)
      losses_ = losses_.write(i, loss)
      auxes = auxes.write(i, aux)
    return losses_.stack(), auxes.stack()

  return tf.function(block, input_signature=[tf.TensorSpec([None], tf.int32)])


def moe_layers(model) -> List:
  """[(name, layer)] of the model's MixtureOfExperts layers, named by their path of layer
  names below the model ("encoder/moe1"; the variables' paths lack the parents)."""
  found = []

  def walk(layer, prefix):
    for sub in layer._flatten_layers(include_self=False, recursive=False):  # Keras' own walk.
      if isinstance(sub, MixtureOfExperts):
        found.append((prefix + sub.name, sub))
      else:
        walk(sub, f"{prefix}{sub.name}/")

  walk(model, "")
  return found
