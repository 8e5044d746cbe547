"""A damaged data file is named, with the command that remakes it: a truncated SentencePiece
vocabulary (library, trainer start, decoder tool) and a corrupted record inside a shard (the
trainer's train batches, the evaluator's dev batches)."""

import json
import os

import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.runs import resolve
from t2t_mm.config.hparams import HParams
from t2t_mm.data import problem as problem_lib
from t2t_mm.data import shards
from t2t_mm.testing import fake_model  # noqa: F401  Registers it.
from t2t_mm.runs import checkpoints
from t2t_mm.runs import outputs
from t2t_mm.training.trainer import Trainer
from t2t_mm.training.trainer import TrainerConfig

SIZES = dict(num_train_examples=40, num_dev_examples=8, num_test_examples=4)
HP = HParams(model="fake_seq2seq", hidden_size=16, batch_size=4, max_input_length=24,
             max_target_length=24)


def _problem():
  return registry.lookup("problems", "wmt_ende_mini")(**SIZES)


@pytest.fixture
def data_dir(tmp_path):
  d = str(tmp_path / "data")
  _problem().generate_data(d, str(tmp_path / "raw"))
  return d


def _command(data_dir):
  return f"`mm-datagen --problem=wmt_ende_mini --data_dir={data_dir}`"


def _truncate_vocab(data_dir):
  path = os.path.join(data_dir, _problem().subword_vocab_file)
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 2)
  return path


def _corrupt_middle(path):
  """Overwrites bytes in the middle of a shard: same size, a record whose CRC fails."""
  with open(path, "r+b") as f:
    f.seek(os.path.getsize(path) // 2)
    f.write(b"\xff" * 16)


@pytest.fixture
def large_splits(monkeypatch):
  # Splits this small are CRC-checked when opened (shards.py), which already names the file;
  # large ones are only size-checked, so their damage shows while batches are read.
  monkeypatch.setattr(shards, "CHECKSUM_MAX_BYTES", 0)


def test_a_truncated_vocabulary_is_named_with_the_fix(data_dir):
  path = _truncate_vocab(data_dir)
  with pytest.raises(errors.DataError) as e:
    _problem().input_vocab(data_dir)
  message = str(e.value)
  assert f"The subword vocabulary {path} is damaged" in message
  assert f"Delete {path}, then remake it: {_command(data_dir)}" in message
  with pytest.raises(errors.DataError, match="is damaged"):  # The trainer stops at its start.
    Trainer([_problem()], HP, data_dir, str(data_dir) + "_run")


def test_a_vocabulary_cut_between_two_of_its_fields_is_damaged_too(data_dir):
  # Cut after the pieces: protobuf parses the prefix; what is lost (trainer and normalizer
  # settings) must still make it an error, not a silently different vocabulary.
  from sentencepiece import sentencepiece_model_pb2
  path = os.path.join(data_dir, _problem().subword_vocab_file)
  with open(path, "rb") as f:
    full = f.read()
  proto = sentencepiece_model_pb2.ModelProto.FromString(full)
  pieces_only = sentencepiece_model_pb2.ModelProto(pieces=proto.pieces).SerializeToString()
  assert full.startswith(pieces_only) and len(pieces_only) < len(full)
  with open(path, "wb") as f:
    f.write(pieces_only)
  with pytest.raises(errors.DataError, match=f"{path} is damaged.*Delete {path}"):
    _problem().target_vocab(data_dir)


def test_the_decoder_tool_names_a_truncated_vocabulary_at_its_start(data_dir, tmp_path, tool):
  problem = _problem()
  out = str(tmp_path / "run")
  specs = {problem.name: problem.spec(data_dir)}
  model = registry.model("fake_seq2seq")(hparams=HP, specs=list(specs.values()))
  os.makedirs(out)
  resolve.save_hparams(out, HP, "multimodel_tiny")
  outputs.write_run_files(out, {problem.name: problem}, specs, data_dir)
  # A run made before runs copied their vocabularies: its decoder reads the data's (an intact
  # copy in RUN/vocab would make this data file irrelevant; run_vocab_test covers copies).
  record = json.loads(open(os.path.join(out, outputs.PROBLEMS_FILE), encoding="utf-8").read())
  del record["vocab_files"]
  with open(os.path.join(out, outputs.PROBLEMS_FILE), "w", encoding="utf-8") as f:
    json.dump(record, f)
  ckpt = tf.train.Checkpoint(**checkpoints.model_items(model))
  tf.train.CheckpointManager(ckpt, os.path.join(out, "checkpoints"), 1).save(1)
  path = _truncate_vocab(data_dir)
  plugin = tmp_path / "fake_model_plugin"
  plugin.mkdir()
  (plugin / "__init__.py").write_text("from t2t_mm.testing import fake_model\n")
  result = tool("mm-decoder", f"--usr_dir={plugin}", f"--output_dir={out}",
                "--decode_interactive",
                stdin="The cat reads a book .\n")
  assert result.returncode == 2, result.stderr
  assert result.stderr.strip().splitlines() == [
      f"mm_decoder.py: error: The subword vocabulary {path} is damaged "
      f"({os.path.getsize(path)} bytes that are not a SentencePiece model; truncated?). "
      f"Problem 'wmt_ende_mini' needs it. Delete {path}, then remake it: {_command(data_dir)}."]


def test_a_corrupted_train_record_names_its_shard(data_dir, tmp_path, large_splits):
  del large_splits
  shard = shards.shard_path(data_dir, "wmt_ende_mini", "train", 0, 1)
  _corrupt_middle(shard)
  trainer = Trainer([_problem()], HP, data_dir, str(tmp_path / "run"),
                    config=TrainerConfig(eval_every=0, log_every=100))
  with pytest.raises(errors.DataError) as e:
    trainer.train(2)
  message = str(e.value)
  assert f"a damaged record in its train shard {shard} (corrupted record at" in message
  assert f"Delete that shard, then remake it: {_command(data_dir)}" in message


def test_a_corrupted_dev_record_names_its_shard_in_evaluation(data_dir, tmp_path, large_splits):
  del large_splits
  trainer = Trainer([_problem()], HP, data_dir, str(tmp_path / "run"))
  shard = shards.shard_path(data_dir, "wmt_ende_mini", "dev", 0, 1)
  _corrupt_middle(shard)
  with pytest.raises(errors.DataError, match=f"dev shard {shard} .*mm-datagen"):
    trainer.evaluate()


def test_other_errors_pass_unchanged(data_dir):
  def failing():
    raise tf.errors.InvalidArgumentError(None, None, "Incompatible shapes: [2] vs. [3]")
    yield

  with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
    next(problem_lib.checked_batches(failing(), _problem(), "dev", data_dir))
