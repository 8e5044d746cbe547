"""Joint training of one model on many problems, one problem per step.

    trainer = Trainer(problems, hparams, data_dir, output_dir, strategy)
    trainer.train(train_steps=2000)   # resumes from output_dir's latest checkpoint
    trainer.evaluate()                # per-problem metrics, also in eval_results.json

The Trainer builds what a job needs and owns it: the problems' input pipelines, the model, the
optimizer, each problem's training step, the evaluator and the run folder. Three rooms do the
work (as TF Model Garden's Task / Trainer / Controller):

    t2t_mm/training/steps.py     what one update of a problem computes (loss, accumulation,
                                 loss scaling, XLA; several steps in one call)
    t2t_mm/training/loop.py      when to run steps, log, checkpoint, evaluate and stop
    t2t_mm/runs/run_folder.py    what is written in output_dir (checkpoints, the best one,
                                 summaries, problems.json, eval_results.json)
"""

import time
from typing import Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config.data_config import DataConfig
from t2t_mm.config.hparams import HParams
from t2t_mm.config.trainer_config import TrainerConfig  # noqa: F401  (re-exported)
from t2t_mm.data import problem as problem_lib
from t2t_mm.runs.run_folder import RunFolder
from t2t_mm.training import distribution
from t2t_mm.training import loop
from t2t_mm.training import mixture
from t2t_mm.training import optimization
from t2t_mm.training import evaluation
from t2t_mm.training import steps as steps_lib
from t2t_mm.training.evaluation import Evaluator
from t2t_mm.training.loop import TrainingDivergedError  # noqa: F401  (re-exported)
from t2t_mm.training.steps import moe_layers  # noqa: F401  (re-exported)


