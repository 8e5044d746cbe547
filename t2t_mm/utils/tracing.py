"""tf.function per problem, without TensorFlow's false "triggered tf.function retracing" warning.

    step = tracing.function_for(step_fn, problem_name, input_signature=[spec])

TensorFlow counts traces per Python code object (polymorphic_function's
_get_key_for_call_stats), so the per-problem functions made from one `def` count as a single
function that "retraced" on each problem's first call, and it warns after five problems. Here
each problem's function gets a code object of its own (named after the problem; code objects
with equal names compare equal), so each is counted alone: a real retrace still warns.
"""

import types
from typing import Callable

from t2t_mm.utils.lazy import tf


def function_for(fn: Callable, tag: str, **tf_function_kwargs):
  """tf.function(fn, **tf_function_kwargs), counted by TensorFlow apart from other tags."""
  code = fn.__code__
  own = types.FunctionType(code.replace(co_name=f"{code.co_name}_{tag}"), fn.__globals__,
                           code.co_name, fn.__defaults__, fn.__closure__)
  own.__kwdefaults__, own.__qualname__ = fn.__kwdefaults__, f"{fn.__qualname__}[{tag}]"
  return tf.function(own, **tf_function_kwargs)
