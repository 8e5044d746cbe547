"""A benchmark's measurement in a child process: run_json(script, flags) -> the JSON it printed.

Thread counts, logical CPU devices and the allocator must be set before TensorFlow starts, so
benchmarks that compare them run each setting in a process of its own. The child prints one
JSON object as its last stdout line; a child that fails stops the benchmark with its stderr.
"""

import json
import os
import subprocess
import sys


def run_json(script: str, flags: list, what: str) -> dict:
  done = subprocess.run([sys.executable, script] + list(flags), capture_output=True, text=True,
                        check=False, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  if done.returncode:
    raise SystemExit(f"{os.path.basename(script)}: {what} failed:\n{done.stderr[-3000:]}")
  return json.loads(done.stdout.strip().splitlines()[-1])
