"""The Python API: what the mm-* tools call, with arguments named as their flags.

    from t2t_mm import api
    api.datagen(problem="all8_mini", data_dir="data", tmp_dir="raw")
    api.train(problems="all8_mini", hparams_set="multimodel_tiny", hparams={"hidden_size": 64},
              data_dir="data", output_dir="runs/a", train_steps=2000)
    api.evaluate(output_dir="runs/a", split="test")          # .results, .path
    api.export(output_dir="runs/a", export_dir="runs/a/export")
    api.average_checkpoints(output_dir="runs/a", to="runs/a_avg", num_last=5)
    run = api.load_run("runs/a")
    run.decode("wmt_ende_mini", "The cat reads a book .")      # -> "Die Katze liest ..."
    run.decode("image_scenes_mini", ["a.png", png_bytes])      # a list decodes as a batch
    run.score("wmt_ende_mini", "The cat .", "Die Katze .")     # -> log P(target | input)

hparams and decode_hparams are a string ('hidden_size=64') or a dict. Errors are the library's
typed errors (t2t_mm.errors.T2TMMError), never SystemExit. A run's plugin folders are imported
as the tools import them: only folders this user trusted (t2t_mm/plugins.py); `usr_dir` names
one to import (and trust) instead.
"""

import dataclasses
import os
import sys
from typing import Dict, List, Mapping, Optional, Sequence, Union

from t2t_mm import errors
from t2t_mm import plugins
from t2t_mm import registry
from t2t_mm.config import paths
from t2t_mm.config.data_config import DataConfig
from t2t_mm.config import input_limits as input_limits_lib
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.config.trainer_config import TrainerConfig
from t2t_mm.data import datagen as datagen_lib
from t2t_mm.decoding import export as export_lib
from t2t_mm.decoding import inputs as inputs_lib
from t2t_mm.decoding import loading
from t2t_mm.decoding import scoring
from t2t_mm.decoding import session as session_lib
from t2t_mm.eval import full_split
from t2t_mm.eval import records
from t2t_mm.runs import averaging
from t2t_mm.runs import gin_config
from t2t_mm.runs import outputs
from t2t_mm.runs import resolve
from t2t_mm.training import job as job_lib

Settings = Union[str, Mapping[str, object]]
Input = Union[str, bytes, os.PathLike]


def load_plugins(output_dir: Optional[str] = None, usr_dir: Optional[str] = None) -> List[str]:
  """Imports `usr_dir` (trusting it), else the plugins output_dir's run was trained with;
  returns the run's folders imported."""
  if usr_dir:
    plugins.import_usr_dir(usr_dir)
    return []
  if output_dir:
    return outputs.load_run_plugins(output_dir)
  return []


def datagen(problem: Union[str, Sequence[str]], data_dir: str, tmp_dir: str = paths.DEFAULT_TMP_DIR,
            max_cases: Optional[int] = None, hparams_set: str = "multimodel_tiny",
            hparams: Settings = "", gin_files: Sequence[str] = (), gin_params: Sequence[str] = (),
            usr_dir: Optional[str] = None, progress: bool = False, num_workers: int = 1,
            parallel_min_examples: int = 20_000, out=sys.stderr) -> Dict[str, float]:
  """Generates shards and vocabularies of `problem` (names, suites, globs; a comma list or a
  list) into data_dir; reports lengths against `hparams_set`'s length limits. Returns seconds
  each."""
  load_plugins(usr_dir=usr_dir)
  if not problem:
    raise errors.ConfigError("--problem is required, e.g. --problem=all8_mini.")
  names = registry.expand_problem_names(problem if isinstance(problem, str)
                                        else ",".join(problem))
  if not data_dir:
    raise errors.ConfigError("--data_dir is required: the folder to write shards and vocabs to.")
  length_hparams, _ = resolve.resolve_hparams(hparams_set, hparams, None)
  gin_config.setup(None, gin_files, gin_params)
  return datagen_lib.generate(names, data_dir, tmp_dir, max_cases=max_cases, progress=progress,
                              num_workers=num_workers,
                              parallel_min_examples=parallel_min_examples,
                              length_limits=DataConfig.from_hparams(length_hparams),
                              length_limits_name=hparams_set,
                              out=out)


