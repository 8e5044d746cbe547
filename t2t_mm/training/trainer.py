"""Joint training of one model on many problems, one problem per step.

    trainer = Trainer(problems, hparams, data_dir, output_dir, strategy)
    trainer.train(train_steps=2000)   # resumes from output_dir's latest checkpoint
    trainer.evaluate()                # per-problem metrics, also in eval_results.json

Each step: the mixture picks a problem by (seed, step) -> that problem's compiled step runs on
its next batch -> loss = token cross-entropy / global target tokens (+ MoE balancing loss once)
-> gradients update the variables that problem uses. Every problem's step is a tf.function
traced once (input_signature from its dataset) and shares the body's variables.

With hparam jit_compile, XLA compiles each problem's replica step (forward, backward, loss
scaling and update; with accumulate_steps > 1 its accumulate and apply steps), once per batch
shape; the MoE layers then take their static-shape dispatch (moe_dispatch=auto). Under several
replicas only the forward and backward pass are compiled: the update's cross-replica sum runs
outside XLA. Each MoE layer's share of assignments dropped for capacity since the last
summary is written as `moe/<layer>/dropped`.

With accumulate_steps = N, one update takes N micro-batches of the chosen problem: their
target tokens are counted first, then each micro-batch adds the gradient of its token loss
over that global count (and of 1/N of its MoE loss) into accumulators, and one apply step
updates the variables and clears them: the update of one batch N times as large. Under
mixed_float16 the loss is scaled before each gradient and an update with non-finite
gradients is skipped (counted in `skipped_updates`, logged); the step does not advance.
"""

import os
import tempfile
import time
from typing import Dict, List, Optional

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config.data_config import DataConfig
from t2t_mm.config.hparams import HParams
from t2t_mm.config.trainer_config import TrainerConfig  # noqa: F401  (re-exported)
from t2t_mm.data import problem as problem_lib
from t2t_mm.layers.moe import MixtureOfExperts
from t2t_mm.runs import best as best_lib
from t2t_mm.runs import checkpoints
from t2t_mm.training import distribution
from t2t_mm.training import losses
from t2t_mm.training import mixture
from t2t_mm.training import optimization
from t2t_mm.runs import outputs
from t2t_mm.runs import warm_start as warm_start_lib
from t2t_mm.training import progress as progress_lib
from t2t_mm.training import evaluation
from t2t_mm.training.evaluation import Evaluator
from t2t_mm.utils import tracing


class TrainingDivergedError(errors.T2TMMError):
  """The loss became NaN or Inf; the last good checkpoint is kept."""


