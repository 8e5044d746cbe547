"""Per-problem evaluation: loss, log-perplexity, token accuracy and the problem's own metrics.

    evaluator = Evaluator(model, problems, specs, data_dir, hparams)
    results = evaluator.evaluate(eval_steps=20)
    # {"wmt_ende_mini": {"loss": 1.2, "log_perplexity": 1.2, "token_accuracy": 0.71,
    #                    "bleu": 23.4, "chance_token_accuracy": 0.08}, ...}

The chance baseline of a sequence problem is the accuracy of always predicting its most frequent
target token; of a classification problem, 1 / num_classes.
"""

import collections
from typing import Dict, List, Mapping

import numpy as np
import tensorflow as tf

from t2t_mm.config.data_config import DataConfig
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.data import problem as problem_lib
from t2t_mm.data import spec as spec_lib
from t2t_mm.search import runner
from t2t_mm.training import losses
from t2t_mm import metrics as text_metrics
from t2t_mm.utils import tracing


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


class Evaluator:
  """Evaluates a model on every problem's dev split; results are plain floats."""

  def __init__(self, model, problems: Mapping[str, object],
               specs: Mapping[str, spec_lib.ProblemSpec], data_dir: str, hparams,
               decode_examples: int = 64):
    self.model, self.problems, self.specs = model, problems, specs
    self.data_dir, self.hparams, self.decode_examples = data_dir, hparams, decode_examples
    self._stats_fns = {}
    self._runner = runner.DecodeRunner(model)
    self.samples: Dict[str, List[tuple]] = {}

  def _dev_dataset(self, name: str):
    # Without tf.data's autotuner, whose work beside the decoder slows it (DataConfig).
    config = DataConfig.from_hparams(self.hparams).replace(autotune=False)
    return self.problems[name].dataset("dev", self.data_dir, config, shuffle=False)

  def _make_stats_fn(self, name: str, element_spec):
    return make_stats_fn(self.model, self.specs[name], element_spec)

  def evaluate(self, eval_steps: int) -> Dict[str, Dict[str, float]]:
    return {name: self.evaluate_problem(name, eval_steps) for name in self.problems}

  def evaluate_problem(self, name: str, eval_steps: int) -> Dict[str, float]:
    """The problem's metrics over `eval_steps` dev batches; {} for a problem without dev data
    (it trains, and is not evaluated)."""
    if not problem_lib.has_split(self.problems[name], "dev"):
      return {}
    spec = self.specs[name]
    dataset = self._dev_dataset(name)
    if name not in self._stats_fns:
      self._stats_fns[name] = self._make_stats_fn(name, dataset.element_spec)
    nll = correct = count = top5 = 0.0
    token_counts = collections.Counter()
    decode_batches = []
    for features in problem_lib.checked_batches(dataset.take(eval_steps), self.problems[name],
                                                "dev", self.data_dir):
      b_nll, b_correct, b_count, b_top5 = (float(x) for x in self._stats_fns[name](features))
      nll, correct, count, top5 = nll + b_nll, correct + b_correct, count + b_count, top5 + b_top5
      targets = features["targets"].numpy()
      token_counts.update(targets[targets != spec_lib.PAD_ID].tolist()
                          if not spec.one_token_targets else targets.ravel().tolist())
      if sum(len(b["targets"]) for b in decode_batches) < self.decode_examples:
        decode_batches.append(features)
    if count == 0:
      return {}
    result = {"loss": nll / count, "log_perplexity": nll / count,
              "token_accuracy": correct / count}
    if spec.one_token_targets:
      result["accuracy"] = correct / count
      result["top5"] = top5 / count
      result["chance_accuracy"] = 1.0 / spec.target_vocab_size
    else:
      result["chance_token_accuracy"] = max(token_counts.values()) / sum(token_counts.values())
      result.update(self._string_metrics(name, decode_batches))
    return result

  def _string_metrics(self, name: str, batches) -> Dict[str, float]:
    metrics = [m for m in self.specs[name].metrics if m in text_metrics.STRING_METRICS]
    if not metrics or not batches:
      return {}
    vocab = self.problems[name].target_vocab(self.data_dir)
    refs, hyps = [], []
    # Cached greedy search, compiled once per problem (one fixed maximum length).
    settings = DecodeHParams(max_decode_length=self.hparams.max_target_length)
    for features in batches:
      if hasattr(self.model, "start_decoding"):
        ids = self._runner.decode(features, name, settings).ids[:, 0, :]
      else:  # A model without incremental decoding (the contract's minimum).
        ids = np.asarray(self.model.greedy_decode(features, problem=name,
                                                  max_length=settings.max_decode_length))
      for ref_ids, hyp_ids in zip(features["targets"].numpy(), ids):
        refs.append(vocab.decode(ref_ids.tolist()))
        hyps.append(vocab.decode(hyp_ids.tolist()))
    refs, hyps = refs[:self.decode_examples], hyps[:self.decode_examples]
    self.samples[name] = list(zip(refs[:3], hyps[:3]))
    return {m: float(text_metrics.STRING_METRICS[m](refs, hyps)) for m in metrics}
