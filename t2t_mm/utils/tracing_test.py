"""Per-problem tf.functions made from one `def` trace without the retracing warning; a real
retrace still warns."""

import logging

import tensorflow as tf

from t2t_mm.utils import tracing

RETRACING = "triggered tf.function retracing"


class _Records(logging.Handler):

  def __init__(self):
    super().__init__()
    self.messages = []

  def emit(self, record):
    self.messages.append(record.getMessage())


def _warnings(run):
  handler = _Records()
  tf.get_logger().addHandler(handler)
  try:
    run()
  finally:
    tf.get_logger().removeHandler(handler)
  return [m for m in handler.messages if RETRACING in m]


def _make(name, make_function):

  def step(x):
    return x * len(name)

  return make_function(step, name)


def _call_each_once(make_function):
  fns = [_make(f"problem{i}", make_function) for i in range(7)]
  return lambda: [fn(tf.constant([1.0, 2.0])) for fn in fns]


def test_one_trace_per_problem_does_not_warn():
  assert not _warnings(_call_each_once(tracing.function_for))


def test_plain_tf_functions_of_one_def_do_warn():
  # What function_for avoids: TensorFlow counts the seven as one function.
  assert _warnings(_call_each_once(lambda fn, name: tf.function(fn)))


def test_a_real_retrace_still_warns():
  fn = _make("only", tracing.function_for)
  assert _warnings(lambda: [fn(tf.zeros([n])) for n in range(1, 8)])


def test_the_function_computes_as_before():
  fn = tracing.function_for(lambda x, k=3: x * k, "p", input_signature=[
      tf.TensorSpec([None], tf.float32)])
  assert fn(tf.constant([1.0, 2.0])).numpy().tolist() == [3.0, 6.0]
