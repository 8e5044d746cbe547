"""A new vocabulary kind is one Vocabulary subclass and one registration: with no edit in data/,
training/ or decoding/ code, a problem that names it generates data, trains, decodes, and (with
encode_tf / decode_tf) converts in-graph as serving does."""

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config.trainer_config import TrainerConfig
from t2t_mm.data import spec as spec_lib
from t2t_mm.data import vocabularies
from t2t_mm.data.problem import Problem
from t2t_mm.decoding import loading
from t2t_mm.decoding.serving import OutputDecoder
from t2t_mm.decoding.session import DecodeSession
from t2t_mm.training.trainer import Trainer

ALPHABET = " abcdefghijklmnopqrstuvwxyz"


class Letters(vocabularies.Vocabulary):
  """Space and a..z as ids 2..28; Python only (tf.data encodes through `encode`)."""

  name = "letters"
  vocab_size = 2 + len(ALPHABET)

  def encode(self, text):
    return [2 + ALPHABET.index(c) for c in text]

  def decode(self, ids):
    return "".join(ALPHABET[i - 2] for i in vocabularies.strip_special(ids)
                   if 2 <= i < self.vocab_size)


class InGraphLetters(Letters):
  """Letters with the in-graph pair, so that it can be served."""

  def encode_tf(self, text):
    chars = tf.cast(tf.io.decode_raw(text, tf.uint8), tf.int32)
    return tf.where(tf.equal(chars, ord(" ")), 2, chars - ord("a") + 3)

  def decode_tf(self, ids):
    table = tf.constant([""] * 2 + list(ALPHABET))
    return tf.strings.reduce_join(tf.gather(table, vocabularies.until_eos_tf(ids)), axis=1)


class Reverse(Problem):
  """Words of a..z -> the same words backwards."""

  input_vocab_name = target_vocab_name = "letters"
  target_space = spec_lib.TargetSpace.GENERIC
  metrics = ("exact_match",)

  def split_size(self, split, tmp_dir):
    return {"train": 64, "dev": 16, "test": 16}[split]

  def examples(self, split, tmp_dir, start, stop):
    rng = np.random.default_rng(["train", "dev", "test"].index(split))
    for i in range(stop):
      word = "".join(rng.choice(list(ALPHABET[1:]), int(rng.integers(2, 6))))
      if i >= start:
        yield {"inputs": word, "targets": word[::-1]}


def test_in_graph_letters_equal_python_letters():
  v = InGraphLetters()
  for text in ("abc", "hello world", "z"):
    assert v.encode_tf(tf.constant(text)).numpy().tolist() == v.encode(text)
  ids = np.array([v.encode("ab") + [1, 5, 0], v.encode("z y") + [1, 0]], np.int32)
  assert [t.decode() for t in v.decode_tf(tf.constant(ids)).numpy()] == ["ab", "z y"]
  assert v.has_tf("encode_tf") and not Letters().has_tf("encode_tf")


def test_a_registered_vocabulary_kind_generates_trains_and_decodes(clean_registry, tmp_path):
  clean_registry.register_vocabulary(Letters(), name="letters")
  clean_registry.register_problem(Reverse, name="reverse_letters")
  data, out = str(tmp_path / "data"), str(tmp_path / "run")
  problem = registry.problem("reverse_letters")
  problem.generate_data(data, str(tmp_path / "raw"))
  spec = problem.spec(data)
  assert (spec.input_vocab, spec.target_vocab, spec.target_vocab_size) == ("letters",) * 2 + (29,)
  # The pipeline encodes the stored text through the Python `encode` (no encode_tf), EOS last.
  batch = next(iter(problem.dataset("dev", data, registry.hparams("multimodel_tiny").replace(
      batch_size=2))))
  first = next(problem.examples("dev", "", 0, 1))
  row = batch["targets"].numpy()[0].tolist()
  assert row[:row.index(spec_lib.EOS_ID) + 1] == Letters().encode(first["targets"]) + [1]

  hp = registry.hparams("multimodel_tiny").replace(hidden_size=16, filter_size=16,
                                                   moe_num_experts=4, batch_size=8)
  trainer = Trainer([problem], hp, data, out,
                    config=TrainerConfig(eval_steps=2, checkpoint_every=4, log_every=4,
                                         decode_examples=2))
  results = trainer.train(4)["reverse_letters"]
  assert 0.0 <= results["exact_match"] <= 1.0
  from t2t_mm.runs import resolve
  resolve.save_hparams(out, hp, "multimodel_tiny")
  answer = DecodeSession(loading.load_for_decoding(out)).handle("abc")
  assert not answer.startswith("error") and set(answer.split("\t")[0]) <= set(ALPHABET), answer
  # Python only: a serving export names what is missing.
  with pytest.raises(errors.ConfigError, match="Letters, which has no in-graph form"):
    OutputDecoder.for_problem(problem, spec, data)


def test_a_problem_may_name_a_vocabulary_object_and_serve_through_its_in_graph_form(tmp_path):
  class ReverseObject(Reverse):
    input_vocab_name = target_vocab_name = InGraphLetters()

  problem = ReverseObject()
  assert problem.spec("unused").target_vocab == "letters"
  decoder = OutputDecoder.for_problem(problem, problem.spec("unused"), "unused")
  ids = np.array([[InGraphLetters().encode("olleh") + [1]]], np.int32)
  assert decoder(tf.constant(ids)).numpy()[0, 0].decode() == "olleh"


def test_a_side_declared_as_something_else_is_a_config_error():
  class Bad(Reverse):
    target_vocab_name = 42

  with pytest.raises(errors.ConfigError, match="registered name or a .*Vocabulary object, got int"):
    Bad().target_vocab("unused")
