"""ImageClasses and ImageCaptions on small image files the tests write."""

import json

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.hparams import HParams
from t2t_mm.data.files import ImageCaptions, ImageClasses

HP = HParams(batch_size=2, max_input_length=32, max_target_length=32)


def _png(path, value, size=28):
  path.parent.mkdir(parents=True, exist_ok=True)
  image = np.full((size, size, 1), value, np.uint8)  # Grayscale, as MNIST-like sets are.
  path.write_bytes(tf.io.encode_png(image).numpy())


def _register(clean_registry, cls, name, **attrs):
  clean_registry.register_problem(type(name, (cls,), attrs), name=name)
  return clean_registry.problem(name)


def test_class_folders_and_a_manifest(clean_registry, tmp_path):
  for label, value in (("dark", 20), ("light", 230)):
    for i in range(3):
      _png(tmp_path / "train" / label / f"{i}.png", value)
  _png(tmp_path / "dev" / "a.png", 230)
  _png(tmp_path / "dev" / "b.png", 20)
  (tmp_path / "dev.tsv").write_text("dev/a.png\tlight\ndev/b.png\tdark\n")
  problem = _register(clean_registry, ImageClasses, "my_digits", folder=str(tmp_path),
                      image_size=(28, 28), files={"train": "train/", "dev": "dev.tsv"})
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  assert problem.target_vocab(data).labels == ["dark", "light"]
  batch = next(iter(problem.dataset("dev", data, HP, shuffle=False)))
  assert batch["inputs"].shape == (2, 28, 28, 3)
  assert batch["targets"].numpy().ravel().tolist() == [1, 0]
  assert float(batch["inputs"][0].numpy().mean()) > float(batch["inputs"][1].numpy().mean())
  assert problem.num_examples("train", data) == 6


def test_an_unknown_label_and_a_file_that_is_no_image_name_the_line(clean_registry, tmp_path):
  _png(tmp_path / "a.png", 1)
  (tmp_path / "b.png").write_text("not an image")
  (tmp_path / "train.tsv").write_text("a.png\tcat\n")
  (tmp_path / "dev.tsv").write_text("a.png\tdog\n")
  (tmp_path / "test.tsv").write_text("b.png\tcat\n")
  problem = _register(clean_registry, ImageClasses, "my_pets", folder=str(tmp_path),
                      files={"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"})
  with pytest.raises(errors.DataError, match=r"dev.tsv:1: the label 'dog' is not a class"):
    list(problem.examples("dev", "", 0, 1))
  with pytest.raises(errors.DataError, match=r"test.tsv:1: .*b.png is not a PNG"):
    list(problem.examples("test", "", 0, 1))


def test_captions_group_per_image_with_every_reference_saved(clean_registry, tmp_path):
  for name, value in (("x.png", 10), ("y.png", 200)):
    _png(tmp_path / name, value, size=16)
  manifest = ("x.png\ta dark square\nx.png\ta black box\ny.png\ta white square\n"
              "x.png\tsomething dark\n")
  (tmp_path / "train.tsv").write_text(manifest * 3)
  (tmp_path / "dev.tsv").write_text(manifest)
  problem = _register(clean_registry, ImageCaptions, "my_captions", folder=str(tmp_path),
                      image_size=(16, 16), vocab_size=320,
                      files={"train": "train.tsv", "dev": "dev.tsv"})
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  assert problem.num_examples("train", data) == 12  # Every caption line.
  assert problem.num_examples("dev", data) == 2    # One per image.
  refs = [json.loads(line) for line in open(problem.references_path(data, "dev"))]
  assert refs == [["a dark square", "a black box", "something dark"], ["a white square"]]
  batch = next(iter(problem.dataset("dev", data, HP, shuffle=False)))
  vocab = problem.target_vocab(data)
  assert vocab.decode([int(i) for i in batch["targets"].numpy()[0] if i > 1]) == "a dark square"