def train(problems: Optional[Union[str, Sequence[str]]] = None,
          hparams_set: Optional[str] = None, hparams: Settings = "",
          data_dir: Optional[str] = None, output_dir: Optional[str] = None,
          train_steps: int = 1000, usr_dir: Optional[str] = None, stream=sys.stdout,
          **options) -> Dict[str, Dict[str, float]]:
  """Trains (or resumes) the run in output_dir; returns per-problem dev metrics. `options`:
  the fields of t2t_mm.config.trainer_config.TrainerConfig (eval_every, best_metric, ...;
  None: gin's binding or the default) and the other fields of
  t2t_mm.training.job.TrainOptions (gin_params, distribution, ...)."""
  load_plugins(output_dir, usr_dir)  # Resuming without usr_dir: the run's own plugins.
  settings = [f.name for f in dataclasses.fields(TrainerConfig)]
  known = set(settings) | {f.name for f in dataclasses.fields(job_lib.TrainOptions)} - {"trainer"}
  unknown = sorted(set(options) - known)
  if unknown:
    raise errors.ConfigError(f"train(): unknown argument {unknown[0]}."
                             f"{errors.did_you_mean(unknown[0], known)}")
  trainer = {k: options.pop(k) for k in settings if k in options}
  if problems is not None and not isinstance(problems, str):
    problems = ",".join(problems)
  return job_lib.train_run(job_lib.TrainOptions(
      problems=problems, hparams_set=hparams_set, hparams=hparams, data_dir=data_dir,
      output_dir=output_dir, train_steps=train_steps, trainer=trainer, **options),
      stream=stream)


def average_checkpoints(output_dir: str, to: str, num_last: int = 5,
                        gin_files: Sequence[str] = (), gin_params: Sequence[str] = (),
                        usr_dir: Optional[str] = None) -> List[str]:
  """Writes the mean of the run's `num_last` newest checkpoints as a run of its own in `to`
  (mm-avg-checkpoints); returns the checkpoints averaged, newest first."""
  _require(output_dir)
  load_plugins(output_dir, usr_dir)
  averaging.check_target(output_dir, to)
  prefixes = averaging.last_checkpoints(output_dir, num_last)
  run = loading.open_run(output_dir, gin_files, gin_params, checkpoint=prefixes[0])
  averaging.average_into(run.model, prefixes)
  averaging.write_run(run.model, output_dir, prefixes, to)
  return prefixes


@dataclasses.dataclass
class Evaluation:
  results: Dict[str, Dict[str, object]]  # Per problem: metrics, signatures, hypotheses, ...
  path: str  # RUN/eval/<name>: <name>.json and one <name>.<problem>.txt per problem.


