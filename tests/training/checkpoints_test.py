"""Checkpoints hold every model variable, also those of layers kept in lists and dicts."""

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.testing import fake_problems
from t2t_mm.training import checkpoints

SPECS = [fake_problems.FakeCopyProblem().spec(None), fake_problems.FakeLabelProblem().spec(None)]


def build(seed, **overrides):
  import keras  # pylint: disable=g-import-not-at-top
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
