"""Registry: naming, duplicates, suggestions, suites, _rev variants and plugins."""

import sys

import pytest

from t2t_mm import errors
from t2t_mm import plugins
from t2t_mm import registry
from t2t_mm.config.hparams import HParams
from t2t_mm.data.problem import Problem


class WmtEnDeWords(Problem):

  def __init__(self, was_reversed=False):
    self.was_reversed = was_reversed


def test_default_name_is_snake_case():
  assert registry.default_name(WmtEnDeWords) == "wmt_en_de_words"

  class MultiModel:
    pass

  def multimodel_tiny():
    pass

  assert registry.default_name(MultiModel) == "multi_model"
  assert registry.default_name(multimodel_tiny) == "multimodel_tiny"


def test_register_and_lookup(clean_registry):
  clean_registry.register_problem(WmtEnDeWords)
  assert isinstance(registry.problem("wmt_en_de_words"), WmtEnDeWords)
  assert "wmt_en_de_words" in registry.names("problems")


def test_register_with_explicit_name(clean_registry):

  @clean_registry.register_hparams(name="my_set")
  def some_function():
    return HParams(hidden_size=24)

  assert registry.hparams("my_set").hidden_size == 24
  with pytest.raises(errors.UnknownNameError):
    registry.hparams("some_function")


def test_registering_a_name_twice_is_an_error(clean_registry):

  @clean_registry.register_hparams
  def dup_set():
    return 1

  with pytest.raises(errors.ConfigError, match="dup_set.*registered twice"):

    @clean_registry.register_hparams(name="dup_set")
    def other():
      return 2


def test_unknown_name_lists_closest(clean_registry):
  # Names the built-in problems (wmt_ende, ...) do not use.
  for name in ("toy_ende", "toy_enfr", "picture_net"):
    clean_registry.register_problem(type(name.title(), (WmtEnDeWords,), {}), name=name)
  with pytest.raises(errors.UnknownNameError) as e:
    registry.problem("toy_endee")
  message = str(e.value)
  assert "toy_endee" in message and "toy_ende" in message and "picture_net" not in message


def test_rev_variant_swaps(clean_registry):
  clean_registry.register_problem(WmtEnDeWords)
  assert registry.problem("wmt_en_de_words_rev").was_reversed
  assert not registry.problem("wmt_en_de_words").was_reversed
  with pytest.raises(errors.UnknownNameError):
    registry.problem("nothing_like_it_rev")


def test_suites_globs_and_lists_expand(clean_registry):
  for name in ("a_one", "a_two", "b_one"):
    clean_registry.register_problem(type(name, (WmtEnDeWords,), {}), name=name)
  clean_registry.register_suite("both_a", ["a_one", "a_two"])
  assert registry.expand_problem_names("both_a,b_one,a_one") == ["a_one", "a_two", "b_one"]
  assert registry.expand_problem_names("a_*") == ["a_one", "a_two"]
  assert registry.expand_problem_names("b_one_rev") == ["b_one_rev"]
  with pytest.raises(errors.UnknownNameError, match="z_\\*"):
    registry.expand_problem_names("z_*")
  with pytest.raises(errors.UnknownNameError, match="b_one"):
    registry.expand_problem_names("a_one,b_onee")


def test_help_string_groups_by_kind(clean_registry):
  clean_registry.register_problem(WmtEnDeWords)
  clean_registry.register_suite("tiny_suite", ["wmt_en_de_words"])
  text = registry.help_string()
  assert text.index("Problems:") < text.index("wmt_en_de_words") < text.index("Suites:")
  assert "tiny_suite: wmt_en_de_words" in text
  assert text.index("Hparams:") < text.index("multimodel_tiny")


def test_usr_dir_plugin_registers(clean_registry, plugin_dir):
  plugins.import_usr_dir(plugin_dir)
  assert registry.problem("plugin_ende_words").num_examples == 10
  assert registry.hparams("plugin_tiny").hidden_size == 16