def evaluate(output_dir: str, split: str = "dev", problems: Optional[Sequence[str]] = None,
             decode_hparams: Settings = "", checkpoint_path: Optional[str] = None,
             average_last: int = 0, data_dir: Optional[str] = None,
             gin_files: Sequence[str] = (), gin_params: Sequence[str] = (),
             usr_dir: Optional[str] = None, progress: bool = False) -> Evaluation:
  """Evaluates the run on the whole `split` (data: data_dir, default the run's recorded one);
  writes RUN/eval/<name>.json and the hypotheses, listed in RUN/eval/index.json."""
  _require(output_dir)
  load_plugins(output_dir, usr_dir)
  dhp = resolve.resolve_decode_hparams(decode_hparams)
  if split not in ("dev", "test"):
    raise errors.ConfigError(f"--split={split}: expected dev or test.")
  if average_last and checkpoint_path:
    raise errors.ConfigError("Pass --checkpoint_path or --average_last, not both.")
  if average_last < 0:
    raise errors.ConfigError(f"--average_last must be >= 0, got {average_last}.")
  out_dir = os.path.join(output_dir, "eval")
  records.check_index(out_dir)  # A damaged index refuses now, not after the decoding.
  prefixes = averaging.last_checkpoints(output_dir, average_last) if average_last else None
  run = loading.open_run(output_dir, gin_files, gin_params,
                         checkpoint=prefixes[0] if prefixes else checkpoint_path,
                         data_dir=data_dir)
  names = list(problems or run.specs)
  for name in names:
    run.check_problem(name)
  full_split.check_data(run, names)  # Before averaging and tracing (minutes).
  if prefixes:
    averaging.average_into(run.model, prefixes)
  used = prefixes or [run.checkpoint]
  averaged = len(prefixes) if prefixes else 0
  name = records.evaluation_name(split, used, names, dhp, output_dir, averaged,
                                 best=checkpoint_path == "best")
  results = full_split.evaluate_run(run, split, names, dhp, out_dir, name, used,
                                    progress=progress)
  records.add_to_index(out_dir, records.index_entry(name, split, names, dhp, used, averaged))
  return Evaluation(results, os.path.join(out_dir, name))


def export(output_dir: str, export_dir: Optional[str] = None,
           problems: Optional[Sequence[str]] = None, decode_hparams: Settings = "",
           checkpoint_path: Optional[str] = None, gin_files: Sequence[str] = (),
           gin_params: Sequence[str] = (), usr_dir: Optional[str] = None,
           allow_ids_only: bool = False, input_limits: Settings = "") -> str:
  """Writes the run's SavedModel (default: RUN/export); returns its folder. Its string
  signatures refuse inputs over `input_limits` (InputLimits overrides). A problem with no
  in-graph string conversions is a ConfigError unless `allow_ids_only` (export_run)."""
  _require(output_dir)
  load_plugins(output_dir, usr_dir)
  dhp = resolve.resolve_decode_hparams(decode_hparams)
  limits = input_limits_lib.resolve(input_limits)
  export_dir = export_dir or os.path.join(output_dir, "export")
  outputs.check_output_path(output_dir, export_dir, "--export_dir")
  export_lib.check_export_dir(export_dir)  # Before the model loads and traces (minutes).
  run = loading.open_run(output_dir, gin_files, gin_params, checkpoint=checkpoint_path)
  return export_lib.export_run(run, export_dir, dhp, list(problems or run.specs),
                               allow_ids_only=allow_ids_only, input_limits=limits)


