"""The tools start TensorFlow quietly: no C++ start-up banners, no CUDA probe noise without a
GPU, and every other line (a real error) still shows; TF_CPP_MIN_LOG_LEVEL=0 shows it all."""

import os
import re
import subprocess
import sys

from t2t_mm.bin import tf_startup

NOISE = ("cuInit", "cudart_stub", "oneDNN custom operations are on",
         "This TensorFlow binary is optimized", "absl::InitializeLog")
CODE = "import t2t_mm.bin, tensorflow as tf; print(tf.reduce_sum(tf.ones(3)).numpy())"


def _python(code, **env):
  base = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        env=dict(base, **env), timeout=300, check=False)


def test_tensorflow_starts_without_noise_under_the_tools_defaults():
  result = _python(CODE)
  assert result.returncode == 0, result.stderr
  assert result.stdout.split() == ["3.0"]
  assert not [n for n in NOISE if n in result.stderr], result.stderr


def test_a_log_level_the_user_sets_brings_the_info_lines_back():
  result = _python(CODE, TF_CPP_MIN_LOG_LEVEL="0")
  assert result.returncode == 0, result.stderr
  assert re.search(r"^I\d{4} ", result.stderr, re.M), result.stderr


def test_lines_written_during_start_up_that_are_not_noise_still_show():
  # A Python warning and a C++ error written while TensorFlow starts, beside an INFO line.
  code = ("import os, sys\n"
          "from t2t_mm.bin import tf_startup\n"
          "with tf_startup.filtered_stderr(tf_startup.StartupFilter(2, has_gpu=False)):\n"
          "  print('UserWarning: something real', file=sys.stderr)\n"
          "  os.write(2, b'I0000 00:00:1796174931.1    12 port.cc:153] oneDNN custom "
          "operations are on.\\n')\n"
          "  os.write(2, b'E0000 00:00:1796174931.2    12 op.cc:7] a real failure\\n')\n"
          "print('after', file=sys.stderr)\n")
  result = _python(code, TF_CPP_MIN_LOG_LEVEL="2")
  assert result.returncode == 0, result.stderr
  assert result.stderr.splitlines() == [
      "UserWarning: something real",
      "E0000 00:00:1796174931.2    12 op.cc:7] a real failure", "after"]


def test_filter_drops_only_what_the_level_hides():
  info = b"I0000 00:00:1796174931.337929    3075 cudart_stub.cc:31] Could not find cuda drivers\n"
  warning = b"W0000 00:00:1796174931.3    3075 x.cc:1] a warning\n"
  error = b"E0000 00:00:1796174931.3    3075 x.cc:1] an error\n"
  cuinit = (b"E0000 00:00:1796174932.501400    3075 cuda_platform.cc:52] failed call to "
            b"cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n")
  level2 = tf_startup.StartupFilter(2, has_gpu=False)
  assert level2.drops(info) and level2.drops(warning) and level2.drops(cuinit)
  assert not level2.drops(error)
  assert not level2.drops(b"Traceback (most recent call last):\n")
  assert not level2.drops(b"something TensorFlow has never printed\n")
  # With a GPU, a failed probe is news.
  assert not tf_startup.StartupFilter(2, has_gpu=True).drops(cuinit)
  level1 = tf_startup.StartupFilter(1, has_gpu=False)
  assert level1.drops(info) and not level1.drops(warning)
  level0 = tf_startup.StartupFilter(0, has_gpu=False)
  assert not any(level0.drops(line) for line in (info, warning, error, cuinit))


def test_tools_hide_absl_python_info_unless_verbosity_is_given():
  # TensorFlow's Python code logs routine INFO through absl (one line per checkpoint).
  code = ("import sys\n"
          "from absl import logging\n"
          "from t2t_mm.bin import common\n"
          "sys.argv = ['tool'] + sys.argv[1:]\n"
          "common.run(lambda: logging.info('routine note') or logging.warning('real') or 0)\n")
  quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=False)
  assert quiet.returncode == 0, quiet.stderr
  assert "routine note" not in quiet.stderr and "real" in quiet.stderr
  verbose = subprocess.run([sys.executable, "-c", code, "--verbosity=0"], capture_output=True,
                           text=True, timeout=300, check=False)
  assert "routine note" in verbose.stderr, verbose.stderr
