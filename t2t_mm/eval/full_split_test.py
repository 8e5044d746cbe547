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
