"""full_split's batches: every example once, in split order, read without tf.data autotuning;
hypotheses files in split order; a decode length that cannot reach the end of references."""

import types

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.hparams import HParams
from t2t_mm.data.files import ImageClasses, TextPairs
from t2t_mm.eval import full_split
from t2t_mm.search import compiled as compiled_lib
from t2t_mm.testing import fake_model
from t2t_mm.testing import fake_problems
from t2t_mm.training import evaluation


class Oracle:
  """A decode runner whose hypothesis of each example is its reference."""

  def decode(self, features, name, dhp):
    targets = features["targets"].numpy()
    return compiled_lib.DecodeResult(targets[:, None, :], np.zeros([len(targets), 1]))


def oracle_run(monkeypatch, problem, data):
  """A run of `problem` for evaluate_run, decoded by the Oracle (teacher-forced figures 0)."""
  monkeypatch.setattr(full_split, "stats_fn",
                      lambda model, spec, element_spec: lambda features: (0.0,) * 4)
  monkeypatch.setattr(full_split.compiled_lib, "CompiledSearch", lambda model: Oracle())
  return types.SimpleNamespace(problems={problem.name: problem},
                               specs={problem.name: problem.spec(data)}, hparams=HParams(),
                               data_dir=data, vocab_dir=data, model=None, output_dir=None)


def test_eval_batches_hold_the_split_in_order_without_autotuning(clean_registry, tmp_path):
  rows = []
  for i in range(5):
    image = np.full((8, 8, 1), 40 * i, np.uint8)
    (tmp_path / f"{i}.png").write_bytes(tf.io.encode_png(image).numpy())
    rows.append(f"{i}.png\tc{i % 2}\n")
  (tmp_path / "train.tsv").write_text("".join(rows))
  (tmp_path / "dev.tsv").write_text("".join(rows))
  clean_registry.register_problem(
      type("EvalDots", (ImageClasses,), {"folder": str(tmp_path), "image_size": (8, 8),
                                         "files": {"train": "train.tsv", "dev": "dev.tsv"}}),
      name="eval_dots")
  problem = clean_registry.problem("eval_dots")
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  config = full_split.eval_config(HParams(batch_size=64), DecodeHParams(batch_size=2))
  assert config.batch_size == 2 and not config.autotune
  batches = evaluation.batches(problem, "dev", data, config, order="length")
  assert batches.options().autotune.enabled is False
  indices = [int(i) for b in batches for i in b["index"].numpy()]
  assert indices == [0, 1, 2, 3, 4]


def test_an_order_is_for_dev_or_test_data_and_one_of_the_known(clean_registry, tmp_path):
  (tmp_path / "train.tsv").write_text("a b\tx\n" * 3)
  clean_registry.register_problem(type("P", (TextPairs,), {
      "folder": str(tmp_path), "files": {"train": "train.tsv", "dev": "train.tsv"},
      "vocab_size": 320}), name="ordered")
  problem = clean_registry.problem("ordered")
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  with pytest.raises(errors.ConfigError, match="order='length' is for dev/test data"):
    problem.dataset("train", data, HParams(), order="length")
  with pytest.raises(errors.ConfigError, match="Unknown order 'sorted'; expected one of split"):
    problem.dataset("dev", data, HParams(), order="sorted")
  assert "index" not in problem.dataset("dev", data, HParams()).element_spec


def _pairs_problem(clean_registry, tmp_path):
  """A text problem whose dev examples have lengths 1..10 words (padding in every batch)."""
  words = "the cat sat on a mat and then ran off".split()
  lines = [" ".join(words[:n]) + "\t" + " ".join(reversed(words[:n])) + "\n"
           for n in range(1, 11)]
  (tmp_path / "train.tsv").write_text("".join(lines))
  (tmp_path / "dev.tsv").write_text("".join(reversed(lines)))
  clean_registry.register_problem(type("P", (TextPairs,), {
      "folder": str(tmp_path), "files": {"train": "train.tsv", "dev": "dev.tsv"},
      "vocab_size": 320, "metrics": ("bleu", "exact_match")}), name="pairs")
  problem = clean_registry.problem("pairs")
  problem.generate_data(str(tmp_path / "data"), "")
  return problem