class Trainer:
  """Trains `problems` jointly; see the module docstring."""

  def __init__(self, problems: List, hparams: HParams, data_dir: str, output_dir: str,
               strategy: Optional[tf.distribute.Strategy] = None,
               config: Optional[TrainerConfig] = None):
    self.hparams, self.data_dir, self.output_dir = hparams, data_dir, output_dir
    self.config = config or TrainerConfig()
    self.strategy = strategy or tf.distribute.get_strategy()
    # What the input pipelines see; compiled steps (jit_compile, TPUs) get static shapes.
    self.data_config = DataConfig.from_hparams(
        hparams, compiled=hparams.jit_compile or distribution.is_tpu(self.strategy))
    self.chief = distribution.is_chief(self.strategy)
    self.problems = {p.name: p for p in problems}
    self.specs = {name: p.spec(data_dir) for name, p in self.problems.items()}
    sizes = {name: p.num_examples("train", data_dir) for name, p in self.problems.items()}
    self.schedule = mixture.schedule_from_hparams(hparams, sizes)
    self.rates = self.schedule.rates_at(0)
    self.sampler = mixture.MixtureSampler(self.schedule, hparams.seed)
    # Checked before any model is built: a typo in best_metric costs nothing.
    self.run_folder = RunFolder(output_dir, self.chief, self.config,
                                {n: set(evaluation.metric_names(s, self.problems[n]))
                                 for n, s in self.specs.items()})
    self.best = self.run_folder.best
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
    self.training_steps = steps_lib.TrainingSteps(
        self.model, self.optimizer, self.strategy, self.specs, hparams,
        {name: ds.element_spec for name, ds in self._datasets.items()})
    self._steps = self.training_steps.steps  # Per problem: fn(batch) -> (loss, MoE loss).
    self._block = None  # steps_per_call > 1: made at the first call (steps.make_block).
    self.skipped_updates = 0  # Updates skipped for non-finite gradients (mixed_float16).
    self.warm_start_report = None
    self.run_folder.track(self.model, self.optimizer,
                          self._iterators if self._uses_iterator_checkpoints() else None)
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

  # --- Training ---

  @property
  def step(self) -> int:
    return int(self.optimizer.iterations.numpy())

  @property
  def checkpoint_dir(self) -> str:
    return self.run_folder.checkpoint_dir

  @property
  def latest_checkpoint(self) -> Optional[str]:
    return self.run_folder.latest_checkpoint

  @property
  def _checkpoint_manager(self) -> tf.train.CheckpointManager:
    return self.run_folder.checkpoint_manager

  def restore(self) -> int:
    """Restores the newest readable checkpoint if there is one (else warm-starts when
    configured; RunFolder.restore); returns the step. Once: later calls continue from memory."""
    if not getattr(self, "_restored", False):
      self.warm_start_report = self.run_folder.restore()
      self._restored = True
    return self.step

  def train(self, train_steps: int) -> Dict[str, Dict[str, float]]:
    """Trains until the global step is `train_steps`, then evaluates; returns eval results
    (t2t_mm/training/loop.py)."""
    return loop.train(self, train_steps)

  def begin(self) -> int:
    """Restores, starts the input iterators and the run folder's files; returns the step."""
    step = self.restore()
    self._start_iterators(step)
    self.run_folder.start(self.problems, self.specs, self.data_dir, self.warm_start_report)
    self.run_folder.summary_writer("train")
    return step

  def run_steps(self, step: int, n: int):
    """Runs the training steps from `step` in one call: n steps with steps_per_call > 1,
    else one (of accumulate_steps batches); returns (problem, loss, MoE loss) per step run."""
    if self.hparams.steps_per_call > 1:
      return self._train_block(step, n)
    name = self.sampler.problem_at(step)
    batches = [problem_lib.next_batch(self._iterators[name], self.problems[name], "train",
                                      self.data_dir)  # A damaged shard: an error naming it.
               for _ in range(self.hparams.accumulate_steps)]
    loss, aux = self._steps[name](batches if len(batches) > 1 else batches[0])
    return [(name, float(loss), float(aux))]

  def _train_block(self, step: int, n: int):
    """Runs n steps from `step` in one call; returns (problem, loss, MoE loss) per step."""
    names = [self.sampler.problem_at(s) for s in range(step, step + n)]
    order = list(self.problems)
    if self._block is None:
      self._block = steps_lib.make_block(self._steps, self._iterators, order)
    try:
      losses, auxes = self._block(tf.constant([order.index(p) for p in names], tf.int32))
    except tf.errors.OpError as e:  # A damaged shard met in the call: name it.
      for name in dict.fromkeys(names):
        damaged = problem_lib.damaged_data_error(self.problems[name], "train", self.data_dir, e)
        if damaged is not None:
          raise damaged from e
      raise
    return list(zip(names, losses.numpy().tolist(), auxes.numpy().tolist()))

  def save_checkpoint(self, step: int) -> None:
    self.run_folder.save_checkpoint(step)

  def evaluate(self) -> Dict[str, Dict[str, float]]:
    """Evaluates every problem; writes eval summaries and eval_results.json on the chief."""
    start = time.perf_counter()
    results = self.evaluator.evaluate(self.config.eval_steps)
    if self.chief:
      self.run_folder.write_eval_results(self.step, results, self.evaluator.samples)
      if self.best:
        self.best.update(self.step, results, self.run_folder.save_best)
      self.run_folder.write_summaries(
          "eval", self.step,
          {f"{name}/{metric}": value for name, metrics in results.items()
           for metric, value in metrics.items()},
          [(f"{name}/decode_{i}", f"ref: {ref}\n\nhyp: {hyp}")
           for name in results for i, (ref, hyp) in enumerate(
               self.evaluator.samples.get(name, []))])
    results = dict(results)
    results["_step"] = self.step
    results["_seconds"] = time.perf_counter() - start
    return results

  def write_train_summaries(self, step: int, progress) -> None:
    """Recent losses, speed, loss scaling, learning rate and MoE drop rates at `step`."""
    scalars = {f"loss/{name}": value for name, value in progress.recent_losses().items()}
    scalars["steps_per_second"] = progress.steps_per_second(step)
    if self.hparams.dtype_policy == "mixed_float16":
      scalars["skipped_updates"] = self.skipped_updates
      scalars["loss_scale"] = float(self.optimizer.dynamic_scale.numpy())
    lr = self.optimizer.learning_rate
    scalars["learning_rate"] = float(lr.numpy() if hasattr(lr, "numpy") else lr)
    for layer_name, rate in self.training_steps.drop_rates():
      scalars[f"moe/{layer_name}/dropped"] = rate
    self.run_folder.write_summaries("train", step, scalars)
