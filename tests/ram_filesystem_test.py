"""Every tool on a filesystem that is not POSIX: TensorFlow's in-memory ram:// (issue 29).

In one process (ram:// lives inside it): datagen of two all8_mini problems and of a file problem
(the layout of docs/own_problems.md's digits), training, resume, evaluation, decoding,
checkpoint averaging and export, with every path on ram://; nothing is written to the local
disk outside the system temporary folder (the working folder and HOME are fresh, and checked).
"""

import os

import numpy as np
import pytest

from t2t_mm import api
from t2t_mm import registry
from t2t_mm.data import files
from t2t_mm.utils import fs

ROOT = "ram://t2t_mm_ram_test"
TINY = {"hidden_size": 16, "filter_size": 16, "num_heads": 2, "moe_num_experts": 4,
        "num_encoder_blocks": 1, "moe_encoder_layers": [0], "num_decoder_blocks": 1,
        "moe_decoder_layers": [0], "batch_size": 4}
SIZES = [f"problems.wmt_ende_mini.num_{split}_examples = {n}"
         for split, n in (("train", 200), ("dev", 8), ("test", 8))]
PROBLEMS = ["wmt_ende_mini", "image_scenes_mini", "ram_test_digits"]


@registry.register_problem
class RamTestDigits(files.ImageClasses):
  """docs/own_problems.md's digits: a folder per class for train, a manifest for dev."""
  folder, image_size = "digits", (28, 28)
  files = {"train": "train/", "dev": "dev.tsv", "test": "dev.tsv"}


def _write_digits(raw: str) -> None:
  import tensorflow as tf
  rows = []
  for split, n in (("train", 8), ("dev", 4)):
    for i in range(n):
      label = ("zero", "one")[i % 2]
      image = np.zeros((28, 28, 1), np.uint8)
      image[4:24, (12 if label == "one" else 6):(16 if label == "one" else 22)] = 255
      path = f"{raw}/digits/{split}/{label}/{i}.png"
      fs.makedirs(os.path.dirname(path))
      with fs.open(path, "wb") as f:
        f.write(tf.io.encode_png(image).numpy())
      if split == "dev":
        rows.append(f"dev/{label}/{i}.png\t{label}\n")
  with fs.open(f"{raw}/digits/dev.tsv", "w") as f:
    f.write("".join(rows))


def _listing(folder: str):
  return {os.path.join(d, name) for d, dirs, names in os.walk(folder) for name in dirs + names}


@pytest.mark.slow
def test_datagen_train_resume_eval_decode_average_export_all_on_ram(tmp_path, monkeypatch):
  work, home = tmp_path / "work", tmp_path / "home"
  work.mkdir(), home.mkdir()
  monkeypatch.chdir(work)
  monkeypatch.setenv("HOME", str(home))
  for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
    monkeypatch.delenv(name, raising=False)
  source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  before = _listing(os.path.join(source, "t2t_mm")) | _listing(os.path.join(source, "tests"))

  data, raw, run = f"{ROOT}/data", f"{ROOT}/raw", f"{ROOT}/runs/a"
  _write_digits(raw)
  api.datagen(problem=PROBLEMS, data_dir=data, tmp_dir=raw, max_cases=40, gin_params=SIZES)
  assert fs.glob(f"{data}/ram_test_digits-train-*-of-*.json")
  assert fs.glob(f"{data}/vocab.*")

  gin = SIZES + ["trainer.TrainerConfig.checkpoint_every = 2"]
  api.train(problems=PROBLEMS, hparams_set="multimodel_tiny", hparams=TINY, data_dir=data,
            output_dir=run, train_steps=2, eval_steps=1, gin_params=gin)
  metrics = api.train(hparams_set="multimodel_tiny", hparams=TINY, output_dir=run,
                      train_steps=4, eval_steps=1, gin_params=gin)  # Resumes from step 2.
  assert set(metrics) >= set(PROBLEMS)
  assert [os.path.basename(p) for p in fs.glob(f"{run}/checkpoints/ckpt-*.index")] == [
      "ckpt-2.index", "ckpt-4.index"]
  assert fs.glob(f"{run}/train/events.out.tfevents.*")  # TensorBoard on ram:// too.
  assert not fs.exists(f"{run}/trainer.lock")  # Released.

  evaluation = api.evaluate(output_dir=run, split="test", problems=["wmt_ende_mini"],
                            decode_hparams={"max_decode_length": 6})
  assert "bleu" in evaluation.results["wmt_ende_mini"]["metrics"]
  assert fs.isfile(evaluation.path + ".json") and fs.isfile(f"{run}/eval/index.json")
  assert fs.isfile(evaluation.path + ".wmt_ende_mini.txt")

  loaded = api.load_run(run, decode_hparams={"max_decode_length": 6})
  assert isinstance(loaded.decode("wmt_ende_mini", "The cat reads a book ."), str)
  # An image as bytes; two class-label problems (2 and 16 classes) each have their own
  # classifier, so the 2-class one can only answer one of its own labels.
  import tensorflow as tf
  digit = tf.io.encode_png(np.zeros((28, 28, 1), np.uint8)).numpy()
  assert loaded.decode("ram_test_digits", [digit, digit]) == [loaded.decode(
      "ram_test_digits", digit)] * 2
  assert loaded.decode("ram_test_digits", digit) in ("zero", "one")

  averaged = api.average_checkpoints(output_dir=run, to=f"{ROOT}/runs/avg", num_last=2)
  assert [os.path.basename(p) for p in averaged] == ["ckpt-4", "ckpt-2"]
  assert isinstance(api.load_run(f"{ROOT}/runs/avg", decode_hparams={"max_decode_length": 6})
                    .decode("wmt_ende_mini", "A dog sings ."), str)

  export_dir = api.export(output_dir=run, export_dir=f"{ROOT}/export",
                          problems=["wmt_ende_mini"], decode_hparams={"max_decode_length": 6})
  assert fs.isfile(f"{export_dir}/saved_model.pb")

  assert not os.listdir(work) and not os.listdir(home)
  after = _listing(os.path.join(source, "t2t_mm")) | _listing(os.path.join(source, "tests"))
  assert not {p for p in after - before if "__pycache__" not in p}
