"""Per-problem evaluation: one accumulator for the trainer's dev evaluation and for mm-eval.

    evaluator = Evaluator(model, problems, specs, data_dir, hparams)
    results = evaluator.evaluate(eval_steps=20)
    # {"wmt_ende_mini": {"loss": 1.2, "log_perplexity": 1.2, "token_accuracy": 0.71,
    #                    "chance_token_accuracy": 0.08, "bleu": 23.4}, ...}

Both evaluations read `batches(problem, split, ...)` (Problem.dataset with an `order`: each
example carries its index in the split), feed every batch to `accumulate`, which sums the
teacher-forced statistics into a ProblemStats and decodes the examples it is asked to, and
report `ProblemStats.figures`: the names of metrics_lib.reported for the problem's target
modality and metrics. The trainer reads `eval_steps` batches in split order and decodes the
first `decode_examples`; mm-eval (t2t_mm/eval/full_split.py) reads the whole split in batches
of similar lengths and decodes all of it.

The chance baseline of a sequence problem is the accuracy of always predicting its most frequent
target token; of a classification problem, 1 / num_classes. String metrics are scored against
every reference of an example where the problem keeps several (captions).
"""

import collections
import json
import weakref
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from t2t_mm import metrics as metrics_lib
from t2t_mm.config.data_config import DataConfig
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.data import problem as problem_lib
from t2t_mm.data import spec as spec_lib
from t2t_mm.metrics import brackets
from t2t_mm.search import compiled
from t2t_mm.training import losses
from t2t_mm.utils import fs, tracing

# The features the model reads; batches of an evaluation also carry each example's "index".
MODEL_KEYS = ("inputs", "targets", "target_space")
# model -> {problem: compiled teacher-forced statistics}: each is traced once per process, not
# once per evaluation (a trace costs seconds; bench/eval.py).
_STATS_FNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def metric_names(spec: spec_lib.ProblemSpec, problem=None) -> Tuple[str, ...]:
  """Every figure an evaluation of `problem` reports, chance levels aside (what best_metric may
  name): from its target modality and the metrics its spec and the problem list."""
  return metrics_lib.reported(spec.one_token_targets, spec.metrics,
                              getattr(problem, "metrics", ()))


def string_metric_names(spec: spec_lib.ProblemSpec, problem=None) -> Tuple[str, ...]:
  """The metrics over decoded strings `problem` lists (its spec's and its own)."""
  return metrics_lib.string_metrics(spec.metrics, getattr(problem, "metrics", ()))


def batches(problem, split: str, data_dir: str, config, order: str) -> tf.data.Dataset:
  """The batches of an evaluation: `split` read once, each example with its "index", in
  `order` (Problem.dataset), without tf.data's autotuner (its work beside the decoder slowed
  a dev split's decoding 1.2-1.4x on 2 cores)."""
  config = DataConfig.from_hparams(config).replace(autotune=False)
  return problem.dataset(split, data_dir, config, shuffle=False, order=order)


def model_spec(dataset: tf.data.Dataset) -> Dict[str, tf.TensorSpec]:
  """The element spec of `dataset`'s features the model reads."""
  return {k: v for k, v in dataset.element_spec.items() if k in MODEL_KEYS}


def make_stats_fn(model, spec: spec_lib.ProblemSpec, element_spec):
  """fn(batch) -> (sum of NLL, correct tokens, target tokens, top-5 hits): teacher-forced
  statistics of one batch of `spec`'s problem (top-5 only for one-token targets), compiled
  once per problem (batches vary in length; the signature leaves it open)."""
  one_token, name = spec.one_token_targets, spec.name

  def stats(features):
    logits = model(features, problem=name, training=False)
    weights = losses.target_weights(features["targets"], one_token)
    nll, correct, count = losses.token_stats(logits, features["targets"], weights)
    top5 = tf.constant(0.0)
    if one_token:
      hits = tf.math.in_top_k(tf.reshape(features["targets"], [-1]),
                              tf.cast(logits[:, 0, :], tf.float32),
                              k=min(5, spec.target_vocab_size))
      top5 = tf.reduce_sum(tf.cast(hits, tf.float32))
    return nll, correct, count, top5

  return tracing.function_for(stats, name, input_signature=[element_spec])


