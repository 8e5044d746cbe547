"""Evaluate a trained run on a whole split, with the field's metrics: what mm-eval calls.

    run = loading.open_run("runs/a")
    results = evaluate_run(run, "test", ["wmt_ende_mini"], DecodeHParams(beam_size=4),
                           out_dir="runs/a/eval", tag="test-step2000.3f9c0a1b2d")
    # runs/a/eval/test-step2000.3f9c0a1b2d.json: per problem its metrics, signatures, counts,
    #   settings (mm-eval's tag: records.evaluation_name, unique per problems and settings)
    # runs/a/eval/test-step2000.3f9c0a1b2d.wmt_ende_mini.txt: the hypotheses, one per line,
    #   split order

Per problem, every example of the split is decoded (batches sorted by length; the decoder's
cached greedy or beam search) and scored teacher-forced (log-perplexity, token accuracy, and
top-1 / top-5 for class labels) against the chance level of always answering the most frequent
target token (1 / classes for labels). The string metrics are those the problem lists, each
against every reference of an example where the problem keeps several (captions).
"""

import collections
import dataclasses
import json
import os
import sys
import weakref
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import metrics
from t2t_mm.config.data_config import DataConfig
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.data import lengths
from t2t_mm.data import pipeline
from t2t_mm.data.problem import Problem
from t2t_mm.data.spec import PAD_ID
from t2t_mm.decoding import inputs as inputs_lib
from t2t_mm.metrics import brackets
from t2t_mm.runs import outputs
from t2t_mm.runs import run_vocab
from t2t_mm.search import runner as runner_lib
from t2t_mm.training import evaluation
from t2t_mm.training import losses
from t2t_mm.utils import atomic, fs, tracing

MODEL_KEYS = ("inputs", "targets", "target_space")
# model -> {problem: compiled teacher-forced statistics}: each is traced once per process, not
# once per evaluation (a trace costs seconds; bench/eval.py).
_STATS_FNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def stats_fn(model, spec, element_spec):
  """evaluation.make_stats_fn(model, spec, element_spec), made once per model and problem."""
  fns = _STATS_FNS.setdefault(model, {})
  if spec.name not in fns:
    fns[spec.name] = evaluation.make_stats_fn(model, spec, element_spec)
  return fns[spec.name]


def eval_config(hparams, dhp: DecodeHParams) -> DataConfig:
  """The DataConfig of an evaluation: the decode batch size, and tf.data's autotuner off
  (its work beside the decoder slowed a dev split's decoding 1.2-1.4x on 2 cores)."""
  return DataConfig.from_hparams(hparams).replace(batch_size=dhp.batch_size, autotune=False)


def _batches(problem, split: str, data_dir: str, config: DataConfig):
  """(batches with an "index" of each example's place in the split, its count)."""
  ds, pre_in, pre_out = problem.examples_dataset(split, data_dir, config, shuffle=False)
  ds = ds.enumerate().map(lambda i, ex: dict(ex, index=i))
  if pre_in.fixed_shape:
    ds = (ds.batch(config.batch_size) if pre_out.fixed_shape
          else ds.padded_batch(config.batch_size))
  else:  # Similar lengths together: less padding, fewer decode steps per batch.
    bounds = pipeline.bucket_boundaries(max(config.max_input_length, config.max_target_length)
                                        + 1)
    ds = ds.bucket_by_sequence_length(
        lambda ex: tf.maximum(pre_in.length(ex["inputs"]), pre_out.length(ex["targets"])),
        bucket_boundaries=bounds, bucket_batch_sizes=[config.batch_size] * (len(bounds) + 1))
  return (pipeline.with_autotune(ds.prefetch(pipeline.AUTOTUNE), config.autotune),
          problem.num_examples(split, data_dir))


def references(problem, split: str, data_dir: str) -> Optional[List[List[str]]]:
  """Every reference of each example, where the problem keeps several (captions)."""
  path_fn = getattr(problem, "references_path", None)
  path = path_fn(data_dir, split) if path_fn else None
  if not path or not fs.isfile(path):
    return None
  with fs.open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def example_stats_fn(model, spec, element_spec):
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


