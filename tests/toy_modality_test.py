"""A new modality is one Preprocessor and one modality net: registered here, with no edit in
data/, decoding/ or export code, it generates data, trains, decodes a file and serves strings."""

import numpy as np
import pytest
import tensorflow as tf
import keras
from keras import ops

from t2t_mm import registry
from t2t_mm.config.trainer_config import TrainerConfig
from t2t_mm.data import spec as spec_lib
from t2t_mm.data.preprocessors.base import Preprocessor
from t2t_mm.data.preprocessors.class_label import ClassLabelPreprocessor
from t2t_mm.data.problem import Problem
from t2t_mm.decoding import export
from t2t_mm.decoding import loading
from t2t_mm.decoding.session import DecodeSession
from t2t_mm.modalities.class_label import ClassLabelModality
from t2t_mm.training.trainer import Trainer


class VectorPreprocessor(Preprocessor):
  """A vector of floats: stored as float32 bytes, given as a file or string of numbers."""

  request_kind = "vector"
  serving_input = "numbers"

  @classmethod
  def to_feature(cls, raw):
    data = np.asarray(raw, np.float32).tobytes()
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))

  def from_stored(self, parts):
    return tf.io.decode_raw(parts["raw"], tf.float32)[:self.config.max_length]

  def length(self, x):
    return tf.shape(x)[0]

  def from_request_tf(self, data):
    return tf.strings.to_number(tf.strings.split(data), tf.float32)[:self.config.max_length]

  def read_request(self, value):
    with open(value, encoding="utf-8") as f:
      return self.from_request_tf(tf.constant(f.read())).numpy()

  def serving_spec(self):
    return tf.RaggedTensorSpec([None], tf.float32)


class VectorModality(keras.layers.Layer):
  """floats [B, n] -> [B, n, d]: each number scaled into the representation."""

  def __init__(self, hidden_size, **kwargs):
    super().__init__(**kwargs)
    self.hidden_size = hidden_size

  @classmethod
  def from_hparams(cls, hparams, spec, role, **kwargs):
    del spec, role
    return cls(hidden_size=hparams.hidden_size, **kwargs)

  def build(self, input_shape=None):
    self.proj = keras.layers.Dense(self.hidden_size, name="proj", dtype=self.dtype_policy)
    self.proj.build((None, None, 1))

  def bottom(self, inputs, training=None):
    del training
    x = self.proj(ops.cast(inputs, self.compute_dtype)[..., None])
    return x, ops.ones(ops.shape(inputs)[:2], "float32")


class VectorSign(Problem):
  """Is the sum of 3-6 random numbers positive?"""

  input_modality = "toy_vector"
  target_modality = "class_label"
  input_vocab_name = None
  target_vocab_name = "labels"
  class_labels = ("negative", "positive")
  target_space = spec_lib.TargetSpace.TO_LABEL
  metrics = ("accuracy",)

  def split_size(self, split, tmp_dir):
    return {"train": 256, "dev": 32, "test": 32}[split]

  def examples(self, split, tmp_dir, start, stop):
    rng = np.random.default_rng(["train", "dev", "test"].index(split))
    for i in range(stop):
      x = rng.normal(size=int(rng.integers(3, 7)))
      if i >= start:
        yield {"inputs": x.tolist(), "targets": int(x.sum() > 0)}


@pytest.fixture
def toy_registered(clean_registry):
  clean_registry.register_preprocessor(VectorPreprocessor, name="toy_vector")
  clean_registry.register_modality(VectorModality, name="toy_vector")
  clean_registry.register_problem(VectorSign, name="toy_vector_sign")
  return clean_registry


def test_a_registered_toy_modality_trains_decodes_and_serves(toy_registered, tmp_path):
  data, out = str(tmp_path / "data"), str(tmp_path / "run")
  problem = registry.problem("toy_vector_sign")
  problem.generate_data(data, str(tmp_path / "raw"))
  hp = registry.hparams("multimodel_tiny").replace(hidden_size=16, filter_size=16,
                                                   moe_num_experts=4, batch_size=8)
  trainer = Trainer([problem], hp, data, out,
                    config=TrainerConfig(eval_steps=2, checkpoint_every=10, log_every=10,
                                         decode_examples=4))
  results = trainer.train(10)
  assert 0.0 <= results["toy_vector_sign"]["accuracy"] <= 1.0
  from t2t_mm.runs import resolve
  resolve.save_hparams(out, hp, "multimodel_tiny")

  run = loading.load_for_decoding(out)
  vector_file = tmp_path / "v.txt"
  vector_file.write_text("0.5 1.5 -0.25\n")
  answer = DecodeSession(run).handle(f"vector={vector_file}")
  assert answer.split("\t")[0] in ("negative", "positive"), answer

  export_dir = export.export_run(run, str(tmp_path / "export"))
  served = tf.saved_model.load(export_dir).signatures["toy_vector_sign_strings"](
      numbers=tf.constant(["0.5 1.5 -0.25", "-3 -1 0.5 0.1"]))
  labels = [o.decode() for o in served["outputs"].numpy()[:, 0]]
  assert labels[0] == answer.split("\t")[0] and set(labels) <= {"negative", "positive"}


class ToyLabelPreprocessor(ClassLabelPreprocessor):
  """The class-label conversions under a new name: a target modality registered elsewhere."""


class VectorSignToyLabel(VectorSign):
  target_modality = "toy_label"


def test_a_new_one_token_target_modality_needs_no_edit_in_losses_search_or_metrics(
    toy_registered, tmp_path):
  toy_registered.register_preprocessor(ToyLabelPreprocessor, name="toy_label")
  toy_registered.register_modality(ClassLabelModality, name="toy_label")
  toy_registered.register_problem(VectorSignToyLabel, name="toy_vector_sign_label")
  data, out = str(tmp_path / "data"), str(tmp_path / "run")
  problem = registry.problem("toy_vector_sign_label")
  problem.generate_data(data, str(tmp_path / "raw"))
  assert problem.spec(data).one_token_targets
  hp = registry.hparams("multimodel_tiny").replace(hidden_size=16, filter_size=16,
                                                   moe_num_experts=4, batch_size=8)
  trainer = Trainer([problem], hp, data, out,
                    config=TrainerConfig(eval_steps=2, checkpoint_every=6, log_every=6,
                                         decode_examples=4))
  results = trainer.train(6)["toy_vector_sign_label"]
  # Class-label metrics (every label counts, label 0 included: 2 batches of 8 targets).
  assert results["chance_accuracy"] == 0.5 and 0.0 <= results["top5"] <= 1.0
  assert results["accuracy"] == results["token_accuracy"]
  from t2t_mm.runs import resolve
  resolve.save_hparams(out, hp, "multimodel_tiny")
  vector_file = tmp_path / "v.txt"
  vector_file.write_text("0.5 1.5 -0.25\n")
  answer = DecodeSession(loading.load_for_decoding(out)).handle(f"vector={vector_file}")
  assert answer.split("\t")[0] in ("negative", "positive"), answer