class Run:
  """A trained run loaded for decoding and scoring (see load_run)."""

  def __init__(self, loaded: loading.LoadedRun, dhp: DecodeHParams,
               input_limits: InputLimits = InputLimits()):
    self.loaded = loaded
    self.session = session_lib.DecodeSession(loaded, dhp, input_limits=input_limits)

  @property
  def problems(self) -> List[str]:
    return list(self.loaded.specs)

  def input_kind(self, problem: str) -> str:
    """What `problem` reads: "text", "image" or "audio" (the kinds of its preprocessor)."""
    return self._preprocessor(self.loaded.check_problem(problem)).request_kind

  def _preprocessor(self, problem: str):
    return inputs_lib.preprocessor(self.loaded.problems[problem], self.loaded.specs[problem],
                                   self.loaded.vocab_dir, self.loaded.hparams,
                                   self.session._vocab(problem, "input"),
                                   self.session.input_limits)

  def _encode(self, problem: str, value: Input):
    pre = self._preprocessor(problem)
    kind = pre.request_kind
    if kind == "text":
      if not isinstance(value, str):
        raise errors.DataError(f"Problem '{problem}' reads text: give a str, not "
                               f"{type(value).__name__}.")
      inputs_lib.check_length(value, self.session.input_limits.max_input_chars)
      return self.session.encode(inputs_lib.Request("text", value), problem)
    if isinstance(value, (bytes, bytearray)):
      return pre.read_bytes(bytes(value), f"{kind} bytes")  # The same bounds as a file's.
    if isinstance(value, (str, os.PathLike)):
      path = os.path.expanduser(os.fspath(value))
      return self.session.encode(inputs_lib.Request(kind, path), problem)
    raise errors.DataError(f"Problem '{problem}' reads {kind}s: give a file's bytes or its "
                           f"path, not {type(value).__name__}.")

  def decode(self, problem: str, inputs: Union[Input, Sequence[Input]]):
    """The best hypothesis for `inputs` (text for text problems; a file's bytes or path for
    images and WAV audio): a str, or for a list one str per input, decoded in batches of the
    decode hparam batch_size."""
    self.loaded.check_problem(problem)
    single = not isinstance(inputs, (list, tuple))
    items = [inputs] if single else list(inputs)
    texts = []
    size = self.session.dhp.batch_size
    for start in range(0, len(items), size):
      examples = [self._encode(problem, x) for x in items[start:start + size]]
      texts += [h[0].text for h in self.session.decode_batch(examples, problem)]
    return texts[0] if single else texts

  def hypotheses(self, problem: str, value: Input, decode_hparams: Settings = "",
                 attention: bool = False) -> List[session_lib.Hypothesis]:
    """Every hypothesis of one input, best first, with its score: beam_size of them for beam
    search and for class labels (whose scores are log-probabilities), one otherwise.
    `decode_hparams` override the run's search settings for this call; the input limits stay
    the run's (an input limit among them is a ConfigError). attention=True (beam_size 1, or a
    class-label problem) sets the best hypothesis's `.attention` (a session.Attention: per
    layer and output token, the weights over the input positions, from the cached decode)."""
    self.loaded.check_problem(problem)
    dhp = self.session.dhp.with_overrides(decode_hparams)
    return self.session.decode_batch([self._encode(problem, value)], problem, dhp,
                                     attention=attention)[0]

  def score(self, problem: str, inputs: Union[Input, Sequence[Input]],
            targets: Union[str, Sequence[str]]):
    """log P(target | input) of each pair (natural log, EOS included for text): a float, or
    for lists one float per pair."""
    self.session.problem = self.loaded.check_problem(problem)
    single = not isinstance(inputs, (list, tuple))
    items = [inputs] if single else list(inputs)
    wanted = [targets] if single else list(targets)
    if len(items) != len(wanted):
      raise errors.ConfigError(f"score(): {len(items)} inputs but {len(wanted)} targets.")
    totals = []
    size = self.session.dhp.batch_size
    for start in range(0, len(items), size):
      examples = [self._encode(problem, x) for x in items[start:start + size]]
      ids = [scoring.target_ids(self.session, t) for t in wanted[start:start + size]]
      totals += scoring.log_probs(self.session, examples, ids)
    return totals[0] if single else totals


def load_run(output_dir: str, checkpoint_path: Optional[str] = None,
             decode_hparams: Settings = "", hparams: Settings = "",
             gin_files: Sequence[str] = (), gin_params: Sequence[str] = (),
             usr_dir: Optional[str] = None, input_limits: Settings = "") -> Run:
  """The run in output_dir (its own folder alone: hparams, problems, vocabularies, checkpoint)
  ready to decode and score, searching by `decode_hparams` and refusing inputs over
  `input_limits` (InputLimits overrides, e.g. "max_image_bytes=5000000")."""
  _require(output_dir)
  load_plugins(output_dir, usr_dir)
  dhp = resolve.resolve_decode_hparams(decode_hparams)
  limits = input_limits_lib.resolve(input_limits)
  return Run(loading.open_run(output_dir, gin_files, gin_params, hparams, checkpoint_path), dhp,
             limits)


def _require(output_dir: Optional[str]) -> None:
  if not output_dir:
    raise errors.ConfigError("--output_dir is required: the folder the trainer wrote.")
