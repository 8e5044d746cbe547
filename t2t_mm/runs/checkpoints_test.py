"""Checkpoints hold every model variable, also those of layers kept in lists and dicts."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.testing import fake_problems
from t2t_mm.runs import checkpoints

SPECS = [fake_problems.FakeCopyProblem().spec(None), fake_problems.FakeLabelProblem().spec(None)]


def build(seed, **overrides):
  import keras
  keras.utils.set_random_seed(seed)
  sizes = dict(dict(hidden_size=16, filter_size=16, moe_num_experts=4), **overrides)
  hp = registry.hparams("multimodel_tiny").replace(**sizes)
  return registry.model("multimodel")(hparams=hp, specs=SPECS)


def test_restore_model_brings_back_every_variable(tmp_path):
  saved, fresh = build(1), build(2)
  assert len(saved.variables) > 50  # Modality nets, blocks and MoE, in lists and dicts.
  path = tf.train.Checkpoint(**checkpoints.model_items(saved)).save(str(tmp_path / "ckpt"))
  differs = [not np.array_equal(a.numpy(), b.numpy())
             for a, b in zip(saved.variables, fresh.variables)]
  assert sum(differs) > 20
  checkpoints.restore_model(fresh, path)
  for a, b in zip(saved.variables, fresh.variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_a_checkpoint_of_another_model_is_an_error(tmp_path):
  path = tf.train.Checkpoint(**checkpoints.model_items(build(1))).save(str(tmp_path / "ckpt"))
  with pytest.raises(errors.DataError, match="does not fit"):
    checkpoints.restore_model(build(1, hidden_size=24), path)


def save(model, prefix):
  return tf.train.Checkpoint(**checkpoints.model_items(model)).save(str(prefix))


def test_problems_in_another_order_restore_by_name(tmp_path):
  import keras
  saved = build(1)
  path = save(saved, tmp_path / "ckpt")
  keras.utils.set_random_seed(2)
  hp = registry.hparams("multimodel_tiny").replace(hidden_size=16, filter_size=16,
                                                   moe_num_experts=4)
  reordered = registry.model("multimodel")(hparams=hp, specs=list(reversed(SPECS)))
  assert [v.path for v in reordered.variables] != [v.path for v in saved.variables]
  checkpoints.restore_model(reordered, path)
  want = checkpoints.variables_by_name(saved.variables)
  got = checkpoints.variables_by_name(reordered.variables)
  assert set(want) == set(got)
  for name, variable in want.items():
    np.testing.assert_array_equal(variable.numpy(), got[name].numpy(), err_msg=name)


def test_seed_generator_states_get_names_that_do_not_count_across_models():
  first, second = build(1), build(1)
  assert set(checkpoints.variables_by_name(first.variables)) == set(
      checkpoints.variables_by_name(second.variables))
  assert any("seed_generator_state_0" in n for n in checkpoints.variables_by_name(first.variables))


def test_missing_and_extra_variables_are_named(tmp_path):
  import keras
  path = save(build(1), tmp_path / "ckpt")
  keras.utils.set_random_seed(1)
  hp = registry.hparams("multimodel_tiny").replace(hidden_size=16, filter_size=16,
                                                   moe_num_experts=4)
  copy_only = registry.model("multimodel")(hparams=hp, specs=SPECS[:1])
  with pytest.raises(errors.DataError, match=r"in the checkpoint but not in the model: .*label"):
    checkpoints.restore_model(copy_only, path)
  path = save(copy_only, tmp_path / "small")
  with pytest.raises(errors.DataError, match=r"missing from the checkpoint: .*label"):
    checkpoints.restore_model(build(1), path)
  shape_error = (r"of another shape: decoder/moe1/b1 \(4, 16\) in the checkpoint, "
                 r"\(4, 24\) in the model")
  with pytest.raises(errors.DataError, match=shape_error):
    checkpoints.restore_model(build(1, filter_size=24), path)


def test_a_checkpoint_by_position_is_refused_and_the_model_is_left_alone(tmp_path):
  saved, fresh = build(1), build(2)
  path = tf.train.Checkpoint(model_variables=list(saved.variables)).save(str(tmp_path / "old"))
  before = [v.numpy().copy() for v in fresh.variables]
  with pytest.raises(errors.DataError, match=r"old-1 holds its variables by position"):
    checkpoints.restore_model(fresh, path)
  for want, variable in zip(before, fresh.variables):
    np.testing.assert_array_equal(want, variable.numpy(), err_msg=variable.path)


def _run_dir_with_three_checkpoints(tmp_path):
  model = build(1)
  manager = tf.train.CheckpointManager(tf.train.Checkpoint(**checkpoints.model_items(model)),
                                       str(tmp_path), max_to_keep=5)
  for step in (10, 20, 30):
    manager.save(checkpoint_number=step)
  return model


@pytest.mark.parametrize("damage", ["truncate_data", "delete_index", "garbage_index"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path, damage):
  _run_dir_with_three_checkpoints(tmp_path)
  data = glob.glob(str(tmp_path / "ckpt-30.data-*"))[0]
  if damage == "truncate_data":
    with open(data, "r+b") as f:
      f.truncate(os.path.getsize(data) // 2)
  elif damage == "delete_index":
    os.remove(tmp_path / "ckpt-30.index")
  else:
    (tmp_path / "ckpt-30.index").write_bytes(b"not an index")
  warnings = []
  fresh = build(2)
  restored = checkpoints.restore_newest(str(tmp_path),
                                        lambda p: checkpoints.restore_model(fresh, p),
                                        warn=warnings.append)
  assert restored == str(tmp_path / "ckpt-20")
  assert "ckpt-30 cannot be read" in warnings[0] and "damaged" in warnings[0]
  assert "ckpt-20" in warnings[-1]


def test_every_checkpoint_damaged_is_an_error_naming_them(tmp_path):
  _run_dir_with_three_checkpoints(tmp_path)
  for index in glob.glob(str(tmp_path / "*.index")):
    os.remove(index)
  fresh = build(2)
  with pytest.raises(errors.DataError, match="ckpt-30.*ckpt-20.*ckpt-10"):
    checkpoints.restore_newest(str(tmp_path), lambda p: checkpoints.restore_model(fresh, p),
                               warn=lambda msg: None)


def test_a_checkpoint_of_another_model_is_not_skipped_as_damaged(tmp_path):
  _run_dir_with_three_checkpoints(tmp_path)
  other = build(1, hidden_size=24)
  with pytest.raises(errors.DataError, match="ckpt-30 does not fit"):
    checkpoints.restore_newest(str(tmp_path), lambda p: checkpoints.restore_model(other, p))


def test_orphaned_temp_folders_of_a_killed_save_are_removed(tmp_path):
  (tmp_path / "ckpt-40_temp").mkdir()
  (tmp_path / "ckpt-40_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x")
  (tmp_path / "notes_temp").mkdir()  # Not a checkpoint's: kept.
  removed = checkpoints.remove_orphans(str(tmp_path))
  assert removed == [str(tmp_path / "ckpt-40_temp")]
  assert not (tmp_path / "ckpt-40_temp").exists() and (tmp_path / "notes_temp").exists()
