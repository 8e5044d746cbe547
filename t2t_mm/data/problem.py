"""Problem: where a dataset comes from, how it is encoded, and how it is read back.

    p = registry.problem("wmt_ende_mini")           # or "wmt_ende_mini_rev" (DE -> EN)
    p.generate_data(data_dir, tmp_dir)              # shards + vocab files in data_dir
    p.spec(data_dir)                                # ProblemSpec for the model
    ds = p.dataset("train", data_dir, DataConfig.from_hparams(hp))  # batched {"inputs", ...}
    p.target_vocab(data_dir).decode(ids)            # text of predicted ids

A subclass declares its modalities, vocabularies (registered names or Vocabulary objects), target
space and metrics as class attributes and implements three hooks over raw examples:

    split_size(split, tmp_dir) -> int              examples in the split
    examples(split, tmp_dir, start, stop)          yields dicts {"inputs": x, "targets": y}
    check_raw_data(tmp_dir)                        raises DataError with instructions if missing

Raw values by modality: symbol -> str; image -> uint8 [H, W, 3] array or PNG/JPEG bytes;
audio -> float array in [-1, 1] or int16 array at `sample_rate`; class_label -> int.
Shards store text, not ids (tokenization happens in tf.data), so one vocab serves every problem
that shares it. `_rev` variants (was_reversed=True) of text-to-text problems read the same
shards with inputs and targets swapped.
"""

from __future__ import annotations

import json
import os
from typing import (Callable, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple,
                    runtime_checkable)

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config.data_config import DataConfig
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.data import lengths
from t2t_mm.data import pipeline
from t2t_mm.data import preprocessors
from t2t_mm.data import shards
from t2t_mm.data import vocabularies
from t2t_mm.data.spec import ProblemSpec, TargetSpace
from t2t_mm.utils.lazy import tf
from t2t_mm.utils import fs

MODES = ("train", "dev", "test")


