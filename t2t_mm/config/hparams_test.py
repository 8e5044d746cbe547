"""Typed hparams: parsing by type, errors with suggestions, JSON round trip, precedence."""

import dataclasses
import json
from typing import Dict, List, Literal, Optional

import pytest

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config import hparams as hparams_lib
from t2t_mm.runs import resolve
from t2t_mm.config import typed
from t2t_mm.config.hparams import HParams


@dataclasses.dataclass(frozen=True)
class AllTypes:
  flag: bool = False
  count: int = 1
  rate: float = 0.5
  name: str = "x"
  layers: List[int] = dataclasses.field(default_factory=list)
  names: List[str] = dataclasses.field(default_factory=list)
  nested: List[List[int]] = dataclasses.field(default_factory=list)
  weights: Dict[str, float] = dataclasses.field(default_factory=dict)
  mode: Literal["a", "b"] = "a"
  maybe: Optional[int] = None


def test_every_type_parses_by_its_field():
  got = typed.parse_overrides(
      "flag=true,count=3,rate=1e-3,name='a,b',layers=[0, 2],names=[x,y],nested=[[1,2],[3]],"
      "weights={wmt:2,parse:0.5},mode=b,maybe=7", AllTypes)
  assert got == {"flag": True, "count": 3, "rate": 1e-3, "name": "a,b", "layers": [0, 2],
                 "names": ["x", "y"], "nested": [[1, 2], [3]],
                 "weights": {"wmt": 2.0, "parse": 0.5}, "mode": "b", "maybe": 7}
  assert typed.parse_overrides("flag=False,maybe=none,layers=[]", AllTypes) == {
      "flag": False, "maybe": None, "layers": []}
  assert isinstance(typed.parse_overrides("rate=2", AllTypes)["rate"], float)


@pytest.mark.parametrize("text,key,expected", [
    ("count=1.5", "count", "int"),
    ("rate=fast", "rate", "float"),
    ("flag=maybe", "flag", "bool"),
    ("layers=3", "layers", r"list\[int\]"),
    ("layers=[a]", "layers", r"list\[int\]"),
    ("mode=c", "mode", r"one of \['a', 'b'\]"),
    ("weights=[1]", "weights", r"dict\[str, float\]"),
])
def test_wrong_type_names_key_and_type(text, key, expected):
  with pytest.raises(errors.ConfigError, match=f"'{key}' expects {expected}"):
    typed.parse_overrides(text, AllTypes)


def test_unknown_key_suggests_closest():
  with pytest.raises(errors.UnknownNameError, match="'hiden_size'.*hidden_size"):
    typed.parse_overrides("hiden_size=3", HParams)


@pytest.mark.parametrize("text", ["count", "layers=[1,2", "count=1]"])
def test_bad_syntax_is_an_error(text):
  with pytest.raises(errors.ConfigError):
    typed.parse_overrides(text, AllTypes)


def test_sets_and_replace_are_checked():
  with pytest.raises(errors.ConfigError, match="hidden_size"):
    HParams(hidden_size="128")
  with pytest.raises(errors.UnknownNameError, match="moe_k"):
    HParams().replace(moe_kk=2)
  tiny = registry.hparams("multimodel_tiny")
  assert tiny.hidden_size < registry.hparams("multimodel_base").hidden_size


def test_describe_lists_every_field_with_help():
  rows = {name: (tp, default, text) for name, tp, default, text in typed.describe(HParams)}
  assert set(rows) == set(typed.field_types(HParams))
  assert rows["moe_encoder_layers"][0] == "list[int]" and all(r[2] for r in rows.values())


def test_json_round_trip(tmp_path):
  hp = registry.hparams("multimodel_tiny").replace(
      moe_encoder_layers=[0, 2], problem_loss_weights={"a": 2.0}, dtype_policy="mixed_bfloat16")
  resolve.save_hparams(str(tmp_path), hp, "multimodel_tiny")
  loaded, set_name = resolve.resolve_hparams(None, "", str(tmp_path))
  assert loaded == hp and set_name == "multimodel_tiny"
  assert json.loads((tmp_path / "hparams.json").read_text())["hparams_set"] == "multimodel_tiny"


def test_precedence_set_then_saved_then_command_line(tmp_path):
  out = str(tmp_path)
  base = registry.hparams("multimodel_tiny")
  hp, _ = resolve.resolve_hparams("multimodel_tiny", "", out)
  assert hp == base  # Nothing saved yet: the set's values.
  resolve.save_hparams(out, base.replace(hidden_size=96, num_heads=2), "multimodel_tiny")
  hp, _ = resolve.resolve_hparams("multimodel_tiny", "", out)
  assert (hp.hidden_size, hp.num_heads) == (96, 2)  # Saved beats the set.
  hp, _ = resolve.resolve_hparams(None, "num_heads=8", out)
  assert (hp.hidden_size, hp.num_heads) == (96, 8)  # Command line beats saved.