def evaluate_problem(run, name: str, split: str, dhp: DecodeHParams, decode_runner=None,
                     progress: bool = True, per_example: bool = False,
                     decode: bool = True) -> Dict[str, object]:
  """{"metrics", "signatures", "examples", "hypotheses", ...} of problem `name` over `split`.

  per_example: also "per_example": {"nll", "correct", "tokens"}, lists in split order (the
    statistics behind log-perplexity and token accuracy, per example).
  decode: False skips decoding and the string metrics (BLEU, WER...): teacher-forced only.
  A reference longer than dhp.max_decode_length (tokens with EOS) cannot be matched by its
  hypothesis: their count is in the result, and a warning with their share goes to stderr.
  """
  problem, spec = run.problems[name], run.specs[name]
  cut_by_decode_length = 0
  if decode and isinstance(problem, Problem):  # In-memory problems: no split to measure.
    counts = lengths.target_lengths(problem, run.data_dir, split)
    cut_by_decode_length = lengths.cut(counts, dhp.max_decode_length)
    warning = lengths.decode_length_warning(problem, counts, split, dhp.max_decode_length)
    if warning:  # Before the decoding (minutes), so the user can stop and rerun.
      print(f"Warning: {warning}", file=sys.stderr, flush=True)
  config = eval_config(run.hparams, dhp)
  batches, total = _batches(problem, split, run.data_dir, config)
  vocab = problem.target_vocab(run.vocab_dir)
  decode_runner = decode_runner or runner_lib.DecodeRunner(run.model)
  model_spec = {k: v for k, v in batches.element_spec.items() if k in MODEL_KEYS}
  stats = stats_fn(run.model, spec, model_spec)
  if per_example:
    fns = _STATS_FNS.setdefault(run.model, {})
    key = ("examples", spec.name)
    if key not in fns:
      fns[key] = example_stats_fn(run.model, spec, model_spec)
    stats = fns[key]
  examples: Dict[int, tuple] = {}
  nll = correct = count = top5 = 0.0
  token_counts = collections.Counter()
  hyps: Dict[int, str] = {}
  refs: Dict[int, str] = {}
  bar = None
  if progress:
    import tqdm
    bar = tqdm.tqdm(total=total, desc=f"{name} ({split})", unit="ex", mininterval=0.5, ncols=100)
  for batch in batches:
    features = {k: batch[k] for k in MODEL_KEYS}
    out = stats(features)
    if per_example:
      e_nll, e_correct, e_count, e_top5 = (x.numpy().astype(float) for x in out)
      for i, row in zip(batch["index"].numpy().tolist(), zip(e_nll, e_correct, e_count)):
        examples[i] = row
      out = (e_nll.sum(), e_correct.sum(), e_count.sum(), e_top5.sum())
    b_nll, b_correct, b_count, b_top5 = (float(x) for x in out)
    nll, correct, count, top5 = nll + b_nll, correct + b_correct, count + b_count, top5 + b_top5
    targets = features["targets"].numpy()
    token_counts.update(targets.ravel().tolist() if spec.one_token_targets
                        else targets[targets != PAD_ID].tolist())
    if decode:
      if hasattr(run.model, "greedy_decode") and not hasattr(run.model, "start_decoding"):
        # A model without incremental decoding (the contract's minimum), as in training.
        ids = np.asarray(run.model.greedy_decode(features, problem=name,
                                                 max_length=dhp.max_decode_length))
      else:
        ids = decode_runner.decode(features, name, dhp).ids[:, 0, :]
      for i, target, hyp in zip(batch["index"].numpy().tolist(), targets, ids):
        refs[i] = inputs_lib.output_text(vocab, spec, target)
        hyps[i] = inputs_lib.output_text(vocab, spec, hyp)
    if bar:
      bar.update(len(targets))
  if bar:
    bar.close()
  order = sorted(hyps)
  hyp_list = [hyps[i] for i in order]
  ref_list: Sequence = [refs[i] for i in order]
  grouped = references(problem, split, run.data_dir)
  if grouped is not None and len(grouped) == len(ref_list):
    ref_list = grouped
  result: Dict[str, float] = {}
  if count:
    result.update(log_perplexity=nll / count, token_accuracy=correct / count)
  if spec.one_token_targets:
    result.update(accuracy=correct / max(count, 1), top5=top5 / max(count, 1),
                  chance_accuracy=1.0 / spec.target_vocab_size)
  elif token_counts:
    result["chance_token_accuracy"] = max(token_counts.values()) / sum(token_counts.values())
  names = [m for m in dict.fromkeys(tuple(spec.metrics) + tuple(problem.metrics))
           if m in metrics.STRING_METRICS] if decode else []
  signatures = {}
  for metric in names:
    if metric == "bracket_f1":
      first_refs = [refs[0] for refs in metrics.strings.reference_lists(ref_list)]
      result.update(brackets.bracket_scores(first_refs, hyp_list))
    else:
      result[metric] = metrics.compute(metric, ref_list, hyp_list)
    signatures[metric] = metrics.SIGNATURES[metric](ref_list)
  out = {"metrics": result, "signatures": signatures,
         "examples": len(hyp_list) if decode else len(examples) or total,
         "references_longer_than_max_decode_length": cut_by_decode_length,
         "references_per_example": max((len(r) for r in ref_list if not isinstance(r, str)),
                                       default=1),
         "hypotheses": hyp_list}
  if per_example:
    rows = [examples[i] for i in sorted(examples)]
    out["per_example"] = {key: [float(r[k]) for r in rows]
                          for k, key in enumerate(("nll", "correct", "tokens"))}
  return out


