"""The memory lower bound: below the real parameter count, and a clear refusal above it."""

import dataclasses

import pytest

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.models import memory
from t2t_mm.models.multimodel import MultiModel
from t2t_mm.testing import fake_problems


def _specs():
  return [fake_problems.FakeCopyProblem(name="mem_copy").spec(None),
          fake_problems.FakeLabelProblem(name="mem_label").spec(None)]


@pytest.mark.parametrize("overrides, what", [
    ({"hidden_size": 100_000_000, "num_heads": 1}, "hidden_size"),
    ({"moe_num_experts": 100_000}, "moe_num_experts"),
])
def test_settings_no_machine_holds_are_refused_with_what_they_need(overrides, what):
  hp = registry.hparams("multimodel_base").replace(**overrides)
  with pytest.raises(errors.ConfigError, match=r"run/hparams.json: the model needs at least "
                     r"[\d,.]+ GiB .* more than this machine's 24.0 GiB") as info:
    memory.check_fits(MultiModel, hp, _specs(), training=True, what="run/hparams.json",
                      available=24 << 30)
  assert what in str(info.value)


def test_a_vocabulary_of_a_billion_is_refused_for_decoding_too():
  hp = registry.hparams("multimodel_tiny")
  spec = fake_problems.FakeCopyProblem(name="mem_big").spec(None)
  spec = dataclasses.replace(spec, input_vocab_size=10**9, target_vocab_size=10**9)
  with pytest.raises(errors.ConfigError, match="decoding: 4 bytes each"):
    memory.check_fits(MultiModel, hp, [spec], training=False, what="x", available=24 << 30)


def test_multimodel_base_fits_a_machine_of_its_size():
  hp = registry.hparams("multimodel_base")
  found = memory.check_fits(MultiModel, hp, _specs(), training=True, what="x", available=24 << 30)
  assert 0.9e9 < found.parameters < 1.1e9


def test_a_model_without_an_estimate_is_not_checked():
  hp = registry.hparams("multimodel_base").replace(moe_num_experts=100_000)
  assert memory.check_fits(object, hp, _specs(), training=True, what="x", available=1) is None
