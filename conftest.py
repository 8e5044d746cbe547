"""Fixtures shared by the tests beside the code (t2t_mm/**/*_test.py) and the end-to-end and
command-line tests in tests/; every test under tests/ is marked `slow`
(`pytest -m "not slow"` runs the fast unit tests)."""

import fcntl
import os
import subprocess
import sys
import tempfile

import pytest

# Two xdist workers share the 2 cores, and the tools' subprocesses inherit this: one intra-op
# thread per process keeps them from oversubscribing the cores (Eigen's pool spins while it
# waits). Set before TensorFlow's runtime starts; a value already set wins.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
# The tests' subprocesses (`python -m t2t_mm.bin.X`, `python -c ...`) start in the checkout,
# whose t2t_mm/ folder would shadow the installed package that also holds bin/, problems/ and
# hparams/ (they sit at the top of the source tree). Python >= 3.11 then leaves the working
# folder off sys.path; the tool runner below also starts its processes in a neutral folder.
os.environ.setdefault("PYTHONSAFEPATH", "1")
# Plugin folders the tests pass with --usr_dir are trusted in a list of the test run's own
# (t2t_mm/plugins.py), not in the user's ~/.config.
os.environ.setdefault("T2T_MM_TRUST_FILE", os.path.join(
    tempfile.mkdtemp(prefix="t2t_mm_trust_"), "trusted_plugins.json"))

from t2t_mm import registry  # noqa: E402


_MACHINE_LOCK = os.path.join(tempfile.gettempdir(), f"t2t_mm_tests_{os.getuid()}.lock")


@pytest.fixture(autouse=True)
def _machine_share(request):
  """Every test holds a shared lock on the machine; one marked `whole_machine` (it needs most
  of the memory) holds it alone, so the other xdist worker waits between its tests."""
  alone = request.node.get_closest_marker("whole_machine") is not None
  with open(_MACHINE_LOCK, "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
    try:
      yield
    finally:
      fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def clean_registry():
  """Lets a test register names; the registries are restored afterwards."""
  saved = registry.snapshot()
  yield registry
  registry.restore(saved)


def run_tool(tool: str, *args: str, cwd=None, timeout=600, stdin=None, env=None
             ) -> subprocess.CompletedProcess:
  """Runs an mm-* tool (as `python -m t2t_mm.bin.<tool>`) and returns its result; `env`: extra
  environment variables."""
  module = "t2t_mm.bin." + tool.replace("-", "_")
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
  return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                        cwd=cwd or tempfile.gettempdir(), env=env, timeout=timeout,
                        check=False, input=stdin)


@pytest.fixture(scope="session")
def tool():
  return run_tool


@pytest.fixture
def plugin_dir(tmp_path):
  """A --usr_dir package registering problem `plugin_ende_words` and set `plugin_tiny`."""
  pkg = tmp_path / "my_t2t_plugin"
  pkg.mkdir()
  (pkg / "__init__.py").write_text(
      "from t2t_mm import registry\n"
      "from t2t_mm.config.hparams import HParams\n"
      "from t2t_mm.data.problem import Problem\n\n"
      "@registry.register_problem\n"
      "class PluginEndeWords(Problem):\n"
      "  def __init__(self, was_reversed=False, num_examples=10):\n"
      "    self.was_reversed, self.num_examples = was_reversed, num_examples\n\n"
      "@registry.register_hparams\n"
      "def plugin_tiny():\n"
      "  return HParams(hidden_size=16)\n")
  return str(pkg)


FAKE_PLUGIN = (
    "from t2t_mm import registry\n"
    "from t2t_mm.testing import fake_model, fake_problems\n\n"
    "@registry.register_problem\n"
    "class CliCopy(fake_problems.FakeCopyProblem):\n"
    "  def __init__(self, was_reversed=False):\n"
    "    super().__init__(name='cli_copy')\n\n"
    "@registry.register_problem\n"
    "class CliLabel(fake_problems.FakeLabelProblem):\n"
    "  def __init__(self, was_reversed=False):\n"
    "    super().__init__(name='cli_label')\n\n"
    "@registry.register_hparams\n"
    "def cli_fake():\n"
    "  return registry.hparams('multimodel_tiny').replace(\n"
    "      model='fake_seq2seq', hidden_size=16, batch_size=8)\n")


@pytest.fixture(scope="session")
def fake_plugin_dir(tmp_path_factory):
  """A --usr_dir registering in-memory problems cli_copy, cli_label and hparams set cli_fake
  (the fake_seq2seq model): a trainer run of a few steps takes seconds."""
  pkg = tmp_path_factory.mktemp("plugins") / "fake_cli_plugin"
  pkg.mkdir()
  (pkg / "__init__.py").write_text(FAKE_PLUGIN)
  return str(pkg)


@pytest.fixture(scope="session")
def mini_tmp_dir(tmp_path_factory):
  """A --tmp_dir shared by the data tests, so espeak-ng word clips are synthesized once."""
  return str(tmp_path_factory.mktemp("mini_raw"))


def pytest_collection_modifyitems(config, items):
  del config
  tests_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests") + os.sep
  for item in items:
    if str(item.path).startswith(tests_dir):
      item.add_marker(pytest.mark.slow)
  # Tests that need most of the memory go first: xdist hands out modules in this order
  # (pyproject.toml's --no-loadscope-reorder), so each starts while the workers are fresh and
  # hold little (a worker keeps much of what its earlier tests allocated). The sort is stable.
  items.sort(key=lambda item: item.get_closest_marker("whole_machine") is None)
