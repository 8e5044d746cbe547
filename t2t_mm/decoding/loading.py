"""Everything a decoder needs, loaded from a trainer's output_dir alone.

    run = load_for_decoding(output_dir)   # hparams.json, problems.json, latest checkpoint
    run.model, run.hparams, run.specs, run.problems, run.checkpoint
    run.vocab_dir                         # vocabularies: the run's copies (RUN/vocab)
    run.data_dir                          # the data: as recorded, or the one given

The model is built as the trainer builds it (registry.model(hparams.model) with the specs the
trainer saved) and its variables restored by t2t_mm/runs/checkpoints.py.
"""

import dataclasses
import os
from typing import Dict, Mapping, Optional


from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.runs import gin_config
from t2t_mm.runs import resolve
from t2t_mm.config.hparams import HParams
from t2t_mm.data.spec import ProblemSpec
from t2t_mm.models import memory
from t2t_mm.runs import best
from t2t_mm.runs import checkpoints
from t2t_mm.runs import outputs
from t2t_mm.runs import run_vocab
from t2t_mm.utils import fs

CHECKPOINT_DIR = checkpoints.CHECKPOINT_DIR


@dataclasses.dataclass
class LoadedRun:
  model: object
  hparams: HParams
  specs: Dict[str, ProblemSpec]
  problems: Dict[str, object]
  data_dir: str  # Only evaluation reads it: decoding needs the run folder alone.
  checkpoint: Optional[str]
  vocab_dir: str = ""  # Where problems read their vocabularies (run_vocab.vocab_dir).
  output_dir: str = ""

  def check_problem(self, name: str) -> str:
    """`name` if this run was trained on it; else an UnknownNameError with close names."""
    if name not in self.specs:
      raise errors.UnknownNameError(
          f"Unknown problem '{name}'.{errors.did_you_mean(name, self.specs)} This model "
          f"was trained on: {', '.join(self.specs)}.")
    return name


def restore_checkpoint(model, output_dir: str, checkpoint: Optional[str] = None) -> str:
  """Restores `checkpoint`, or the newest readable one of `output_dir`; returns its path.

  Damaged checkpoints of the run are skipped with a warning naming them.
  """
  if checkpoint == "best":
    checkpoint = best.best_checkpoint(output_dir)
  if checkpoint:
    checkpoints.restore_model(model, checkpoint)
    return checkpoint
  directory = os.path.join(output_dir, CHECKPOINT_DIR)
  restored = checkpoints.restore_newest(directory,
                                        lambda prefix: checkpoints.restore_model(model, prefix))
  if not restored:
    raise errors.DataError(f"No checkpoint in {directory}: train first (mm-trainer "
                           "--output_dir=...).")
  return restored


def open_run(output_dir: str, gin_files=(), gin_params=(), hparams_overrides: str = "",
             checkpoint: Optional[str] = None, data_dir: Optional[str] = None) -> LoadedRun:
  """load_for_decoding after output_dir's saved gin config (then `gin_files`, `gin_params`) is
  parsed."""
  gin_config.setup(output_dir, gin_files, gin_params)
  return load_for_decoding(output_dir, hparams_overrides, checkpoint, data_dir=data_dir)


def load_for_decoding(output_dir: str, hparams_overrides: str = "",
                      checkpoint: Optional[str] = None,
                      problems: Optional[Mapping[str, object]] = None,
                      data_dir: Optional[str] = None) -> LoadedRun:
  """Loads hparams, problems and the latest (or given) checkpoint of `output_dir`.

  `problems` maps names to Problem objects; by default each is registry.problem(name).
  `data_dir` replaces the recorded one (the data moved); vocabularies come from the run.
  """
  if not fs.isdir(output_dir):
    raise errors.DataError(f"--output_dir={output_dir} is not a folder.")
  hp, _ = resolve.resolve_hparams(None, hparams_overrides, output_dir)
  saved = outputs.read_run_problems(output_dir)
  run_vocab.check_copies(output_dir, saved)
  specs = {e["name"]: ProblemSpec.from_dict(e["spec"]) for e in saved["problems"]}
  if problems is None:
    try:
      problems = {name: registry.problem(name) for name in specs}
    except errors.UnknownNameError as e:
      raise errors.UnknownNameError(
          f"{e} The run {output_dir} was trained on {', '.join(specs)}: load the plugin that "
          "registers them (--usr_dir=FOLDER), or install its package.") from e
  missing = sorted(set(specs) - set(problems))
  if missing:
    raise errors.ConfigError(f"No Problem object for {missing} (trained in {output_dir}).")
  memory.check_fits(registry.model(hp.model), hp, specs.values(), training=False,
                    what=f"The run {output_dir} (hparams.json, problems.json)")
  model = registry.model(hp.model)(hparams=hp, specs=list(specs.values()))
  checkpoint = restore_checkpoint(model, output_dir, checkpoint)
  return LoadedRun(model, hp, specs, dict(problems), data_dir or saved["data_dir"], checkpoint,
                   run_vocab.vocab_dir(output_dir, saved), output_dir)