def test_saved_set_mismatch_and_missing_set_are_errors(tmp_path):
  resolve.save_hparams(str(tmp_path), HParams(), "multimodel_base")
  with pytest.raises(errors.ConfigError, match="multimodel_base"):
    resolve.resolve_hparams("multimodel_tiny", "", str(tmp_path))
  with pytest.raises(errors.ConfigError, match="--hparams_set"):
    resolve.resolve_hparams(None, "", str(tmp_path / "empty"))


def test_corrupt_or_stale_saved_file_names_the_file(tmp_path):
  (tmp_path / "hparams.json").write_text('{"hparams_set": "multimodel_tiny", '
                                         '"hparams": {"hidden_sise": 3}}')
  with pytest.raises(errors.ConfigError, match="hparams.json.*hidden_size"):
    resolve.resolve_hparams(None, "", str(tmp_path))
  (tmp_path / "hparams.json").write_text("not json")
  with pytest.raises(errors.ConfigError, match="hparams.json"):
    resolve.resolve_hparams(None, "", str(tmp_path))
  for text, message in [
      ('{"hparams_set": "multimodel_tiny", "hparams": {"learning_rate": NaN}}', "finite"),
      ('{"hparams_set": "multimodel_tiny", "hparams": {"hidden_size": 8, "hidden_size": 9}}',
       "'hidden_size' is given twice"),
      ('{"hparams_set": "multimodel_tiny", "hparams": [1]}', "hparams.json")]:
    (tmp_path / "hparams.json").write_text(text)
    with pytest.raises(errors.ConfigError, match=message):
      resolve.resolve_hparams(None, "", str(tmp_path))


def test_decode_hparams():
  dhp = resolve.resolve_decode_hparams("beam_size=4,return_beams=true")
  assert (dhp.beam_size, dhp.return_beams) == (4, True)
  with pytest.raises(errors.UnknownNameError, match="beam_size"):
    resolve.resolve_decode_hparams("beam_sise=4")
  assert isinstance(dhp, hparams_lib.DecodeHParams)


def test_every_registered_set_passes_its_models_checks():
  for name in registry.names("hparams"):
    hp, _ = resolve.resolve_hparams(name)
    assert hp == registry.hparams(name), name


@pytest.mark.parametrize("overrides, message", [
    ("hidden_size=0", "'hidden_size' must be >= 1, got 0"),
    ("dropout=1.5", "'dropout' must be in [0, 1), got 1.5"),
    ("learning_rate=0", "'learning_rate' must be > 0"),
    ("conv_kernel_sizes=[3,3]", "'conv_kernel_sizes' must be 4 integers >= 1"),
    ("hidden_size=30,num_heads=7", "must be divisible by 'num_heads' (7)"),
    ("moe_num_experts=2,moe_k=4", "'moe_k' (4) must be <= 'moe_num_experts' (2)"),
    ("moe_encoder_layers=[7]", "positions [7] are outside 0 .. 6"),
    ("hidden_size=64,,moe_k=2", "Empty item"),
    ("conv_dilations=[1,,2,4]", "expects list[int]"),
    ("learning_rate=inf", "'learning_rate' expects a finite float, got inf"),
    ("clip_grad_norm=nan", "'clip_grad_norm' expects a finite float, got nan"),
    ("problem_loss_weights={p:nan}", "expects dict[str, float]"),
    ("problem_loss_weights={p:-1}", "weights >= 0, got {'p': -1.0}"),
    ("problem_loss_weights={p:1,p:2}", "names 'p' twice"),
    ("hidden_size=64,hidden_size=32", "'hidden_size' is given twice"),
])
def test_out_of_range_and_inconsistent_hparams_are_errors(overrides, message):
  with pytest.raises(errors.ConfigError) as info:
    resolve.resolve_hparams("multimodel_base", overrides)
  assert message in str(info.value)


def test_data_config_takes_the_pipeline_fields_of_hparams_and_checks_them():
  from t2t_mm.config.data_config import DataConfig
  hp = HParams(batch_size=12, max_input_length=40, max_target_length=30, seed=7)
  config = DataConfig.from_hparams(hp)
  assert config == DataConfig(batch_size=12, max_input_length=40, max_target_length=30, seed=7)
  assert DataConfig.from_hparams(config) is config
  assert config.replace(batch_size=6).batch_size == 6
  with pytest.raises(errors.ConfigError, match="'batch_size' must be >= 1"):
    config.replace(batch_size=0)
  with pytest.raises(errors.UnknownNameError, match="hidden_size"):
    config.replace(hidden_size=3)
