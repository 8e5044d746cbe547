"""full_split's batches: every example once, in split order, read without tf.data autotuning."""

import numpy as np
import tensorflow as tf

from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.hparams import HParams
from t2t_mm.data.files import ImageClasses
from t2t_mm.eval import full_split


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
  batches, count = full_split._batches(problem, "dev", data, config)
  assert batches.options().autotune.enabled is False
  indices = [int(i) for b in batches for i in b["index"].numpy()]
  assert count == 5 and indices == [0, 1, 2, 3, 4]


def test_hypotheses_of_a_split_of_three_shards_follow_the_split_order(clean_registry, tmp_path,
                                                                      monkeypatch):
  """An oracle decoder answers each example's own label: rescored in split order, the
  hypotheses file must be all right (interleaved shards gave a 0, 2, 4, 1, 3 order)."""
  import types

  from t2t_mm.search import runner as runner_lib

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

  class Oracle:
    def decode(self, features, name, dhp):
      targets = features["targets"].numpy()
      return runner_lib.DecodeResult(targets[:, None, :], np.zeros([len(targets), 1]))

  def no_stats(model, spec, element_spec):
    return lambda features: (0.0, 0.0, 0.0, 0.0)

  monkeypatch.setattr(full_split, "stats_fn", no_stats)
  monkeypatch.setattr(full_split.runner_lib, "DecodeRunner", lambda model: Oracle())
  run = types.SimpleNamespace(problems={"eval_three": problem},
                              specs={"eval_three": problem.spec(data)}, hparams=HParams(),
                              data_dir=data, vocab_dir=data, model=None, output_dir=None)
  out = tmp_path / "eval"
  full_split.evaluate_run(run, "dev", ["eval_three"], DecodeHParams(batch_size=2), str(out),
                          "dev-test", progress=False)
  hypotheses = (out / "dev-test.eval_three.txt").read_text().splitlines()
  accuracy = np.mean([h == ref for h, ref in zip(hypotheses, labels)])
  assert len(hypotheses) == 5 and accuracy == 1.0, hypotheses