def test_the_trainers_evaluation_and_mm_eval_give_the_same_figures_on_the_same_batches(
    clean_registry, tmp_path):
  """One model (one checkpoint's weights), the dev splits read in the trainer's batches: the
  trainer's dev evaluation and mm-eval report the same figures, string metrics included;
  mm-eval's own batches (by length) change them only by rounding."""
  data = str(tmp_path / "data")
  problems = {"pairs": _pairs_problem(clean_registry, tmp_path),
              "fake_label": fake_problems.FakeLabelProblem(num_dev=10)}
  specs = {name: p.spec(data) for name, p in problems.items()}
  hparams = HParams(model="fake_seq2seq", hidden_size=16, batch_size=4, max_target_length=16)
  model = fake_model.FakeSeq2Seq(hparams, list(specs.values()))
  trainer_figures = evaluation.Evaluator(model, problems, specs, data, hparams).evaluate(100)
  run = types.SimpleNamespace(problems=problems, specs=specs, hparams=hparams, data_dir=data,
                              vocab_dir=data, model=model, output_dir=None)
  dhp = DecodeHParams(batch_size=hparams.batch_size,
                      max_decode_length=hparams.max_target_length)
  for name in problems:
    mm_eval = full_split.evaluate_problem(run, name, "dev", dhp, progress=False, order="split")
    assert mm_eval["examples"] == 10
    assert mm_eval["metrics"] == trainer_figures[name], name
    by_length = full_split.evaluate_problem(run, name, "dev", dhp, progress=False)
    assert by_length["metrics"] == pytest.approx(trainer_figures[name], rel=1e-5)
    assert by_length["hypotheses"] == mm_eval["hypotheses"]
  assert set(trainer_figures["pairs"]) == {"loss", "log_perplexity", "token_accuracy",
                                           "chance_token_accuracy", "bleu", "exact_match"}
  assert set(trainer_figures["fake_label"]) == {"loss", "log_perplexity", "token_accuracy",
                                                "accuracy", "top5", "chance_accuracy"}
  for name, figures in trainer_figures.items():  # metric_names: what best_metric may name.
    assert set(figures) - {"chance_accuracy", "chance_token_accuracy"} == set(
        evaluation.metric_names(specs[name], problems[name]))


def test_hypotheses_of_a_split_of_three_shards_follow_the_split_order(clean_registry, tmp_path,
                                                                      monkeypatch):
  """The Oracle answers each example's own label: rescored in split order, the hypotheses
  file must be all right (interleaved shards gave another order)."""
  labels = [f"c{i}" for i in range(5)]
  rows = []
  for i, label in enumerate(labels):
    image = np.full((8, 8, 1), 40 * i, np.uint8)
    (tmp_path / f"{i}.png").write_bytes(tf.io.encode_png(image).numpy())
    rows.append(f"{i}.png\t{label}\n")
  (tmp_path / "train.tsv").write_text("".join(rows))
  (tmp_path / "dev.tsv").write_text("".join(rows))
  clean_registry.register_problem(
      type("EvalThree", (ImageClasses,), {"folder": str(tmp_path), "image_size": (8, 8),
                                          "examples_per_shard": 2,
                                          "files": {"train": "train.tsv", "dev": "dev.tsv"}}),
      name="eval_three")
  problem = clean_registry.problem("eval_three")
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  assert len(list((tmp_path / "data").glob("eval_three-dev-*-of-00003"))) == 3
  run = oracle_run(monkeypatch, problem, data)
  out = tmp_path / "eval"
  full_split.evaluate_run(run, "dev", ["eval_three"], DecodeHParams(batch_size=2), str(out),
                          "dev-test", progress=False)
  hypotheses = (out / "dev-test.eval_three.txt").read_text().splitlines()
  accuracy = np.mean([h == ref for h, ref in zip(hypotheses, labels)])
  assert len(hypotheses) == 5 and accuracy == 1.0, hypotheses


def test_references_longer_than_the_decode_length_are_counted_and_warned_of(
    clean_registry, tmp_path, monkeypatch, capsys):
  long_target = "word " * 30
  (tmp_path / "train.tsv").write_text("a b\tx\n" * 3)
  (tmp_path / "dev.tsv").write_text("a b\tx\n" * 3 + f"c\t{long_target}\n")
  clean_registry.register_problem(type("P", (TextPairs,), {
      "folder": str(tmp_path), "files": {"train": "train.tsv", "dev": "dev.tsv"},
      "vocab_size": 320}), name="long_refs")
  problem = clean_registry.problem("long_refs")
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  longest = len(problem.target_vocab(data).encode(long_target)) + 1  # EOS counted.
  run = oracle_run(monkeypatch, problem, data)
  out = str(tmp_path / "eval")
  results = full_split.evaluate_run(run, "dev", ["long_refs"],
                                    DecodeHParams(batch_size=2, max_decode_length=longest - 1),
                                    out, "short", progress=False)
  assert results["long_refs"]["references_longer_than_max_decode_length"] == 1
  warning = capsys.readouterr().err
  assert (f"max_decode_length={longest - 1} is shorter than 1 of 4 dev references (25.0%; the "
          f"longest has {longest} tokens with EOS)") in warning, warning
  assert f"--decode_hparams=max_decode_length={longest}" in warning
  results = full_split.evaluate_run(run, "dev", ["long_refs"],
                                    DecodeHParams(batch_size=2, max_decode_length=longest),
                                    out, "long", progress=False)
  assert results["long_refs"]["references_longer_than_max_decode_length"] == 0
  assert "max_decode_length" not in capsys.readouterr().err