class Problem:
  """Base class of registered problems.

  Args:
    was_reversed: swap inputs and targets (only for text-to-text problems).
  """

  input_modality: str = "symbol"
  target_modality: str = "symbol"
  # Per side, a registered vocabulary name or a Vocabulary object; None for images and audio
  # (t2t_mm/data/vocabularies.py resolves them).
  input_vocab_name: vocabularies.Declared = "subword"
  target_vocab_name: vocabularies.Declared = "subword"
  target_space: TargetSpace = TargetSpace.GENERIC
  # The command token of the `_rev` variant (the inputs' language, e.g. TO_ENGLISH).
  reversed_target_space: TargetSpace = TargetSpace.GENERIC
  metrics: Tuple[str, ...] = ("accuracy",)
  sample_rate: Optional[int] = None
  image_size: Optional[Tuple[int, int]] = None
  # Audio is counted in frames of 10 ms (the spectral modality's step): max_input_length
  # frames, or `max_audio_seconds` when the problem sets it.
  max_audio_seconds: Optional[float] = None
  class_labels: Sequence[str] = ()
  splits: Tuple[str, ...] = MODES
  subword_vocab_file: str = "vocab.subword.model"  # In data_dir; shared by language problems.
  shuffle_buffer: int = 4096

  def __init_subclass__(cls, **kwargs):
    super().__init_subclass__(**kwargs)
    # The old name would be ignored silently: the _rev variant would lose its command token.
    if "input_space" in vars(cls):
      raise errors.ConfigError(
          f"Problem class {cls.__name__} sets 'input_space', which is now called "
          "'reversed_target_space' (the target space of its _rev variant); rename it.")

  def __init__(self, was_reversed: bool = False):
    self.was_reversed = bool(was_reversed)
    if self.was_reversed and not self.is_text_to_text:
      raise errors.ConfigError(
          f"Problem '{self.base_name}' has no _rev variant: only text-to-text problems can be "
          f"reversed (its modalities are {self.input_modality} -> {self.target_modality}).")

  # --- Identity -------------------------------------------------------------------------------

  @property
  def base_name(self) -> str:
    return registry.registered_name(type(self)) or registry.default_name(type(self))

  @property
  def name(self) -> str:
    return self.base_name + ("_rev" if self.was_reversed else "")

  @property
  def data_name(self) -> str:
    """Prefix of the shard files (a `_rev` variant reads its base problem's shards)."""
    return self.base_name

  @property
  def is_text_to_text(self) -> bool:
    return self.input_modality == "symbol" and self.target_modality == "symbol"

  def config(self) -> Dict[str, object]:
    """Settings that change the generated data; stored beside each shard to detect changes."""
    return {}

  # --- Hooks of subclasses --------------------------------------------------------------------

  def check_raw_data(self, tmp_dir: str) -> None:
    """Raises errors.DataError saying what to fetch and where, if raw data is missing."""

  def split_size(self, split: str, tmp_dir: str) -> int:
    raise NotImplementedError

  def examples(self, split: str, tmp_dir: str, start: int, stop: int) -> Iterator[dict]:
    raise NotImplementedError

  examples_per_shard: int = 100_000

  def num_shards(self, split: str, num_examples: int) -> int:
    """Shards of a split of `num_examples` (default: one per `examples_per_shard`)."""
    return max(1, -(-num_examples // self.examples_per_shard))

  def build_vocabs(self, data_dir: str, tmp_dir: str) -> None:
    """Writes the vocab files this problem needs into data_dir (if not there yet): by default
    those of the declared vocabularies (t2t_mm/data/vocabularies.py) its sides name."""
    sides = {vocabularies.vocab_name(d, self): d
             for d in (self.input_vocab_name, self.target_vocab_name)}
    for declared in sides.values():
      vocabularies.build(declared, self, data_dir, tmp_dir)

  # --- Vocabularies ---------------------------------------------------------------------------

  def datagen_command(self, data_dir: str) -> str:
    """The command that (re)makes this problem's files in data_dir."""
    return f"mm-datagen --problem={self.data_name} --data_dir={data_dir}"

  def _vocab(self, declared: vocabularies.Declared, data_dir: str):
    try:
      return vocabularies.resolve(declared, self, data_dir)
    except errors.DataError as e:
      # Datagen reuses a vocabulary file that exists, so a damaged one must go first.
      path = getattr(e, "path", None)
      todo = (f"Delete {path}, then remake it" if path and fs.exists(path) else "Make it")
      raise errors.DataError(f"{e} Problem '{self.name}' needs it. {todo}: "
                             f"`{self.datagen_command(data_dir)}`.") from e

  def input_vocab(self, data_dir: str):
    """The vocabulary of the inputs (None for images and audio)."""
    name = self.target_vocab_name if self.was_reversed else self.input_vocab_name
    return self._vocab(name, data_dir)

  def target_vocab(self, data_dir: str):
    """The vocabulary of the targets: decode(model ids) -> text or class name."""
    name = self.input_vocab_name if self.was_reversed else self.target_vocab_name
    return self._vocab(name, data_dir)

  vocab = target_vocab

  # --- Spec -----------------------------------------------------------------------------------

  def spec(self, data_dir: str) -> ProblemSpec:
    return self._spec(self.input_vocab(data_dir), self.target_vocab(data_dir))

  def _spec(self, in_vocab, out_vocab) -> ProblemSpec:
    return ProblemSpec(
        name=self.name,
        input_modality=self.input_modality,
        target_modality=self.target_modality,
        target_space=self.reversed_target_space if self.was_reversed else self.target_space,
        target_vocab=out_vocab.name,
        target_vocab_size=out_vocab.vocab_size,
        input_vocab=in_vocab.name if in_vocab is not None else None,
        input_vocab_size=in_vocab.vocab_size if in_vocab is not None else None,
        metrics=tuple(self.metrics),
        sample_rate=self.sample_rate,
        image_size=tuple(self.image_size) if self.image_size else None,
        audio_frame_step=self.audio_frame_step,
        max_audio_seconds=self.max_audio_seconds)

  @property
  def audio_frame_step(self) -> int:
    """Samples per 10 ms frame at the problem's sample rate (160 at 16 kHz)."""
    return max(1, int(round(0.010 * self.sample_rate))) if self.sample_rate else 160

  # --- Generation -----------------------------------------------------------------------------

  def _serialize(self, ex: dict) -> bytes:
    feats = {}
    for key, modality in (("inputs", self.input_modality), ("targets", self.target_modality)):
      if key not in ex:
        raise errors.DataError(f"Problem '{self.name}': an example has no '{key}'.")
      feats[key] = registry.preprocessor(modality).to_feature(ex[key])
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString(
        deterministic=True)  # Map order would otherwise vary with the hash seed.

  def plan(self, data_dir: str, tmp_dir: str,
           max_cases: Optional[int] = None) -> List[shards.ShardTask]:
    """The shards generate_data writes (finished ones included); clears stale files first."""
    tasks = []
    for split in self.splits:
      n = self.split_size(split, tmp_dir)
      if max_cases is not None:
        n = min(n, max_cases)
      key = json.dumps({"config": self.config(), "num_examples": n}, sort_keys=True)
      num_shards = self.num_shards(split, n)
      shards.prepare_split(data_dir, self.data_name, split, num_shards)
      tasks += [shards.ShardTask(self.data_name, split, i, num_shards, n, key)
                for i in range(num_shards)]
    return tasks

  def write_shard(self, data_dir: str, tmp_dir: str, task: shards.ShardTask,
                  on_example: Optional[Callable[[], None]] = None) -> int:
    """Writes one planned shard unless it is finished; returns its example count."""

    def make(start, stop):
      return (self._serialize(ex) for ex in self.examples(task.split, tmp_dir, start, stop))

    return shards.write_task(data_dir, task, make, on_example)

  def generate_data(self, data_dir: str, tmp_dir: str, max_cases: Optional[int] = None,
                    on_example: Optional[Callable[[], None]] = None) -> None:
    """Writes vocab files and the shards of every split; finished shards are skipped. Then the
    train lengths are measured and saved (t2t_mm/data/lengths.py) when a shard was written or
    none were saved, as mm-datagen does: the trainer's truncation warning reads them.

    Args:
      max_cases: at most this many examples per split (for COCO: images).
      on_example: called after each example (progress reporting).
    """
    self.check_raw_data(tmp_dir)
    self.build_vocabs(data_dir, tmp_dir)
    tasks = self.plan(data_dir, tmp_dir, max_cases)
    written = [t for t in tasks if not shards.is_finished(
        shards.shard_path(data_dir, t.name, t.split, t.index, t.num_shards), t.key)]
    for task in tasks:
      self.write_shard(data_dir, tmp_dir, task, on_example)
    if written or lengths.load(self, data_dir) is None:
      lengths.save(self, data_dir, lengths.measure(self, data_dir))

  def has_data(self, data_dir: str) -> bool:
    """Whether data_dir holds this problem's shards (False if none; DataError if broken)."""
    if not fs.glob(os.path.join(data_dir, f"{fs.glob_escape(self.data_name)}-*-of-*")):
      return False
    for split in self.splits:
      shards.split_paths(data_dir, self.data_name, split)  # Raises on missing or broken.
    return True

  def num_examples(self, mode: str, data_dir: str) -> int:
    return shards.count_examples(shards.split_paths(data_dir, self.data_name, _split(mode)))

  # --- Reading --------------------------------------------------------------------------------

  def preprocessors(self, data_dir: str, config, input_limits: InputLimits = InputLimits()):
    """(inputs, targets) Preprocessors of this problem: training, decoding and export all
    convert its values through them (t2t_mm/data/preprocessors/). `config`: a DataConfig
    (or HParams, converted); `input_limits` bound what users give (decoding, serving)."""
    config = DataConfig.from_hparams(config)
    in_vocab, out_vocab = self.input_vocab(data_dir), self.target_vocab(data_dir)
    spec = self._spec(in_vocab, out_vocab)  # Each vocabulary file is read once.
    return (preprocessors.for_side(spec, "inputs", in_vocab, config.max_input_length,
                                   input_limits),
            preprocessors.for_side(spec, "targets", out_vocab, config.max_target_length,
                                   input_limits))

  def dataset(self, mode: str, data_dir: str, config, shuffle: bool = True,
              seed: Optional[int] = None, num_shards: int = 1,
              shard_index: int = 0, order: Optional[str] = None) -> tf.data.Dataset:
    """Batched examples of `mode` (shapes and dtypes: t2t_mm/data/spec.py).

    `config` is a DataConfig (t2t_mm/config/data_config.py; HParams are converted).
    Symbol sequences are truncated to config.max_input_length / max_target_length tokens
    (EOS kept last), audio to max_input_length frames of `audio_frame_step` samples; nothing
    is dropped, so a train pipeline can never stall on a filter that rejects everything.
    Train data is shuffled (seeded by `seed`, else config.seed), repeats forever and is
    bucketed by length into batches of exactly config.batch_size, or with config.batch_tokens
    bucketed by input and target length into batches of about that many positions
    (pipeline.batch_by_cells); with config.static_shapes each side is bucketed by its own
    length and padded to its bucket's longest, so batches take a bounded set of shapes (XLA,
    TPUs). Dev/test data is read once, in order, in batches of up to config.batch_size.

    order: how an evaluation reads dev/test data (check_order): each example carries its
      "index" in the split, in batches of the split's order ("split") or of similar lengths
      ("length": less padding, fewer decode steps). None: as above, no "index".
    """
    config = DataConfig.from_hparams(config)
    train = _split(mode) == "train"
    check_order(order, mode)
    ds, pre_in, pre_out = self.examples_dataset(mode, data_dir, config, shuffle, seed,
                                                num_shards, shard_index)
    if order:
      ds = with_index(ds)
    batch_size = config.batch_size
    static = train and config.static_shapes and not (pre_in.fixed_shape and pre_out.fixed_shape)
    tokens = 0 if pre_in.fixed_shape else config.batch_tokens  # Images keep batch_size.
    if train and (tokens or static):
      def lengths(ex):
        return pre_in.length(ex["inputs"]), pre_out.length(ex["targets"])
      # Token batches of text pad both sides to their cell (one shape per (input, target)
      # cell), as do batches of static shape for every modality.
      pads = ((pre_in.padded_size, pre_out.padded_size)
              if static or self.input_modality == "symbol" else (None, None))
      ds = pipeline.batch_by_cells(
          ds, lengths, (pre_in.max_length, pre_out.max_length),
          batch_tokens=tokens, batch_size=0 if tokens else batch_size,
          pad_sizes=pads, bucket_step=config.length_bucket_step)
    elif pre_in.fixed_shape:  # Images: stacked; variable targets (captions) padded.
      ds = (ds.batch(batch_size, drop_remainder=train) if pre_out.fixed_shape
            else ds.padded_batch(batch_size, drop_remainder=train))
    else:
      def length(ex):
        return tf.maximum(pre_in.length(ex["inputs"]), pre_out.length(ex["targets"]))
      ds = pipeline.batch_by_length(
          ds, length, batch_size, max(pre_in.max_length, pre_out.max_length), train,
          bucket_step=config.length_bucket_step, bucket=train or order == "length")
    return pipeline.with_autotune(ds.prefetch(pipeline.AUTOTUNE), config.autotune)

  def examples_dataset(self, mode: str, data_dir: str, config, shuffle: bool = True,
                       seed: Optional[int] = None, num_shards: int = 1, shard_index: int = 0):
    """(unbatched examples of `mode`, inputs Preprocessor, targets Preprocessor): what
    dataset() batches; the same arguments."""
    config = DataConfig.from_hparams(config)
    split = _split(mode)
    if not 0 <= shard_index < num_shards:
      raise errors.ConfigError(f"shard_index={shard_index} is not in 0..{num_shards - 1}.")
    train = split == "train"
    seed = config.seed if seed is None else seed
    paths = shards.split_paths(data_dir, self.data_name, split)
    ds = pipeline.read_records(paths, train, shuffle, seed, num_shards, shard_index)
    if train and shuffle:
      ds = ds.shuffle(self.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    pre_in, pre_out = self.preprocessors(data_dir, config)
    space = int(self.reversed_target_space if self.was_reversed else self.target_space)
    stored_in, stored_out = (("targets", "inputs") if self.was_reversed
                             else ("inputs", "targets"))
    description = {stored: tf.io.FixedLenFeature([], getattr(tf, pre.stored_dtype))
                   for stored, pre in ((stored_in, pre_in), (stored_out, pre_out))}

    def parse_batch(records):
      raw = tf.io.parse_example(records, description)
      return {"inputs": pre_in.prepare_batch(raw[stored_in]),
              "targets": pre_out.prepare_batch(raw[stored_out])}

    def finish(ex):
      return {"inputs": pre_in.from_stored(ex["inputs"]),
              "targets": pre_out.from_stored(ex["targets"]),
              "target_space": tf.constant(space, tf.int32)}

    ds = ds.batch(256).map(parse_batch, num_parallel_calls=pipeline.AUTOTUNE).unbatch()
    ds = ds.map(finish, num_parallel_calls=pipeline.AUTOTUNE)  # Ordered: a seed reproduces.
    return ds, pre_in, pre_out


# Orders of an evaluation's batches (Problem.dataset's `order`).
ORDERS = ("split", "length")


def check_order(order: Optional[str], mode: str) -> None:
  """ConfigError unless `order` is None or an order of ORDERS for dev/test data (train data
  is read in its own, shuffled order)."""
  if order is None:
    return
  if order not in ORDERS:
    raise errors.ConfigError(f"Unknown order '{order}'; expected one of {', '.join(ORDERS)}.")
  if _split(mode) == "train":
    raise errors.ConfigError(f"order='{order}' is for dev/test data, not train.")


def with_index(ds: tf.data.Dataset) -> tf.data.Dataset:
  """Each example of `ds` with its "index" (int64) in it: where its decode goes in the split."""
  return ds.enumerate().map(lambda i, ex: dict(ex, index=i))


# Messages of tf.data errors that mean a shard's bytes are bad, not the program.
_DAMAGED_RECORD = ("corrupted record", "truncated record", "Could not parse example input")


def next_batch(iterator, problem, mode: str, data_dir: str):
  """next(iterator) over `problem.dataset(mode, data_dir, ...)`: a damaged shard met there (a
  DataLossError naming no file) becomes a DataError naming the file and the command that
  remakes it. Other errors pass unchanged."""
  try:
    return next(iterator)
  except tf.errors.OpError as e:
    damaged = damaged_data_error(problem, mode, data_dir, e)
    if damaged is None:
      raise
    raise damaged from e


def checked_batches(batches, problem, mode: str, data_dir: str) -> Iterator:
  """The elements of `batches` (a dataset of `problem`'s `mode` data), read by next_batch."""
  iterator = iter(batches)
  while True:
    try:
      batch = next_batch(iterator, problem, mode, data_dir)
    except StopIteration:
      return
    yield batch


def damaged_data_error(problem, mode: str, data_dir: str,
                       e: Exception) -> Optional[errors.DataError]:
  if not isinstance(problem, Problem) or not (
      isinstance(e, tf.errors.DataLossError)
      or any(m in (e.message or "") for m in _DAMAGED_RECORD)):
    return None  # In-memory problems have no shards; other errors are not about the data.
  split = _split(mode)
  paths = shards.split_paths(data_dir, problem.data_name, split)  # Raises on a bad size/CRC.
  damaged = []
  for path in paths:  # One read of the split: worth it once, on the way out.
    try:
      shards.verify_records(path)
    except errors.DataError:
      damaged.append(path)
  where = (", ".join(damaged) if damaged else "one of " + shards.shard_path(
      data_dir, problem.data_name, split, 0, len(paths)).replace("-00000-of-", "-*-of-"))
  detail = errors.first_line(e)
  return errors.DataError(
      f"Problem '{problem.name}': a damaged record in its {split} shard {where} ({detail}). "
      f"Delete {'those shards' if len(damaged) > 1 else 'that shard'}, then remake it: "
      f"`{problem.datagen_command(data_dir)}`.")


def has_split(problem, split: str) -> bool:
  """Whether `problem` has data of `split` (a file problem lists its own splits; an in-memory
  problem without `splits` has all three)."""
  return split in getattr(problem, "splits", MODES)


def _split(mode: str) -> str:
  if mode not in MODES:
    raise errors.ConfigError(f"Unknown mode '{mode}'; expected one of {', '.join(MODES)}.")
  return mode


@runtime_checkable
class ProblemLike(Protocol):
  """What the trainer, the evaluator and the decoder call on a problem. `Problem` has it; an
  in-memory problem (t2t_mm/testing/fake_problems.py) implements just this."""

  name: str

  def spec(self, data_dir: str) -> ProblemSpec: ...

  def dataset(self, mode: str, data_dir: str, config, shuffle: bool = True,
              seed: Optional[int] = None, num_shards: int = 1,
              shard_index: int = 0) -> "tf.data.Dataset": ...

  def has_data(self, data_dir: str) -> bool: ...

  def num_examples(self, mode: str, data_dir: str) -> int: ...

  def input_vocab(self, data_dir: str) -> Optional[vocabularies.Vocabulary]: ...

  def target_vocab(self, data_dir: str) -> vocabularies.Vocabulary: ...


# The methods of ProblemLike, which a registered problem class must have.
PROBLEM_METHODS = ("spec", "dataset", "has_data", "num_examples", "input_vocab", "target_vocab")


def _check_problem_class(obj) -> Optional[str]:
  if not isinstance(obj, type):
    return "a problem is a class; subclass t2t_mm.data.problem.Problem."
  missing = [m for m in PROBLEM_METHODS if not callable(getattr(obj, m, None))]
  if missing:
    return (f"it is not a Problem: it has no {', '.join(missing)}. Subclass "
            "t2t_mm.data.problem.Problem (or one of its subclasses).")
  return None


registry.set_check("problems", _check_problem_class)
