"""What a training job writes in its run folder, in one place.

    folder = RunFolder(output_dir, chief, config, dev_metrics)   # checks config.best_metric
    folder.track(model, optimizer)                      # once both are built
    report = folder.restore()                           # own checkpoint, else warm start
    folder.start(problems, specs, data_dir, report)     # problems.json, warm_start.json
    folder.save_checkpoint(step)                        # checkpoints/ckpt-<step>
    folder.write_eval_results(step, results, samples)   # eval_results.json
    folder.best.update(step, results, folder.save_best) # checkpoints/best (best_metric)
    folder.write_summaries("train", step, {"loss/wmt_ende_mini": 2.3})

Only the chief writes: other workers save their (collective) checkpoints to a scratch folder
and write no files or summaries.
"""

import os
import tempfile
from typing import Dict, Mapping, Optional, Sequence, Set, Tuple

from absl import logging
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.trainer_config import TrainerConfig
from t2t_mm.runs import best as best_lib
from t2t_mm.runs import checkpoints
from t2t_mm.runs import outputs
from t2t_mm.runs import warm_start as warm_start_lib


class RunFolder:
  """Checkpoints, the best checkpoint, summaries and run files of one training job.

  Args:
    output_dir: the run folder.
    chief: whether this worker writes (distribution.is_chief).
    config: keep_checkpoints, best_metric, early_stopping_patience, warm_start_*.
    dev_metrics: per problem, the metrics its evaluations report (best_metric is checked
      against them here, before any model is built).

  Attributes:
    best: the BestKeeper of config.best_metric (None without one).
  """

  def __init__(self, output_dir: str, chief: bool, config: TrainerConfig,
               dev_metrics: Mapping[str, Set[str]]):
    self.output_dir, self.chief, self.config = output_dir, chief, config
    self.best = (best_lib.BestKeeper(output_dir, config.best_metric,
                                     config.early_stopping_patience, dev_metrics)
                 if config.best_metric else None)
    self.model = self.optimizer = self.checkpoint_manager = None
    self._best_manager = None
    self._writers: Dict[str, object] = {}

  def track(self, model, optimizer, iterators: Optional[Mapping[str, object]] = None) -> None:
    """What the checkpoints hold: the model's and optimizer's variables by name, and the
    input iterators by problem name when given (TrainerConfig.checkpoint_iterators)."""
    self.model, self.optimizer = model, optimizer
    self.items = {**checkpoints.model_items(model), **checkpoints.optimizer_items(optimizer)}
    if iterators is not None:  # By problem name, as the variables.
      self.items.update({f"iterator_{name}": it for name, it in iterators.items()})
    directory = self.checkpoint_dir
    if not self.chief:  # Saving is collective; other workers write to a scratch folder.
      directory = tempfile.mkdtemp(prefix="t2t_mm_worker_ckpt_")
    self.checkpoint_manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(**self.items), directory, max_to_keep=self.config.keep_checkpoints)

  @property
  def checkpoint_dir(self) -> str:
    return os.path.join(self.output_dir, checkpoints.CHECKPOINT_DIR)

  @property
  def latest_checkpoint(self) -> Optional[str]:
    return self.checkpoint_manager.latest_checkpoint

  def restore(self) -> Optional[warm_start_lib.WarmStartReport]:
    """Restores the newest readable checkpoint of the run if there is one, else warm-starts
    from config.warm_start_from if set; returns the warm start's report (or None).

    Damaged checkpoints are skipped with a warning (checkpoints.restore_newest); one that
    does not fit this model is an error.
    """
    model, optimizer, config = self.model, self.optimizer, self.config
    own = checkpoints.restore_newest(
        self.checkpoint_dir, lambda prefix: checkpoints.restore(prefix, self.items))
    if own is None and config.warm_start_from:  # A resumed run keeps its own weights.
      report = warm_start_lib.warm_start(
          model, config.warm_start_from, optimizer if config.warm_start_optimizer else None)
      logging.info("%s", report.summary())
      return report
    return None

  def start(self, problems: Mapping, specs: Mapping, data_dir: str,
            warm_start_report: Optional[warm_start_lib.WarmStartReport]) -> None:
    """At the start of training (chief only): removes what a killed save left, writes
    problems.json and the warm start's report."""
    if not self.chief:
      return
    for orphan in checkpoints.remove_orphans(self.checkpoint_dir):
      logging.warning("Removed %s, left by a checkpoint save that was killed.", orphan)
    outputs.write_run_files(self.output_dir, problems, specs, data_dir)
    if warm_start_report is not None:
      warm_start_lib.write_report(self.output_dir, warm_start_report)

  def save_checkpoint(self, step: int) -> None:
    """Saves ckpt-<step>; a write the disk refuses removes what it left and raises one line
    (errors.StorageError) naming the path, with the checkpoints before it intact."""
    try:
      self.checkpoint_manager.save(checkpoint_number=step)
    except (OSError, tf.errors.OpError) as e:
      prefix = os.path.join(self.checkpoint_dir, f"ckpt-{step}")
      checkpoints.remove_partial(prefix)
      kept = self.checkpoint_manager.latest_checkpoint
      raise errors.storage_error(
          prefix, e, f"the checkpoints before it are intact (newest: {kept})." if kept
          else "no checkpoint was written.") from e

  def save_best(self, step: int) -> str:
    """Writes the model as checkpoints/best/ckpt-<step> (only the newest best is kept);
    returns its prefix relative to the run folder."""
    if self._best_manager is None:
      self._best_manager = tf.train.CheckpointManager(
          tf.train.Checkpoint(**checkpoints.model_items(self.model)),
          os.path.join(self.output_dir, best_lib.BEST_DIR), max_to_keep=1)
    prefix = self._best_manager.save(checkpoint_number=step)
    return os.path.relpath(prefix, self.output_dir)

  def write_eval_results(self, step: int, results: Mapping, samples: Mapping) -> None:
    """eval_results.json (chief only)."""
    if self.chief:
      outputs.write_eval_results(self.output_dir, step, results, samples)

  def summary_writer(self, kind: str):
    """The summary writer of output_dir/<kind> ("train", "eval"); a no-op one off the chief."""
    if kind not in self._writers:
      self._writers[kind] = (tf.summary.create_file_writer(os.path.join(self.output_dir, kind))
                             if self.chief else tf.summary.create_noop_writer())
    return self._writers[kind]

  def write_summaries(self, kind: str, step: int, scalars: Mapping[str, float],
                      texts: Sequence[Tuple[str, str]] = ()) -> None:
    """Writes scalars and (tag, text) pairs at `step` to output_dir/<kind>."""
    writer = self.summary_writer(kind)
    with writer.as_default(step=step):
      for tag, value in scalars.items():
        tf.summary.scalar(tag, value)
      for tag, text in texts:
        tf.summary.text(tag, text)
    if kind == "eval":  # Flushed at once: evaluations are rare and read while training runs.
      writer.flush()
