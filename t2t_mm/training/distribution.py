"""tf.distribute strategies by name.

    strategy = make_strategy("mirrored", cpu_devices=2)   # two logical CPUs: tests the
                                                           # distributed code path on a laptop

Known on this stack (docs/STACK.md): Keras `fit()` fails under MultiWorkerMirroredStrategy, so
the trainer uses its own loop with `strategy.run`; the optimizer must be built inside
`strategy.scope()` before the first step.
"""

import json
import os
from typing import Optional

import tensorflow as tf

from t2t_mm import errors

STRATEGIES = ("default", "mirrored", "multi_worker_mirrored", "tpu")


def split_cpu(num_devices: int) -> None:
  """Splits the CPU into `num_devices` logical devices (before TensorFlow's runtime starts)."""
  cpus = tf.config.list_physical_devices("CPU")
  current = tf.config.get_logical_device_configuration(cpus[0])
  if current and len(current) == num_devices:
    return
  try:
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)])
  except RuntimeError as e:
    raise errors.ConfigError(
        f"cpu_devices={num_devices} must be set before TensorFlow starts its runtime: {e}") from e


def make_strategy(name: str = "default", cpu_devices: int = 1,
                  tpu: Optional[str] = None) -> tf.distribute.Strategy:
  """The strategy `name`; `cpu_devices` > 1 splits the CPU (for mirrored runs without GPUs)."""
  if name not in STRATEGIES:
    raise errors.ConfigError(f"distribution expects one of {list(STRATEGIES)}, got {name!r}.")
  if cpu_devices > 1:
    split_cpu(cpu_devices)
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(devices=devices)
  if name == "multi_worker_mirrored":
    if "TF_CONFIG" not in os.environ:
      raise errors.ConfigError("multi_worker_mirrored needs the TF_CONFIG environment variable "
                               "(cluster and task) on every worker.")
    return tf.distribute.MultiWorkerMirroredStrategy()
  # TPU: built when a TPU is reachable (e.g. a Cloud TPU VM: tpu="local").
  resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
  tf.config.experimental_connect_to_cluster(resolver)
  tf.tpu.experimental.initialize_tpu_system(resolver)
  return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """Whether this worker writes checkpoints, summaries and results."""
  if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
    return True
  task = json.loads(os.environ["TF_CONFIG"]).get("task", {})
  return task.get("type") in (None, "chief") or (
      task.get("type") == "worker" and task.get("index", 0) == 0)
