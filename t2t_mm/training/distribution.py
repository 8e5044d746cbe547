"""tf.distribute strategies by name.

    strategy = make_strategy("mirrored", cpu_devices=2)   # two logical CPUs: tests the
                                                           # distributed code path on a laptop

Known on this stack (docs/STACK.md): Keras `fit()` fails under MultiWorkerMirroredStrategy, so
the trainer uses its own loop with `strategy.run`; the optimizer must be built inside
`strategy.scope()` before the first step.
"""

import json
import os
import socket
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
  resolver = tpu_resolver(tpu)
  tf.config.experimental_connect_to_cluster(resolver)
  tf.tpu.experimental.initialize_tpu_system(resolver)
  return tf.distribute.TPUStrategy(resolver)


_TPU_HELP = ("pass --tpu=local on a Cloud TPU VM, --tpu=NAME of a Cloud TPU, or "
             "--tpu=grpc://HOST:8470")


def tpu_resolver(tpu: Optional[str], timeout_s: float = 10.0):
  """A TPUClusterResolver for `tpu`, checked to answer before TensorFlow connects to it (a
  connection to an address where no TPU listens waits without end): errors.ConfigError, one
  line, when no TPU is there."""
  if not tpu:
    raise errors.ConfigError(f"--distribution=tpu needs a TPU: {_TPU_HELP}.")
  if tpu == "local":
    if not tf.config.list_physical_devices("TPU"):
      raise errors.ConfigError(f"--tpu=local: this machine has no TPU device; {_TPU_HELP}.")
    return tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
  try:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    master = resolver.master()
  except (ValueError, RuntimeError, OSError, tf.errors.OpError) as e:
    raise errors.ConfigError(f"--tpu={tpu}: no TPU found ({errors.first_line(e)}); "
                             f"{_TPU_HELP}.") from e
  address = master[len("grpc://"):] if master.startswith("grpc://") else master
  host, _, port = address.rpartition(":")
  try:
    socket.create_connection((host, int(port)), timeout=timeout_s).close()
  except (OSError, ValueError) as e:
    raise errors.ConfigError(f"--tpu={tpu}: no TPU answers at {master} ({e}); "
                             f"{_TPU_HELP}.") from e
  return resolver


def is_tpu(strategy: tf.distribute.Strategy) -> bool:
  return isinstance(strategy, tf.distribute.TPUStrategy)


def check_static_shapes(problems, data_config) -> None:
  """For TPUs: every batch must have one of a bounded set of static shapes: sequences padded
  to their length bucket (data_config.static_shapes, which the trainer sets under TPUs) and a
  fixed image_size for images. ConfigError naming each problem (name -> ProblemSpec) whose
  batches would not."""
  bad = []
  for name, spec in problems.items():
    if spec.input_modality == "image" and spec.image_size is None:
      bad.append(f"{name} (images of any size: give it an image_size)")
    elif not data_config.static_shapes and spec.input_modality != "image":
      bad.append(f"{name} (batches padded to their longest example: DataConfig.static_shapes "
                 "pads them to their length bucket)")
  if bad:
    raise errors.ConfigError("Under TPUStrategy each batch needs a static shape; these problems "
                             f"would not have one: {'; '.join(bad)}.")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """Whether this worker writes checkpoints, summaries and results."""
  if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
    return True
  task = json.loads(os.environ["TF_CONFIG"]).get("task", {})
  return task.get("type") in (None, "chief") or (
      task.get("type") == "worker" and task.get("index", 0) == 0)