def test_usr_dir_must_be_a_package(tmp_path):
  with pytest.raises(errors.ConfigError, match="__init__.py"):
    plugins.import_usr_dir(str(tmp_path))


def test_entry_point_plugin_registers(clean_registry, tmp_path, monkeypatch):
  # A distribution installed on sys.path declares an entry point in group t2t_mm.plugins.
  (tmp_path / "ep_plugin_mod.py").write_text(
      "from t2t_mm import registry\n"
      "from t2t_mm.config.hparams import HParams\n"
      "@registry.register_hparams\n"
      "def entry_point_set():\n"
      "  return HParams(hidden_size=40)\n")
  dist = tmp_path / "ep_plugin-1.0.dist-info"
  dist.mkdir()
  (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plugin\nVersion: 1.0\n")
  (dist / "entry_points.txt").write_text("[t2t_mm.plugins]\nep = ep_plugin_mod\n")
  monkeypatch.syspath_prepend(str(tmp_path))
  monkeypatch.delitem(sys.modules, "ep_plugin_mod", raising=False)
  plugins.load_entry_point_plugins()
  assert registry.hparams("entry_point_set").hidden_size == 40


def test_a_registered_class_knows_its_name_and_a_subclass_does_not_inherit_it(clean_registry):
  clean_registry.register_problem(WmtEnDeWords, name="words_de")

  class Unregistered(WmtEnDeWords):
    pass

  assert WmtEnDeWords().base_name == "words_de" and WmtEnDeWords(True).name == "words_de_rev"
  assert registry.registered_name(WmtEnDeWords) == "words_de"
  assert Unregistered().base_name == "unregistered"


def test_registration_checks_what_is_registered(clean_registry):
  class NotAProblem:
    pass

  with pytest.raises(errors.ConfigError, match="not a Problem: it has no spec, dataset"):
    clean_registry.register_problem(NotAProblem)
  with pytest.raises(errors.ConfigError, match="keras.layers.Layer subclass"):
    clean_registry.register_modality(NotAProblem, name="not_a_modality")
  with pytest.raises(errors.ConfigError, match="keras.Model subclass"):
    clean_registry.register_model(NotAProblem, name="not_a_model")
  import keras

  class NoCachedDecoding(keras.Model):
    def start_decoding(self, features, problem, max_length):
      return {}

  with pytest.raises(errors.ConfigError, match="NoCachedDecoding lacks decode_step"):
    clean_registry.register_model(NoCachedDecoding, name="no_cached_decoding")
  clean_registry.register_hparams(lambda: {"hidden_size": 8}, name="dict_set")
  with pytest.raises(errors.ConfigError, match="'dict_set' returned dict, not an HParams"):
    registry.hparams("dict_set")
  assert "not_a_problem" not in registry.names("problems")


def test_snapshot_and_restore_undo_registrations():
  saved = registry.snapshot()
  registry.register_problem(WmtEnDeWords, name="snapshot_words")
  registry.unregister("problems", "wmt_ende_mini")
  assert "snapshot_words" in registry.names("problems")
  registry.restore(saved)
  assert "snapshot_words" not in registry.names("problems")
  assert "wmt_ende_mini" in registry.names("problems")
  with pytest.raises(errors.UnknownNameError):
    registry.unregister("problems", "no_such_problem")


def test_builtins_come_through_their_entry_point_and_a_missing_one_is_named(monkeypatch):
  import importlib.metadata
  found = importlib.metadata.entry_points(group=plugins.BUILTINS_GROUP)
  assert [e.value for e in found] == ["t2t_mm.builtins"]
  assert "wmt_ende_mini" in registry.names("problems")  # Registered by what it imports.
  real = importlib.metadata.entry_points
  monkeypatch.setattr(importlib.metadata, "entry_points",
                      lambda group=None: [] if group == plugins.BUILTINS_GROUP else real(
                          group=group))
  with pytest.raises(errors.ConfigError, match=r"t2t_mm.components.*install t2t_mm"):
    plugins.load_builtin_components()
