"""How long a problem's examples are, and how many the length limits of a run would cut.

    stats = lengths.measure(problem, data_dir)          # per side: {length: count}, train split
    lengths.save(problem, data_dir, stats)              # data_dir/<problem>.lengths.json
    print(lengths.report(problem, stats, config))       # p50 / p95 / max, and what is cut
    lengths.truncation_warning(problem, data_dir, config)  # the trainer's warning, or None
    counts = lengths.target_lengths(problem, data_dir, "test")  # the whole split's targets
    lengths.decode_length_warning(problem, counts, "test", 100)  # mm-eval's warning, or None

Lengths are measured by the problem's own preprocessors, as the input pipeline counts them:
tokens with EOS for text, frames for audio (also given in seconds). Images and class labels
have no length. Nothing is dropped by the length limits: longer examples are cut, which is what
a user needs to see before training on real data.
"""

import collections
import json
import os
from typing import Dict, Optional

from t2t_mm.config.data_config import DataConfig
from t2t_mm.utils import atomic, fs
from t2t_mm.utils.lazy import tf

SIDES = ("inputs", "targets")
MAX_MEASURED = 20_000  # Examples of the train split measured (the first ones, in order).
_UNLIMITED = 10_000_000  # A limit no example reaches (audio: samples = frames * step < 2^31).

Stats = Dict[str, Dict[int, int]]  # side -> {length: examples}


def measure(problem, data_dir: str, split: str = "train",
            max_examples: int = MAX_MEASURED) -> Stats:
  """{side: {length: count}} over the first `max_examples` examples of `split`."""
  config = DataConfig(max_input_length=_UNLIMITED, max_target_length=_UNLIMITED)
  ds, pre_in, pre_out = problem.examples_dataset(split, data_dir, config, shuffle=False)
  pres = {"inputs": pre_in, "targets": pre_out}
  sides = [side for side in SIDES if pres[side].length_unit is not None]
  if not sides:
    return {}
  n = min(max_examples, problem.num_examples(split, data_dir))
  ds = ds.take(n).map(lambda ex: tf.stack([pres[s].length(ex[s]) for s in sides]))
  counts = {side: collections.Counter() for side in sides}
  for batch in ds.batch(1024).as_numpy_iterator():
    for i, side in enumerate(sides):
      counts[side].update(batch[:, i].tolist())
  return {side: dict(sorted(c.items())) for side, c in counts.items()}


def path(problem, data_dir: str) -> str:
  return os.path.join(data_dir, f"{problem.data_name}.lengths.json")


def save(problem, data_dir: str, stats: Stats) -> None:
  payload = {side: {str(k): v for k, v in c.items()} for side, c in stats.items()}
  atomic.atomic_write_text(path(problem, data_dir), json.dumps(payload) + "\n")


def load(problem, data_dir: str) -> Optional[Stats]:
  """The saved stats of the stored sides, or None if datagen wrote none."""
  try:
    with fs.open(path(problem, data_dir), encoding="utf-8") as f:
      payload = json.load(f)
  except (OSError, ValueError):
    return None  # No figures: a warning less, never an error.
  return {side: {int(k): int(v) for k, v in c.items()} for side, c in payload.items()}


def quantile(counts: Dict[int, int], q: float) -> int:
  """The smallest length that at least a share q of the examples do not exceed."""
  total, seen = sum(counts.values()), 0
  for length, count in sorted(counts.items()):
    seen += count
    if seen >= q * total:
      return length
  return 0


def cut(counts: Dict[int, int], limit: int) -> int:
  """Examples longer than `limit`."""
  return sum(c for length, c in counts.items() if length > limit)


def _model_sides(problem, stats: Stats):
  """(model side, its stats) pairs: a _rev variant's inputs are the stored targets."""
  stored = ("targets", "inputs") if problem.was_reversed else SIDES
  for side, stored_side in zip(SIDES, stored):
    if stored_side in stats:
      yield side, stats[stored_side]