class Trainer:
  """Trains `problems` jointly; see the module docstring."""

  def __init__(self, problems: List, hparams: HParams, data_dir: str, output_dir: str,
               strategy: Optional[tf.distribute.Strategy] = None,
               config: Optional[TrainerConfig] = None):
    self.hparams, self.data_dir, self.output_dir = hparams, data_dir, output_dir
    self.config = config or TrainerConfig()
    self.data_config = DataConfig.from_hparams(hparams)  # What the input pipelines see.
    self.strategy = strategy or tf.distribute.get_strategy()
    self.chief = distribution.is_chief(self.strategy)
    self.problems = {p.name: p for p in problems}
    self.specs = {name: p.spec(data_dir) for name, p in self.problems.items()}
    sizes = {name: p.num_examples("train", data_dir) for name, p in self.problems.items()}
    self.schedule = mixture.schedule_from_hparams(hparams, sizes)
    self.rates = self.schedule.rates_at(0)
    self.sampler = mixture.MixtureSampler(self.schedule, hparams.seed)
    # Checked before any model is built: a typo in the metric costs nothing.
    self.best = (best_lib.BestKeeper(output_dir, self.config.best_metric,
                                     self.config.early_stopping_patience,
                                     {n: set(evaluation.metric_names(s, self.problems[n]))
                                      for n, s in self.specs.items()})
                 if self.config.best_metric else None)
    unknown = set(hparams.problem_loss_weights) - set(self.problems)
    if unknown:
      raise errors.ConfigError(
          f"problem_loss_weights names {sorted(unknown)}, which are not being trained "
          f"({sorted(self.problems)}).")
    keras.utils.set_random_seed(hparams.seed)
    with self.strategy.scope():
      self.model = registry.model(hparams.model)(hparams=hparams,
                                                 specs=list(self.specs.values()))
      self._datasets = {name: self._distributed_dataset(name) for name in self.problems}
      self._iterators = None  # Made by _start_iterators, once the step is known.
      if self._uses_iterator_checkpoints():  # The checkpoint restores their position.
        self._iterators = {name: iter(ds) for name, ds in self._datasets.items()}
      self._build_model()
      self.optimizer = optimization.make_optimizer(hparams)
      self.optimizer.build(self.model.trainable_variables)
      self._accumulators = None
      if hparams.accumulate_steps > 1:  # Per replica: each sums its own gradients.
        self._accumulators = [
            tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False,
                        synchronization=tf.VariableSynchronization.ON_READ,
                        aggregation=tf.VariableAggregation.SUM, name=f"accumulator_{i}")
            for i, v in enumerate(self.model.trainable_variables)]
      self._moes = moe_layers(self.model)
      # (dropped, real assignments) per MoE layer since the last summary; not checkpointed.
      self._drop_counts = tf.Variable(
          tf.zeros((len(self._moes), 2)), trainable=False,
          synchronization=tf.VariableSynchronization.ON_READ,
          aggregation=tf.VariableAggregation.SUM, name="moe_drop_counts")
    self._gradient_fns = {}  # Per problem: (features, scale) -> (grads, loss, aux, drops).
    self._steps = {name: self._make_step(name) for name in self.problems}
    self._block = None  # steps_per_call > 1: made at the first call (_make_block).
    self.skipped_updates = 0  # Updates skipped for non-finite gradients (mixed_float16).
    self.warm_start_report = None
    self._checkpoint_manager = self._make_checkpoint_manager()
    self._best_manager = None
    self.evaluator = Evaluator(self.model, self.problems, self.specs, data_dir, hparams,
                               decode_examples=self.config.decode_examples)

  # --- Set-up ---

  def _distributed_dataset(self, name: str, seed: Optional[int] = None):
    problem, hp = self.problems[name], self.hparams
    seed = hp.seed if seed is None else seed

    def dataset_fn(ctx: tf.distribute.InputContext):
      per_replica = self.data_config.replace(
          batch_size=ctx.get_per_replica_batch_size(hp.batch_size),
          batch_tokens=hp.batch_tokens // ctx.num_replicas_in_sync)
      return problem.dataset("train", self.data_dir, per_replica, shuffle=True, seed=seed,
                             num_shards=ctx.num_input_pipelines,
                             shard_index=ctx.input_pipeline_id)

    return self.strategy.distribute_datasets_from_function(dataset_fn)

  def _build_model(self) -> None:
    """Creates every problem's variables (modality nets) before restoring a checkpoint, from a
    batch of its dev split, or of its train split where it has no dev split."""
    for name, problem in self.problems.items():
      split = "dev" if problem_lib.has_split(problem, "dev") else "train"
      features = problem_lib.next_batch(iter(problem.dataset(
          split, self.data_dir, self.data_config, shuffle=False)), problem, split, self.data_dir)
      features = {k: v[:1] for k, v in features.items()}
      self.model(features, problem=name, training=False)

  def _start_iterators(self, step: int) -> None:
    """Input iterators for a run that starts (or resumes without iterator state) at `step`."""
    if self._iterators is not None:
      return
    datasets = self._datasets  # Seeded with hparams.seed: right for a fresh run.
    if step:  # A fresh order for the resumed run, the same on every worker.
      seed = int(np.random.SeedSequence([self.hparams.seed, step]).generate_state(1)[0])
      with self.strategy.scope():
        datasets = {name: self._distributed_dataset(name, seed) for name in self.problems}
    with self.strategy.scope():
      self._iterators = {name: iter(ds) for name, ds in datasets.items()}

  def _uses_iterator_checkpoints(self) -> bool:
    return self.config.checkpoint_iterators and self.strategy.num_replicas_in_sync == 1 and (
        not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy))

  def _checkpoint_items(self) -> Dict[str, object]:
    items = {**checkpoints.model_items(self.model), **checkpoints.optimizer_items(self.optimizer)}
    if self._uses_iterator_checkpoints():  # By problem name, as the variables.
      items.update({f"iterator_{name}": it for name, it in self._iterators.items()})
    return items

  def _make_checkpoint_manager(self) -> tf.train.CheckpointManager:
    checkpoint = tf.train.Checkpoint(**self._checkpoint_items())
    directory = self.checkpoint_dir
    if not self.chief:  # Saving is collective; other workers write to a scratch folder.
      directory = tempfile.mkdtemp(prefix="t2t_mm_worker_ckpt_")
    return tf.train.CheckpointManager(checkpoint, directory,
                                      max_to_keep=self.config.keep_checkpoints)

  def _make_step(self, name: str):
    """The update of problem `name`: fn(batch) -> (loss, MoE loss) reduced over replicas, a
    tf.function; with accumulate_steps > 1, fn(list of that many batches), which runs the
    compiled count, accumulate and apply steps."""
    spec, hp = self.specs[name], self.hparams
    weight = hp.problem_loss_weights.get(name, 1.0)
    num_replicas = self.strategy.num_replicas_in_sync
    micro = hp.accumulate_steps
    element_spec = self._datasets[name].element_spec

    def gradients(features, scale):
      """(gradients of this replica's share of the update, its token loss, its MoE loss,
      its MoE layers' (dropped, real assignments) [layers, 2])."""
      for _, layer in self._moes:  # A layer this problem does not reach reports zeros.
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
                for _, layer in self._moes]
      drops = tf.stack(counts) if counts else tf.zeros((0, 2))
      return tape.gradient(total, self.model.trainable_variables), loss, aux, drops

    # XLA compiles a replica's whole step on one replica; under several, the update's
    # cross-replica sum (a merge call) cannot run inside XLA, so only the gradients compile.
    whole = hp.jit_compile and num_replicas == 1

    def xla(fn):
      return tf.function(fn, jit_compile=True, autograph=False)

    if hp.jit_compile and not whole:
      gradients = xla(gradients)
    self._gradient_fns[name] = xla(gradients) if whole else gradients

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

  # --- Training ---

  @property
  def step(self) -> int:
    return int(self.optimizer.iterations.numpy())

  @property
  def checkpoint_dir(self) -> str:
    return os.path.join(self.output_dir, checkpoints.CHECKPOINT_DIR)

  def restore(self) -> int:
    """Restores the newest readable checkpoint if there is one; returns the step.

    Damaged checkpoints are skipped with a warning (checkpoints.restore_newest); one that
    does not fit this model is an error.
    """
    if not getattr(self, "_restored", False):  # Once: later calls continue from memory.
      items = self._checkpoint_items()
      own = checkpoints.restore_newest(self.checkpoint_dir, lambda prefix: checkpoints.restore(
          prefix, items, model=self.model, optimizer=self.optimizer))
      if own is None and self.config.warm_start_from:  # A resumed run keeps its own weights.
        self.warm_start_report = warm_start_lib.warm_start(
            self.model, self.config.warm_start_from,
            self.optimizer if self.config.warm_start_optimizer else None)
        logging.info("%s", self.warm_start_report.summary())
      self._restored = True
    return self.step

  def train(self, train_steps: int) -> Dict[str, Dict[str, float]]:
    """Trains until the global step is `train_steps`, then evaluates; returns eval results."""
    step = self.restore()
    self._start_iterators(step)
    if self.chief:
      for orphan in checkpoints.remove_orphans(self.checkpoint_dir):
        logging.warning("Removed %s, left by a checkpoint save that was killed.", orphan)
      outputs.write_run_files(self.output_dir, self.problems, self.specs,
                              self.data_dir)
      if self.warm_start_report is not None:
        warm_start_lib.write_report(self.output_dir, self.warm_start_report)
    writer = self._summary_writer("train")
    progress = progress_lib.Progress(train_steps, self.config.log_every)
    results = {}
    skipped_in_a_row = 0
    while step < train_steps and not (self.best and self.best.should_stop):
      if self.hparams.steps_per_call > 1:
        ran = self._train_block(step, train_steps)
      else:
        name = self.sampler.problem_at(step)
        batches = [problem_lib.next_batch(self._iterators[name], self.problems[name], "train",
                                          self.data_dir)  # A damaged shard: an error naming it.
                   for _ in range(self.hparams.accumulate_steps)]
        loss, aux = self._steps[name](batches if len(batches) > 1 else batches[0])
        ran = [(name, float(loss), float(aux))]
      before, step = step, self.step
      skipped = len(ran) - (step - before)
      if skipped and self.hparams.dtype_policy == "mixed_float16":
        # Loss scaling skipped updates with non-finite gradients.
        self.skipped_updates += skipped
        skipped_in_a_row = skipped_in_a_row + skipped if step == before else skipped
        logging.warning("Step %d on problem '%s': gradients not finite under mixed_float16; "
                        "%d update(s) skipped, loss scale halved (%d skipped so far).", step,
                        ran[-1][0], skipped, self.skipped_updates)
        if skipped_in_a_row >= 50:
          raise TrainingDivergedError(
              f"50 updates in a row had non-finite gradients at step {step} (problem "
              f"'{ran[-1][0]}'); training stopped. Last good checkpoint: "
              f"{self._checkpoint_manager.latest_checkpoint}.")
        if step == before:
          continue
      else:
        skipped_in_a_row = 0
      for at, (name, loss, aux) in enumerate(ran, start=before):
        if not np.isfinite(loss) or not np.isfinite(aux):
          raise TrainingDivergedError(
              f"loss became {loss} (MoE loss {aux}) at step {at} on problem '{name}'; "
              f"training stopped. Last good checkpoint: "
              f"{self._checkpoint_manager.latest_checkpoint}. Try a lower learning_rate.")
      if step == before:  # Only loss scaling may skip an update; anything else would loop.
        raise RuntimeError(f"The training step of '{ran[-1][0]}' did not advance the step "
                           f"({step}).")
      for at, (name, loss, _) in enumerate(ran[:step - before], start=before + 1):
        progress.update(at, name, loss)
        if at % self.config.log_every == 0:
          self._write_train_summaries(writer, at, progress)
      if step % self.config.checkpoint_every == 0 or step == train_steps:
        self._save_checkpoint(step)
      if self.config.eval_every and step % self.config.eval_every == 0 and step < train_steps:
        results = self.evaluate()
    progress.close()
    if self.best and self.best.should_stop and step < train_steps:
      logging.warning("Stopped early at step %d: %d evaluations without a better %s (best %s "
                      "at step %s).", step, self.best.patience, self.best.metric,
                      self.best.state["value"], self.best.state["step"])
      self._save_checkpoint(step)
    if not results or step != results.get("_step"):
      results = self.evaluate()
    return results

  def _train_block(self, step: int, train_steps: int):
    """Runs up to steps_per_call steps from `step` in one call, ending at the next checkpoint,
    evaluation or last step; returns (problem, loss, MoE loss) per step run."""
    config = self.config
    n = min(self.hparams.steps_per_call, train_steps - step,
            config.checkpoint_every - step % config.checkpoint_every)
    if config.eval_every:
      n = min(n, config.eval_every - step % config.eval_every)
    names = [self.sampler.problem_at(s) for s in range(step, step + n)]
    if self._block is None:
      self._block = self._make_block()
    order = list(self.problems)
    try:
      losses, auxes = self._block(tf.constant([order.index(p) for p in names], tf.int32))
    except tf.errors.OpError as e:  # A damaged shard met in the call: name it.
      for name in dict.fromkeys(names):
        damaged = problem_lib.damaged_data_error(self.problems[name], "train", self.data_dir, e)
        if damaged is not None:
          raise damaged from e
      raise
    return list(zip(names, losses.numpy().tolist(), auxes.numpy().tolist()))

  def _make_block(self):
    """fn(problem indices [n]) -> (losses [n], MoE losses [n]): n training steps in one
    tf.function, step i running problem indices[i]'s compiled step on its next batch.

      for i in range(n):  switch_case(indices[i], [next batch + step of each problem])
    """
    def branch(name):
      def run():
        loss, aux = self._steps[name](next(self._iterators[name]))
        return tf.cast(loss, tf.float32), tf.cast(aux, tf.float32)
      return run

    branches = [branch(name) for name in self.problems]

    def block(indices):
      n = tf.shape(indices)[0]
      losses = tf.TensorArray(tf.float32, size=n)
      auxes = tf.TensorArray(tf.float32, size=n)
      for i in tf.range(n):
        loss, aux = tf.switch_case(indices[i], branches)
        losses = losses.write(i, loss)
        auxes = auxes.write(i, aux)
      return losses.stack(), auxes.stack()

    return tf.function(block, input_signature=[tf.TensorSpec([None], tf.int32)])

  def _save_checkpoint(self, step: int) -> None:
    """Saves ckpt-<step>; a write the disk refuses removes what it left and raises one line
    (errors.StorageError) naming the path, with the checkpoints before it intact."""
    try:
      self._checkpoint_manager.save(checkpoint_number=step)
    except (OSError, tf.errors.OpError) as e:
      prefix = os.path.join(self.checkpoint_dir, f"ckpt-{step}")
      checkpoints.remove_partial(prefix)
      kept = self._checkpoint_manager.latest_checkpoint
      raise errors.storage_error(
          prefix, e, f"the checkpoints before it are intact (newest: {kept})." if kept
          else "no checkpoint was written.") from e

  def evaluate(self) -> Dict[str, Dict[str, float]]:
    """Evaluates every problem; writes eval summaries and eval_results.json on the chief."""
    start = time.perf_counter()
    results = self.evaluator.evaluate(self.config.eval_steps)
    if self.chief:
      outputs.write_eval_results(self.output_dir, self.step, results, self.evaluator.samples)
      if self.best:
        self.best.update(self.step, results, self._save_best)
      writer = self._summary_writer("eval")
      with writer.as_default(step=self.step):
        for name, metrics in results.items():
          for metric, value in metrics.items():
            tf.summary.scalar(f"{name}/{metric}", value)
          for i, (ref, hyp) in enumerate(self.evaluator.samples.get(name, [])):
            tf.summary.text(f"{name}/decode_{i}", f"ref: {ref}\n\nhyp: {hyp}")
      writer.flush()
    results = dict(results)
    results["_step"] = self.step
    results["_seconds"] = time.perf_counter() - start
    return results

  def _save_best(self, step: int) -> str:
    """Writes the model as checkpoints/best/ckpt-<step> (only the newest best is kept)."""
    if self._best_manager is None:
      self._best_manager = tf.train.CheckpointManager(
          tf.train.Checkpoint(**checkpoints.model_items(self.model)),
          os.path.join(self.output_dir, best_lib.BEST_DIR), max_to_keep=1)
    prefix = self._best_manager.save(checkpoint_number=step)
    return os.path.relpath(prefix, self.output_dir)

  def _summary_writer(self, kind: str):
    if not hasattr(self, "_writers"):
      self._writers = {}
    if kind not in self._writers:
      self._writers[kind] = (tf.summary.create_file_writer(os.path.join(self.output_dir, kind))
                             if self.chief else tf.summary.create_noop_writer())
    return self._writers[kind]

  def _write_train_summaries(self, writer, step: int, progress) -> None:
    rate = progress.steps_per_second(step)
    with writer.as_default(step=step):
      for name, value in progress.recent_losses().items():
        tf.summary.scalar(f"loss/{name}", value)
      tf.summary.scalar("steps_per_second", rate)
      if self.hparams.dtype_policy == "mixed_float16":
        tf.summary.scalar("skipped_updates", self.skipped_updates)
        tf.summary.scalar("loss_scale", float(self.optimizer.dynamic_scale.numpy()))
      lr = self.optimizer.learning_rate
      tf.summary.scalar("learning_rate", float(lr.numpy() if hasattr(lr, "numpy") else lr))
      for (layer_name, _), (dropped, real) in zip(self._moes, self._drop_counts.numpy()):
        tf.summary.scalar(f"moe/{layer_name}/dropped", dropped / max(real, 1.0))
    self._drop_counts.assign(tf.zeros_like(self._drop_counts))


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
