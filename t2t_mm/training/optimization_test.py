"""FusedAdam: the same updates as keras.optimizers.Adam, on one device and mirrored."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import tensorflow as tf

from t2t_mm import registry
from t2t_mm.training import optimization


def _run_steps(optimizer, steps=4, ids=(1, 4, 4, 7), densify=False):
  """Trains a dense kernel, an embedding table (sparse gradients; `densify` hands them to the
  optimizer as dense tensors) and a bias whose gradients are so small that epsilon matters."""
  rng = np.random.default_rng(0)
  kernel = keras.Variable(rng.normal(size=(5, 3)).astype("float32"), name="kernel")
  table = keras.Variable(rng.normal(size=(10, 3)).astype("float32"), name="table")
  bias = keras.Variable(np.zeros((3,), "float32"), name="bias")
  optimizer.build([kernel, table, bias])
  x = tf.constant(rng.normal(size=(8, 5)).astype("float32"))
  ids = tf.constant(ids)

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      # Large values so that global_clipnorm=1.0 clips.
      loss = 30.0 * tf.reduce_sum(tf.square(x @ kernel.value)) + tf.reduce_sum(
          tf.gather(table.value, ids) ** 3) + 1e-6 * tf.reduce_sum(bias.value * [1., 2., 3.])
    grads = tape.gradient(loss, [kernel.value, table.value, bias.value])
    assert isinstance(grads[1], tf.IndexedSlices)
    if densify:
      grads[1] = tf.convert_to_tensor(grads[1])
    optimizer.apply_gradients(zip(grads, [kernel, table, bias]))

  for _ in range(steps):
    step()
  slots = [v.numpy() for v in optimizer.variables if v.path.endswith(("momentum", "velocity"))]
  return kernel.numpy(), table.numpy(), bias.numpy(), slots


def _optimizers(clip_grad_norm):
  """(keras.optimizers.Adam, FusedAdam) with the trainer's settings (make_optimizer)."""
  hp = registry.hparams("multimodel_tiny").replace(
      learning_rate=0.2, learning_rate_warmup_steps=2, clip_grad_norm=clip_grad_norm)
  fused = optimization.make_optimizer(hp)
  return keras.optimizers.Adam.from_config(fused.get_config()), fused


def _assert_same_training(got, want):
  start = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
  assert not np.allclose(want[0], start, atol=1e-3)  # The steps moved the kernel.
  # Steps of up to lr = 0.2; float32 rounding differs in the fused kernel's order of ops.
  for g, w in zip(got[:2], want[:2]):
    np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(got[2], want[2], rtol=1e-3, atol=0)
  assert len(got[3]) == len(want[3]) == 6  # m and v of each variable.
  for g, w in zip(got[3], want[3]):
    assert np.abs(w).max() > 0
    np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6 * np.abs(w).max())


def test_fused_adam_matches_keras_adam_with_schedule_clipping_and_sparse_gradients():
  reference, fused = _optimizers(clip_grad_norm=1.0)
  want, got = _run_steps(reference), _run_steps(fused)
  # The bias's clipped gradients are far below epsilon: its steps scale with them (1:2:3),
  # where with epsilon ignored each would be about lr.
  assert np.all(np.abs(want[2]) > 1e-6) and abs(want[2][2] / want[2][0] - 3.0) < 0.1
  _assert_same_training(got, want)


def test_fused_adam_sums_repeated_sparse_rows_first_as_dense_adam():
  """Unclipped, with id 4 gathered twice: FusedAdam given the IndexedSlices trains as Keras's
  Adam given the same gradient as a dense tensor (v gets the square of the summed rows)."""
  reference, fused = _optimizers(clip_grad_norm=0.0)
  want, got = _run_steps(reference, densify=True), _run_steps(fused)
  _assert_same_training(got, want)


def test_trainer_optimizer_is_fused_adam_from_hparams_and_config_round_trips():
  hp = registry.hparams("multimodel_tiny")
  opt = optimization.make_optimizer(hp)
  assert isinstance(opt, optimization.FusedAdam)
  assert (opt.beta_1, opt.beta_2, opt.epsilon, opt.global_clipnorm) == (
      hp.adam_beta1, hp.adam_beta2, hp.adam_epsilon, hp.clip_grad_norm)
  again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
  assert type(again) is optimization.FusedAdam
  assert again.get_config() == opt.get_config()


def test_fused_adam_updates_every_replica_copy_under_mirrored_strategy():
  """Two logical CPUs (set before TensorFlow starts, so in a fresh process): after mirrored
  steps, each replica's copy of the variable and its slots equals mirrored Keras Adam's."""
  script = textwrap.dedent("""
      import numpy as np, tensorflow as tf, keras
      from t2t_mm.training import distribution, optimization
      strategy = distribution.make_strategy("mirrored", cpu_devices=2)
      x = tf.constant(np.random.default_rng(1).normal(size=(4, 5)).astype("float32"))

      def train(make_opt, strat):
        with strat.scope():
          kernel = keras.Variable(np.ones((5, 3), "float32"), name="kernel")
          opt = make_opt()
          opt.build([kernel])
        @tf.function
        def step():
          def replica_step():
            with tf.GradientTape() as tape:
              loss = tf.reduce_sum(tf.square(x @ kernel.value))
            opt.apply_gradients([(tape.gradient(loss, kernel.value), kernel)])
          strat.run(replica_step)
        for _ in range(3):
          step()
        copies = [kernel.value] + [
            v.value for v in opt.variables if v.path.endswith(("momentum", "velocity"))]
        return [[c.numpy() for c in strat.experimental_local_results(v)] for v in copies]

      assert strategy.num_replicas_in_sync == 2
      want = train(lambda: keras.optimizers.Adam(0.1), strategy)
      got = train(lambda: optimization.FusedAdam(0.1), strategy)
      assert len(got) == len(want) == 3  # The kernel, m and v.
      assert not np.allclose(want[0][0], 1.0)
      for w, g in zip(want, got):
        assert len(g) == 2, len(g)
        for copy, ref in zip(g, w):
          np.testing.assert_allclose(copy, ref, rtol=1e-4, atol=1e-5)
      print("REPLICAS_AGREE")
      """)
  result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "REPLICAS_AGREE" in result.stdout


