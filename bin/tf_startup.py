"""Starts TensorFlow with its start-up noise hidden: what TF_CPP_MIN_LOG_LEVEL promises.

TensorFlow's C++ code logs through absl, and every line absl logs before absl::InitializeLog()
goes to stderr whatever the level (abseil-cpp PR 1957, still open): TensorFlow applies
TF_CPP_MIN_LOG_LEVEL only later. So the INFO lines of `import tensorflow` (oneDNN, cudart_stub,
cpu_feature_guard) show even at level 3, and the CUDA probe of a machine without a GPU prints
`E... failed call to cuInit` (an ERROR, so level 2 keeps it). While TensorFlow is imported and
probes its devices, file descriptor 2 goes through `StartupFilter`, which drops exactly the
lines the level hides (and that one probe error when there is no GPU) and passes on every other
line at once, in order. Start-up is the only window: later lines are TensorFlow's own business.
"""

import contextlib
import os
import re
import sys
import threading

# absl's prefix: severity, date, time (seconds since the epoch before its init), thread,
# file:line].
_ABSL_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] ")
_ABSL_PRE_INIT = b"WARNING: All log messages before absl::InitializeLog() is called"
# The second line of cpu_feature_guard's INFO message.
_CPU_FEATURES = re.compile(rb"^To enable the following instructions: .* rebuild TensorFlow "
                           rb"with the appropriate compiler flags\.$")
_CUINIT = re.compile(rb"\] failed call to cuInit: ")
_LEVELS = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}


class StartupFilter:
  """Which start-up lines to drop at TF_CPP_MIN_LOG_LEVEL `min_level` (0: none)."""

  def __init__(self, min_level: int, has_gpu: bool):
    self.min_level, self.has_gpu = min_level, has_gpu

  def drops(self, line: bytes) -> bool:
    line = line.rstrip(b"\r\n")
    if self.min_level <= 0:
      return False
    if line.startswith(_ABSL_PRE_INIT) or _CPU_FEATURES.match(line):
      return True  # The notice that INFO lines follow; the tail of an INFO line.
    match = _ABSL_LINE.match(line)
    if not match:
      return False
    if _LEVELS[match.group(1)] < self.min_level:
      return True
    # No GPU here, so the CUDA probe can only fail; with a GPU the failure is news.
    return match.group(1) == b"E" and not self.has_gpu and bool(_CUINIT.search(line))


def min_log_level() -> int:
  try:
    return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
  except ValueError:
    return 0  # TensorFlow reads an unparsable level as 0 too.


def has_gpu() -> bool:
  """Whether an NVIDIA driver exposes a device (its control node exists)."""
  return os.path.exists("/dev/nvidiactl")


@contextlib.contextmanager
def filtered_stderr(line_filter: StartupFilter):
  """Routes file descriptor 2 (C++ and Python writes alike) through `line_filter`: each line it
  does not drop is written to the real stderr as soon as it is complete."""
  sys.stderr.flush()
  real = os.dup(2)
  read_end, write_end = os.pipe()

  def forward():
    with os.fdopen(read_end, "rb") as pipe:
      for line in pipe:
        if not line_filter.drops(line):
          os.write(real, line)

  thread = threading.Thread(target=forward, name="tf_startup_stderr", daemon=True)
  thread.start()
  os.dup2(write_end, 2)
  os.close(write_end)
  try:
    yield
  finally:
    sys.stderr.flush()
    os.dup2(real, 2)  # Closes the pipe's last write end: the thread sees EOF and ends.
    thread.join()
    os.close(real)


def start_tensorflow() -> None:
  """Imports TensorFlow and runs its device probe under the start-up filter."""
  line_filter = StartupFilter(min_log_level(), has_gpu())
  if not line_filter.min_level:
    import tensorflow  # noqa: F401
    return
  with filtered_stderr(line_filter):
    import tensorflow as tf
    # The CUDA probe (cuInit). It does not start the runtime: logical devices and
    # tf.distribute can still be configured afterwards.
    tf.config.list_physical_devices()
