"""Decoding threads: the measured rule, and that configure sets TensorFlow's pools."""

import subprocess
import sys

import pytest

from t2t_mm import errors
from t2t_mm.decoding import threads


def test_one_thread_for_one_input_every_core_for_batches():
  assert threads.decode_threads(1, cores=8) == 1
  assert threads.decode_threads(32, cores=8) == 8
  assert threads.decode_threads(2, cores=2) == 2
  assert threads.decode_threads(1, requested=3, cores=8) == 3
  with pytest.raises(errors.ConfigError, match="--threads"):
    threads.decode_threads(1, requested=-1)


def test_configure_sets_both_pools_before_the_runtime_starts():
  code = ("from t2t_mm.decoding import threads; threads.configure(1); import tensorflow as tf; "
          "tf.constant(1) + 1; print(tf.config.threading.get_intra_op_parallelism_threads(), "
          "tf.config.threading.get_inter_op_parallelism_threads())")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.split()[-2:] == ["1", "1"]