def _length_limits(problem, data_dir: str, config: DataConfig):
  """{side: (preprocessor, what its limit is called)}."""
  pre_in, pre_out = problem.preprocessors(data_dir, config)
  out = {}
  for side, pre, flag, limit in (("inputs", pre_in, "max_input_length", config.max_input_length),
                                 ("targets", pre_out, "max_target_length",
                                  config.max_target_length)):
    # A problem may set its own limit (max_audio_seconds), which wins over the run's.
    name = f"{flag}={limit}" if pre.max_length == limit else "the problem's own limit"
    seconds = pre.seconds(pre.max_length)
    out[side] = (pre, name + (f" ({seconds:.2f} s)" if seconds is not None else ""))
  return out


def _describe(pre, length: int) -> str:
  seconds = pre.seconds(length)
  return f"{length} {pre.length_unit}" + (f" ({seconds:.2f} s)" if seconds is not None else "")


def report(problem, data_dir: str, stats: Stats, config: DataConfig,
           length_limits_name: str = "") -> str:
  """Lines: per side the length distribution, and how many examples the length limits of
  `config` (named `length_limits_name`, e.g. the hparams set) would cut."""
  lines = []
  length_limits = _length_limits(problem, data_dir, config)
  split_size = problem.num_examples("train", data_dir)
  for side, counts in _model_sides(problem, stats):
    pre, limit = length_limits[side]
    total = sum(counts.values())
    n_cut = cut(counts, pre.max_length)
    over = (f"over {total} train examples" if total >= split_size else
            f"over the first {total} of {split_size} train examples (a sample)")
    lines.append(
        f"  {side}: p50 {_describe(pre, quantile(counts, 0.5))}, p95 "
        f"{_describe(pre, quantile(counts, 0.95))}, max {_describe(pre, max(counts))} "
        f"{over}; {length_limits_name + ' ' if length_limits_name else ''}{limit} cuts "
        f"{n_cut} ({100.0 * n_cut / total:.1f}%).")
  return "\n".join(lines)


def truncation_warning(problem, data_dir: str, config: DataConfig) -> Optional[str]:
  """One line if the length limits cut any train example of `problem` (per datagen's
  figures)."""
  stats = load(problem, data_dir)
  if not stats:
    return None
  parts = []
  length_limits = _length_limits(problem, data_dir, config)
  for side, counts in _model_sides(problem, stats):
    pre, limit = length_limits[side]
    n_cut, total = cut(counts, pre.max_length), sum(counts.values())
    if n_cut:
      parts.append(f"{100.0 * n_cut / total:.1f}% of its train {side} are longer than {limit} "
                   f"(the longest: {_describe(pre, max(counts))})")
  if not parts:
    return None
  return (f"Problem '{problem.name}': " + "; ".join(parts) + ". They are cut, not dropped; "
          "raise the limit with --hparams if the tail matters.")


def target_lengths(problem, data_dir: str, split: str) -> Dict[int, int]:
  """{length: count} of the model's targets (tokens with EOS) over the whole `split`; {} for
  targets without a length (class labels)."""
  stats = measure(problem, data_dir, split, problem.num_examples(split, data_dir))
  return dict(_model_sides(problem, stats)).get("targets", {})


def decode_length_warning(problem, counts: Dict[int, int], split: str,
                          max_decode_length: int) -> Optional[str]:
  """One line if decodes of `max_decode_length` tokens cannot reach the end of some reference
  of `split` (`counts`: its target_lengths): their share, the longest, the setting that covers
  it; else None."""
  n_cut = cut(counts, max_decode_length)
  if not n_cut:
    return None
  total, longest = sum(counts.values()), max(counts)
  return (f"Problem '{problem.name}': max_decode_length={max_decode_length} is shorter than "
          f"{n_cut} of {total} {split} references ({100.0 * n_cut / total:.1f}%; the longest "
          f"has {longest} tokens with EOS): their hypotheses are cut, which lowers the string "
          f"metrics. Pass --decode_hparams=max_decode_length={longest} to cover them.")