def example_stats_fn(model, spec: spec_lib.ProblemSpec, element_spec):
  """fn(batch) -> per example (summed NLL, correct tokens, target tokens, top-5 hit): the
  statistics of make_stats_fn before the sum over the batch (for tests over examples)."""
  one_token, name = spec.one_token_targets, spec.name

  def stats(features):
    logits = tf.cast(model(features, problem=name, training=False), tf.float32)
    targets = features["targets"]
    weights = losses.target_weights(targets, one_token)
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    nll = -tf.gather(log_probs, targets, axis=-1, batch_dims=2)
    correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=targets.dtype), targets),
                      tf.float32)
    top5 = tf.zeros_like(weights[:, 0])
    if one_token:
      top5 = tf.cast(tf.math.in_top_k(tf.reshape(targets, [-1]), logits[:, 0, :],
                                      k=min(5, spec.target_vocab_size)), tf.float32)
    return (tf.reduce_sum(nll * weights, axis=1), tf.reduce_sum(correct * weights, axis=1),
            tf.reduce_sum(weights, axis=1), top5)

  return tracing.function_for(stats, f"{name}_examples", input_signature=[element_spec])


def stats_fn(model, spec: spec_lib.ProblemSpec, element_spec, per_example: bool = False):
  """make_stats_fn (or example_stats_fn) of `model` and `spec`, made once per model and
  problem."""
  fns = _STATS_FNS.setdefault(model, {})
  key = ("examples", spec.name) if per_example else spec.name
  if key not in fns:
    fns[key] = (example_stats_fn if per_example else make_stats_fn)(model, spec, element_spec)
  return fns[key]


def decode_ids(compiled_search, features, name: str, dhp: DecodeHParams) -> np.ndarray:
  """The best hypothesis' ids [B, L] of each example of `features`: the model's cached greedy
  or beam search (start_decoding / decode_step, which the Model contract requires)."""
  return compiled_search.decode(features, name, dhp).ids[:, 0, :]


def references(problem, split: str, data_dir: str) -> Optional[List[List[str]]]:
  """Every reference of each example of `split`, where the problem keeps several (captions)
  and they are one per example of the split; else None."""
  path_fn = getattr(problem, "references_path", None)
  path = path_fn(data_dir, split) if path_fn else None
  if not path or not fs.isfile(path):
    return None
  with fs.open(path, encoding="utf-8") as f:
    grouped = [json.loads(line) for line in f if line.strip()]
  return grouped if len(grouped) == problem.num_examples(split, data_dir) else None


class ProblemStats:
  """The sums of one problem's evaluation: teacher-forced statistics over its batches, the
  target token counts behind the chance level, and decoded texts by index in the split."""

  def __init__(self, spec: spec_lib.ProblemSpec):
    self.spec = spec
    self.nll = self.correct = self.count = self.top5 = 0.0
    self.examples = 0
    self.token_counts: collections.Counter = collections.Counter()
    self.refs: Dict[int, str] = {}
    self.hyps: Dict[int, str] = {}
    self.per_example: Dict[int, Tuple[float, float, float]] = {}

  def add(self, stats: Sequence, targets: np.ndarray, indices: Sequence[int]) -> None:
    """One batch: `stats` of make_stats_fn (sums) or example_stats_fn (per example, kept by
    index), its targets and its examples' indices."""
    values = [np.asarray(x, np.float64) for x in stats]
    if values[0].ndim:  # Per example.
      for i, row in zip(indices, zip(*values[:3])):
        self.per_example[i] = tuple(float(x) for x in row)
    nll, correct, count, top5 = (float(np.sum(x)) for x in values)
    self.nll, self.correct = self.nll + nll, self.correct + correct
    self.count, self.top5 = self.count + count, self.top5 + top5
    self.examples += len(targets)
    self.token_counts.update(targets.ravel().tolist() if self.spec.one_token_targets
                             else targets[targets != spec_lib.PAD_ID].tolist())

  def add_texts(self, vocab, indices: Sequence[int], targets: np.ndarray,
                hyp_ids: np.ndarray) -> None:
    for i, target, hyp in zip(indices, targets, hyp_ids):
      self.refs[i] = spec_lib.output_text(vocab, self.spec, target)
      self.hyps[i] = spec_lib.output_text(vocab, self.spec, hyp)

  def decoded(self, limit: Optional[int] = None) -> List[int]:
    """The indices of the decoded examples, in split order (the first `limit`)."""
    return sorted(self.hyps)[:limit]

  def hypotheses(self, limit: Optional[int] = None) -> List[str]:
    return [self.hyps[i] for i in self.decoded(limit)]

  def samples(self, n: int) -> List[Tuple[str, str]]:
    return [(self.refs[i], self.hyps[i]) for i in self.decoded(n)]

  def figures(self, string_metrics: Sequence[str] = (),
              grouped: Optional[Sequence[Sequence[str]]] = None,
              limit: Optional[int] = None) -> Tuple[Dict[str, float], Dict[str, str]]:
    """({metric: value}, {string metric: signature}): the teacher-forced figures, the chance
    level, and `string_metrics` over the first `limit` decoded examples, each against
    `grouped[index]` (every reference of it) where given, else its target."""
    result: Dict[str, float] = {}
    if self.count:
      result.update(loss=self.nll / self.count, log_perplexity=self.nll / self.count,
                    token_accuracy=self.correct / self.count)
      if self.spec.one_token_targets:
        result.update(accuracy=self.correct / self.count, top5=self.top5 / self.count,
                      chance_accuracy=1.0 / self.spec.target_vocab_size)
      elif self.token_counts:
        result["chance_token_accuracy"] = (max(self.token_counts.values())
                                           / sum(self.token_counts.values()))
    order = self.decoded(limit)
    if not order:
      return result, {}
    hyps = [self.hyps[i] for i in order]
    refs = [grouped[i] for i in order] if grouped is not None else [self.refs[i] for i in order]
    signatures = {}
    for metric in string_metrics:
      if metric == "bracket_f1":  # With its precision and recall (metrics_lib.COMPANIONS).
        first = [r[0] for r in metrics_lib.strings.reference_lists(refs)]
        result.update(brackets.bracket_scores(first, hyps))
      else:
        result[metric] = metrics_lib.compute(metric, refs, hyps)
      signatures[metric] = metrics_lib.SIGNATURES[metric](refs)
    return result, signatures


