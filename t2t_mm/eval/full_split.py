"""Evaluate a trained run on a whole split, with the field's metrics: what mm-eval calls.

    run = loading.open_run("runs/a")
    results = evaluate_run(run, "test", ["wmt_ende_mini"], DecodeHParams(beam_size=4),
                           out_dir="runs/a/eval", tag="test-step2000.3f9c0a1b2d")
    # runs/a/eval/test-step2000.3f9c0a1b2d.json: per problem its metrics, signatures, counts,
    #   settings (mm-eval's tag: records.evaluation_name, unique per problems and settings)
    # runs/a/eval/test-step2000.3f9c0a1b2d.wmt_ende_mini.txt: the hypotheses, one per line,
    #   split order

Per problem, every example of the split is decoded (batches sorted by length; the decoder's
cached greedy or beam search) and scored teacher-forced (loss = log-perplexity, token accuracy,
and top-1 / top-5 for class labels) against the chance level of always answering the most
frequent target token (1 / classes for labels). The string metrics are those the problem lists,
each against every reference of an example where the problem keeps several (captions). The
figures are summed by the accumulator of the trainer's dev evaluation
(t2t_mm/training/evaluation.py): the same batches give the same figures.
"""

import dataclasses
import json
import os
import sys
from typing import Dict, Sequence

from t2t_mm import errors
from t2t_mm.config.data_config import DataConfig
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.data import lengths
from t2t_mm.data.problem import Problem
from t2t_mm.runs import outputs
from t2t_mm.runs import run_vocab
from t2t_mm.search import compiled as compiled_lib
from t2t_mm.training import evaluation
from t2t_mm.utils import atomic, fs

MODEL_KEYS = evaluation.MODEL_KEYS
# Looked up here at each call (tests replace it with a stub).
stats_fn = evaluation.stats_fn


def eval_config(hparams, dhp: DecodeHParams) -> DataConfig:
  """The DataConfig of an evaluation: the decode batch size, and tf.data's autotuner off
  (its work beside the decoder slowed a dev split's decoding 1.2-1.4x on 2 cores)."""
  return DataConfig.from_hparams(hparams).replace(batch_size=dhp.batch_size, autotune=False)


def evaluate_problem(run, name: str, split: str, dhp: DecodeHParams, compiled_search=None,
                     progress: bool = True, per_example: bool = False,
                     decode: bool = True, order: str = "length") -> Dict[str, object]:
  """{"metrics", "signatures", "examples", "hypotheses", ...} of problem `name` over `split`.

  per_example: also "per_example": {"nll", "correct", "tokens"}, lists in split order (the
    statistics behind log-perplexity and token accuracy, per example).
  decode: False skips decoding and the string metrics (BLEU, WER...): teacher-forced only.
  order: of the batches (Problem.dataset): "length" (fewer decode steps) or "split" (the
    trainer's dev batches). The figures are the trainer's evaluation's (evaluation.py).
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
  batches = evaluation.batches(problem, split, run.data_dir, eval_config(run.hparams, dhp),
                               order)
  model_spec = evaluation.model_spec(batches)
  stats = (stats_fn(run.model, spec, model_spec, per_example=True) if per_example
           else stats_fn(run.model, spec, model_spec))
  bar = None
  if progress:
    import tqdm
    bar = tqdm.tqdm(total=problem.num_examples(split, run.data_dir), desc=f"{name} ({split})",
                    unit="ex", mininterval=0.5, ncols=100)
  acc = evaluation.accumulate(
      run.model, problem, spec, batches, split, run.data_dir, stats,
      compiled_search or compiled_lib.CompiledSearch(run.model),
      problem.target_vocab(run.vocab_dir) if decode else None, dhp,
      decode_limit=None if decode else 0, on_batch=bar.update if bar else None)
  if bar:
    bar.close()
  names = evaluation.string_metric_names(spec, problem) if decode else ()
  grouped = evaluation.references(problem, split, run.data_dir) if names else None
  result, signatures = acc.figures(names, grouped)
  out = {"metrics": result, "signatures": signatures, "examples": acc.examples,
         "references_longer_than_max_decode_length": cut_by_decode_length,
         "references_per_example": max((len(r) for r in grouped or ()), default=1),
         "hypotheses": acc.hypotheses()}
  if per_example:
    rows = [acc.per_example[i] for i in sorted(acc.per_example)]
    out["per_example"] = {key: [r[k] for r in rows]
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
  compiled_search = compiled_lib.CompiledSearch(run.model)
  results = {}
  for name in names:
    results[name] = evaluate_problem(run, name, split, dhp, compiled_search, progress)
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
