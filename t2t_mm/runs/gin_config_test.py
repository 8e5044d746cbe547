"""Gin binds registered components' arguments, never hparams, and is saved to output_dir."""

import gin
import pytest

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data.problem import Problem
from t2t_mm.runs import gin_config


class GinSizedProblem(Problem):

  def __init__(self, was_reversed=False, num_examples=10, hidden_size=None):
    self.was_reversed, self.num_examples, self.hidden_size = was_reversed, num_examples, hidden_size


@pytest.fixture
def sized_problem(clean_registry):
  clean_registry.register_problem(GinSizedProblem)
  yield "gin_sized_problem"
  gin.clear_config()


def test_gin_param_binds_a_registered_problem(sized_problem, tmp_path):
  gin_config.setup(None, [], ["problems.gin_sized_problem.num_examples = 77"])
  assert registry.problem(sized_problem).num_examples == 77
  gin_config.save(str(tmp_path))
  assert "num_examples = 77" in (tmp_path / "operative_config.gin").read_text()


def test_saved_config_is_reloaded_and_command_line_wins(sized_problem, tmp_path):
  gin_file = tmp_path / "sizes.gin"
  gin_file.write_text("problems.gin_sized_problem.num_examples = 5\n")
  gin_config.setup(None, [str(gin_file)], [])
  gin_config.save(str(tmp_path))
  gin.clear_config()
  gin_config.setup(str(tmp_path), [], [])
  assert registry.problem(sized_problem).num_examples == 5
  gin_config.setup(str(tmp_path), [], ["problems.gin_sized_problem.num_examples = 6"])
  assert registry.problem(sized_problem).num_examples == 6


def test_binding_an_hparam_is_an_error(sized_problem, tmp_path):
  with pytest.raises(errors.ConfigError, match="'hidden_size'.*--hparams"):
    gin_config.setup(None, [], ["problems.gin_sized_problem.hidden_size = 3"])
  gin_file = tmp_path / "bad.gin"
  gin_file.write_text("problems.gin_sized_problem.hidden_size = 3  # not allowed\n")
  with pytest.raises(errors.ConfigError, match="hidden_size"):
    gin_config.setup(None, [str(gin_file)], [])


def test_unknown_configurable_and_missing_file_are_errors(sized_problem):
  with pytest.raises(errors.ConfigError, match="gin"):
    gin_config.setup(None, [], ["problems.no_such_problem.num_examples = 1"])
  with pytest.raises(errors.ConfigError, match="nope.gin"):
    gin_config.setup(None, ["nope.gin"], [])


@pytest.mark.parametrize("line", [
    "import os\nproblems.gin_sized_problem.num_examples = 1",
    "problems.gin_sized_problem.num_examples = @os.system()",
    "problems.gin_sized_problem.num_examples = %MACRO",
    "include '/tmp/elsewhere.gin'",
    "problems.gin_sized_problem.num_examples = [1,\n    @os.system()]",
])
def test_a_run_folders_config_gin_may_not_run_code(sized_problem, tmp_path, line):
  marker = tmp_path / "ran"
  (tmp_path / "config.gin").write_text(
      line.replace("os.system()", f"os.system('touch {marker}')") + "\n")
  with pytest.raises(errors.DataError, match=r"config\.gin, line \d"):
    gin_config.setup(str(tmp_path), [], [])
  assert not marker.exists()


def test_a_run_folders_literal_bindings_still_load(sized_problem, tmp_path):
  (tmp_path / "config.gin").write_text(
      "# Parameters for gin_sized_problem:\n"
      "problems.gin_sized_problem.num_examples = 12\n"
      "problems.gin_sized_problem.was_reversed = False  # trailing comments are literal-safe\n")
  gin_config.setup(str(tmp_path), [], [])
  assert registry.problem(sized_problem).num_examples == 12


def test_the_users_own_gin_file_keeps_references(sized_problem, tmp_path):
  gin_file = tmp_path / "mine.gin"
  gin_file.write_text("problems.gin_sized_problem.num_examples = %N\nN = 3\n")
  gin_config.setup(None, [str(gin_file)], [])
  assert registry.problem(sized_problem).num_examples == 3


def test_setup_leaves_gin_open_for_configurables_registered_later():
  # A long-lived process (the Python API) may import a plugin after a run's config was read.
  gin_config.setup(None, (), ())
  try:
    @gin.configurable("gin_config_test_late")
    def late(x=1):
      return x

    assert late() == 1
  finally:
    gin.clear_config()