def check_data(run, names: Sequence[str]) -> None:
  """DataError, before any decoding, unless run.data_dir holds data of `names` whose
  vocabulary files are the run's own (RUN/vocab): other files would mean other token ids."""
  problems = [run.problems[n] for n in names if isinstance(run.problems[n], Problem)]
  if not problems:
    return  # In-memory problems: no data folder.
  if not fs.isdir(run.data_dir):
    raise errors.DataError(
        f"The data folder {run.data_dir} does not exist (the run's data, read for the split "
        "to evaluate): pass --data_dir=FOLDER where its data is now, or remake it there with "
        "mm-datagen.")
  if run.output_dir:
    saved = outputs.read_run_problems(run.output_dir)
    wrong = run_vocab.differences(run.output_dir, saved, problems, run.data_dir)
    if wrong:
      raise errors.DataError(
          f"--data_dir={run.data_dir} holds other vocabularies than the run was trained with ("
          + "; ".join(wrong) + "): pass --data_dir=FOLDER with the run's own data.")


def evaluate_run(run, split: str, names: Sequence[str], dhp: DecodeHParams, out_dir: str,
                 tag: str, checkpoints: Sequence[str] = (), progress: bool = True
                 ) -> Dict[str, Dict[str, object]]:
  """Evaluates `names` and writes out_dir/<tag>.json and out_dir/<tag>.<problem>.txt."""
  check_data(run, names)
  decode_runner = runner_lib.DecodeRunner(run.model)
  results = {}
  for name in names:
    results[name] = evaluate_problem(run, name, split, dhp, decode_runner, progress)
  fs.makedirs(out_dir)
  for name, result in results.items():
    atomic.atomic_write_text(os.path.join(out_dir, f"{tag}.{name}.txt"),
                             "".join(h.replace("\n", " ") + "\n" for h in result["hypotheses"]))
  payload = {"split": split, "checkpoints": list(checkpoints),
             "decode_hparams": dataclasses.asdict(dhp),
             "problems": {name: {k: v for k, v in r.items() if k != "hypotheses"}
                          for name, r in results.items()}}
  atomic.atomic_write_text(os.path.join(out_dir, f"{tag}.json"),
                           json.dumps(payload, indent=2, sort_keys=True) + "\n")
  return results


def table(results: Mapping[str, Mapping[str, object]]) -> str:
  """A Markdown table: per problem, examples, log-perplexity, accuracy vs chance, metrics."""
  rows = ["| problem | examples | log-ppl | token acc | chance | metrics |",
          "|---|---|---|---|---|---|"]
  for name, r in sorted(results.items()):
    m = r["metrics"]
    chance = m.get("chance_accuracy", m.get("chance_token_accuracy", float("nan")))
    own = ", ".join(f"{k} {m[k]:.4g}" for k in sorted(m) if k not in (
        "log_perplexity", "token_accuracy", "chance_accuracy", "chance_token_accuracy"))
    rows.append(f"| {name} | {r['examples']} | {m.get('log_perplexity', float('nan')):.3f} | "
                f"{m.get('token_accuracy', float('nan')):.3f} | {chance:.3f} | {own} |")
  return "\n".join(rows)