def accumulate(model, problem, spec: spec_lib.ProblemSpec, dataset, split: str, data_dir: str,
               stats: Callable, compiled_search=None, vocab=None,
               dhp: Optional[DecodeHParams] = None, decode_limit: Optional[int] = None,
               on_batch: Optional[Callable[[int], None]] = None) -> ProblemStats:
  """Reads `dataset` (batches of `split`, from `batches`) into a ProblemStats: every batch's
  `stats`, and while fewer than `decode_limit` examples are decoded (None: every one), its
  hypotheses by `dhp` (texts by `vocab`). A damaged shard met on the way is a DataError naming
  it. on_batch(examples) after each batch (a progress bar)."""
  out = ProblemStats(spec)
  for batch in problem_lib.checked_batches(dataset, problem, split, data_dir):
    features = {k: batch[k] for k in MODEL_KEYS}
    indices = batch["index"].numpy().tolist()
    targets = features["targets"].numpy()
    out.add(stats(features), targets, indices)
    if decode_limit is None or len(out.hyps) < decode_limit:
      ids = decode_ids(compiled_search, features, spec.name, dhp)
      out.add_texts(vocab, indices, targets, ids)
    if on_batch:
      on_batch(len(indices))
  return out


class Evaluator:
  """Evaluates a model on every problem's dev split; results are plain floats."""

  def __init__(self, model, problems: Mapping[str, object],
               specs: Mapping[str, spec_lib.ProblemSpec], data_dir: str, hparams,
               decode_examples: int = 64):
    self.model, self.problems, self.specs = model, problems, specs
    self.data_dir, self.hparams, self.decode_examples = data_dir, hparams, decode_examples
    self._search = compiled.CompiledSearch(model)
    self._references: Dict[str, Optional[List[List[str]]]] = {}
    self.samples: Dict[str, List[tuple]] = {}

  def evaluate(self, eval_steps: int) -> Dict[str, Dict[str, float]]:
    return {name: self.evaluate_problem(name, eval_steps) for name in self.problems}

  def evaluate_problem(self, name: str, eval_steps: int) -> Dict[str, float]:
    """The problem's metrics over its first `eval_steps` dev batches (string metrics over the
    first decode_examples examples, by cached greedy search up to max_target_length, compiled
    once per problem); {} for a problem without dev data (it trains, and is not evaluated)."""
    problem, spec = self.problems[name], self.specs[name]
    if not problem_lib.has_split(problem, "dev"):
      return {}
    dataset = batches(problem, "dev", self.data_dir, self.hparams, order="split")
    names = string_metric_names(spec, problem)
    limit = self.decode_examples if names else 0
    acc = accumulate(
        self.model, problem, spec, dataset.take(eval_steps), "dev", self.data_dir,
        stats_fn(self.model, spec, model_spec(dataset)), self._search,
        problem.target_vocab(self.data_dir) if limit else None,
        DecodeHParams(max_decode_length=self.hparams.max_target_length), limit)
    if not acc.count:
      return {}
    if names and name not in self._references:
      self._references[name] = references(problem, "dev", self.data_dir)
    result, _ = acc.figures(names, self._references.get(name), limit)
    if acc.hyps:
      self.samples[name] = acc.samples(3)
    return result