def test_update_step_called_directly_matches_keras_adam():
  """Outside apply_gradients (no per-step powers computed), update_step works out its own."""
  results = []
  for optimizer in _optimizers(clip_grad_norm=0.0):
    variable = keras.Variable(np.ones((3,), "float32"))
    optimizer.build([variable])
    optimizer.update_step(tf.constant([0.5, -1.0, 2.0]), variable.value, tf.constant(0.1))
    results.append(variable.numpy())
  assert not np.allclose(results[0], 1.0)
  np.testing.assert_allclose(results[1], results[0], rtol=1e-6)


def _adafactor_run(optimizer, steps=4):
  rng = np.random.default_rng(0)
  variables = [tf.Variable(rng.standard_normal(shape).astype("float32"))
               for shape in [(5,), (6, 4), (3, 4, 2)]]
  for _ in range(steps):
    grads = [tf.constant(rng.standard_normal(v.shape).astype("float32")) for v in variables]
    optimizer.apply_gradients(zip(grads, variables))
  return [v.numpy() for v in variables]


def test_factored_adafactor_updates_as_keras_adafactor_and_keeps_no_full_size_slot():
  schedule = optimization.WarmupRsqrtDecay(0.05, 2)
  ours = optimization.FactoredAdafactor(schedule, global_clipnorm=2.0)
  theirs = keras.optimizers.Adafactor(schedule, global_clipnorm=2.0)
  for got, want in zip(_adafactor_run(ours), _adafactor_run(theirs)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  slot_sizes = sorted(int(np.prod(v.shape)) for v in ours.variables if v.name != "iteration"
                      and "learning_rate" not in v.name)
  # (5,): its unfactored v (5); (6, 4): r 6 + c 4; (3, 4, 2): r 3x4 + c 3x2.
  assert slot_sizes == [4, 5, 6, 6, 12], slot_sizes
  keras_sizes = sum(int(np.prod(v.shape)) for v in theirs.variables)
  assert sum(slot_sizes) < keras_sizes - 24  # Keras stores v at full size as well.


def test_hparams_pick_adafactor_and_its_config_round_trips():
  hp = registry.hparams("multimodel_tiny").replace(optimizer="adafactor")
  optimizer = optimization.make_optimizer(hp)
  assert isinstance(optimizer, optimization.FactoredAdafactor)
  clone = optimization.FactoredAdafactor.from_config(optimizer.get_config())
  assert clone.global_clipnorm == hp.clip_grad_norm
  wrapped = optimization.make_optimizer(hp.replace(dtype_policy="mixed_float16"))
  assert isinstance(wrapped.inner_optimizer, optimization.FactoredAdafactor)


def test_factored_adafactor_stays_finite_where_the_moments_product_underflows():
  # An expert of which one unit alone had a gradient: its other rows' r and columns' c are
  # epsilon_1 (1e-30), and r / mean(r) * c (about 1e-60) underflows to 0: 0 / 0 made the
  # weights NaN at step 1.
  variable = keras.Variable(np.ones((2, 4, 3), "float32"))
  gradient = np.zeros((2, 4, 3), "float32")
  gradient[0, 0, 0] = 1.0
  gradient[1] = 1.0
  optimizer = optimization.FactoredAdafactor(0.01)
  optimizer.build([variable])

  @tf.function
  def apply(g):
    optimizer.apply_gradients([(g, variable)])

  for _ in range(3):
    apply(tf.constant(gradient))
  assert np.isfinite(variable.numpy()).all()
  assert not np.array_equal(variable.numpy()[1], np.ones((4, 3)))


def test_the_optimizers_use_no_private_keras_member():
  """Keras's documented subclassing API only (build, update_step, add_optimizer_variables,
  get_config, and _get_variable_index, which Keras's Optimizer docstring itself uses): a Keras
  release that keeps that API keeps these optimizers working."""
  import inspect
  import re
  allowed = {"_get_variable_index"}
  keras_names = set()
  for cls in (keras.optimizers.Optimizer, keras.optimizers.Adam, keras.optimizers.Adafactor):
    keras_names |= set(dir(cls))
    # Private attributes Keras's own code uses (self._momentums, self._r, ...).
    keras_names |= set(re.findall(r"self\.(_\w+)", inspect.getsource(cls)))
  for ours in (optimization.FusedAdam, optimization.FactoredAdafactor):
    overridden = {n for n in vars(ours) if n.startswith("_") and not n.startswith("__")}
    assert not overridden & keras_names, (ours.__name__, overridden & keras_names)
    used = set(re.findall(r"self\.(_\w+)", inspect.getsource(ours)))
    assert not (used & keras_names) - allowed, (ours.__name__, used & keras_names)
