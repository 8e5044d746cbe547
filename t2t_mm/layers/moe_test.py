"""MixtureOfExperts: gates, balancing loss, gradients, padding, config round trip."""

import re

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.layers.moe import MixtureOfExperts
from t2t_mm.testing import layer_checks


def _x(b=4, n=6, d=8, seed=0):
  return np.random.default_rng(seed).standard_normal((b, n, d)).astype("float32")


def _moe(**kw):
  args = dict(hidden_size=8, filter_size=16, num_experts=6, k=2)
  args.update(kw)
  moe = MixtureOfExperts(**args)
  moe.build((None, None, 8))
  # Non-zero router weights, so routing depends on the token.
  rng = np.random.default_rng(3)
  moe.w_gate.assign(rng.standard_normal((8, args["num_experts"])).astype("float32"))
  return moe


@pytest.mark.parametrize("training", [False, True])
def test_gates_are_nonnegative_and_sum_to_one_over_exactly_k(training):
  moe = _moe(k=3)
  y = moe(_x(), training=training)
  assert tuple(y.shape) == (4, 6, 8)
  gates = np.asarray(moe.last_gates)
  assert gates.shape == (24, 6)
  assert np.all(gates >= 0)
  np.testing.assert_allclose(gates.sum(axis=1), 1.0, atol=1e-5)
  assert np.all((gates > 0).sum(axis=1) == 3)


def test_each_call_adds_one_loss():
  moe = _moe()
  moe(_x(), training=True)
  moe(_x(), training=True)
  assert len(moe.losses) == 1


def test_balancing_loss_is_larger_for_unbalanced_router_and_falls_with_training():
  x = np.abs(_x(b=8, n=8))  # Positive features: a positive gate column wins for every token.
  balanced = _moe(loss_coef=1.0)
  balanced.w_gate.assign(np.zeros((8, 6), "float32"))
  unbalanced = _moe(loss_coef=1.0)
  w = np.zeros((8, 6), "float32")
  w[:, 0] = 1.0
  unbalanced.w_gate.assign(w)
  balanced(x, training=True)
  unbalanced(x, training=True)
  first = float(unbalanced.losses[0])
  assert first > 5 * float(balanced.losses[0])
  router = [unbalanced.w_gate, unbalanced.w_noise]
  for _ in range(20):
    with tf.GradientTape() as tape:
      unbalanced(x, training=True)
      loss = unbalanced.losses[0]
    for v, g in zip(router, tape.gradient(loss, router)):
      v.assign_sub(5.0 * g)
  unbalanced(x, training=True)
  assert float(unbalanced.losses[0]) < 0.3 * first


def test_gradients_reach_gate_noise_and_every_selected_expert():
  moe = _moe(num_experts=4, k=2)
  x = _x()
  with tf.GradientTape() as tape:
    y = moe(x, training=True)
    total = tf.reduce_sum(y * y) + moe.losses[0]
  grads = dict(zip([v.name for v in moe.trainable_variables],
                   tape.gradient(total, moe.trainable_variables)))
  for name in ("w_gate", "w_noise"):
    assert np.abs(tf.convert_to_tensor(grads[name]).numpy()).sum() > 0, name
  selected = np.unique(np.nonzero(np.asarray(moe.last_gates))[1])
  w1 = tf.convert_to_tensor(grads["w1"]).numpy()
  w2 = tf.convert_to_tensor(grads["w2"]).numpy()
  for e in range(4):
    used = e in selected
    assert (np.abs(w1[e]).sum() > 0) == used, e
    assert (np.abs(w2[e]).sum() > 0) == used, e


def test_padded_tokens_change_nothing_and_count_in_no_loss():
  moe = _moe()
  x = _x(b=1, n=5)
  short = np.asarray(moe(x, training=False))
  loss_short = float(moe.losses[0])
  x_pad = np.concatenate([x, 10 * _x(b=1, n=4, seed=5)], axis=1)
  mask = np.array([[1] * 5 + [0] * 4], "float32")
  long = np.asarray(moe(x_pad, mask, training=False))
  np.testing.assert_allclose(short, long[:, :5], atol=1e-5)
  assert np.all(long[:, 5:] == 0)
  assert float(moe.losses[0]) == pytest.approx(loss_short, rel=1e-5)


def test_bad_k_and_config_round_trip():
  with pytest.raises(ValueError, match="k=4, num_experts=4"):
    MixtureOfExperts(8, 16, num_experts=4, k=4)
  moe = _moe()
  layer_checks.check_config_round_trip(moe, _x())
  layer_checks.check_serialized_round_trip(moe, _x())


def _dense_reference(moe, x, gates):
  """sum_i G_i E_i(x) computed densely over every expert (numpy, float64)."""
  w1, b1, w2, b2 = (np.asarray(v, "float64") for v in (moe.w1, moe.b1, moe.w2, moe.b2))
  flat = np.asarray(x, "float64").reshape(-1, w1.shape[1])
  hidden = np.maximum(np.einsum("nd,edh->neh", flat, w1) + b1[None], 0.0)
  experts = np.einsum("neh,ehd->ned", hidden, w2) + b2[None]  # [N, E, d]
  return np.einsum("ne,ned->nd", np.asarray(gates, "float64"), experts).reshape(x.shape)


@pytest.mark.parametrize("num_experts,k", [(6, 2), (13, 4), (7, 3), (5, 2)])
def test_dispatch_equals_dense_reference(num_experts, k):
  moe = _moe(num_experts=num_experts, k=k)
  rng = np.random.default_rng(num_experts)
  for v in (moe.b1, moe.b2):  # Non-zero biases, so a misrouted row would show.
    v.assign(rng.standard_normal(v.shape).astype("float32"))
  x = _x(b=3, n=7, seed=num_experts)
  y = np.asarray(moe(x, training=False))
  np.testing.assert_allclose(y, _dense_reference(moe, x, moe.last_gates), atol=1e-4)


def test_dispatch_with_a_skewed_router_equals_dense_reference():
  # Most tokens pick experts 0 and 1; several experts get no row at all.
  moe = _moe(num_experts=8, k=2)
  w = np.zeros((8, 8), "float32")
  w[:, :2] = 1.0
  moe.w_gate.assign(w + 0.1 * np.random.default_rng(1).standard_normal((8, 8)).astype("float32"))
  x = np.abs(_x(b=2, n=9))
  y = np.asarray(moe(x, training=True))
  np.testing.assert_allclose(y, _dense_reference(moe, x, moe.last_gates), atol=1e-4)


def test_gradients_equal_dense_reference_gradients():
  moe = _moe(num_experts=5, k=2)
  x = tf.constant(_x(b=2, n=5))
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    y = moe(x, training=False)
    gates = moe.last_gates  # The same router output, so x's gradient through it matches.
    h = tf.nn.relu(tf.einsum("nd,edh->neh", tf.reshape(x, (-1, 8)), moe.w1) + moe.b1[None])
    ref = tf.einsum("ne,ned->nd", gates, tf.einsum("neh,ehd->ned", h, moe.w2) + moe.b2[None])
    target = tf.constant(np.random.default_rng(2).standard_normal((10, 8)).astype("float32"))
    loss = tf.reduce_sum(tf.reshape(y, (-1, 8)) * target)
    loss_ref = tf.reduce_sum(ref * target)
  for v in [x, moe.w1, moe.b1, moe.w2, moe.b2, moe.w_gate]:
    np.testing.assert_allclose(np.asarray(tf.convert_to_tensor(tape.gradient(loss, v))),
                               np.asarray(tf.convert_to_tensor(tape.gradient(loss_ref, v))),
                               atol=1e-4)


def test_padded_tokens_take_no_expert_and_interleaved_padding_is_invariant():
  moe = _moe(num_experts=4, k=2)
  x = _x(b=3, n=6)
  mask = (np.random.default_rng(4).random((3, 6)) > 0.4).astype("float32")
  y = np.asarray(moe(x, mask, training=False))
  x2 = np.where(mask[..., None] > 0, x, 100.0 * _x(b=3, n=6, seed=9))  # New padded values.
  y2 = np.asarray(moe(x2, mask, training=False))
  np.testing.assert_allclose(y, y2, atol=1e-5)
  assert np.all(y[mask == 0] == 0)
  ref = _dense_reference(moe, x, np.asarray(moe.last_gates)) * mask[..., None]
  np.testing.assert_allclose(y, ref, atol=1e-4)
  np.asarray(moe(x, np.zeros((3, 6), "float32"), training=False))  # No real token: no error.


def test_capacity_factor_caps_the_buffer_and_drops_overflow():
  moe = _moe(num_experts=4, k=2, capacity_factor=1.0)
  w = np.zeros((8, 4), "float32")
  w[:, 0], w[:, 1] = 1.0, 0.5
  moe.w_gate.assign(w)
  x = np.abs(_x(b=1, n=8))  # Every token picks experts 0 and 1; capacity ceil(8 * 2 / 4) = 4.
  y = np.asarray(moe(x, training=False))[0]
  ref = _dense_reference(moe, x, moe.last_gates)[0]
  np.testing.assert_allclose(y[:4], ref[:4], atol=1e-4)  # The first four (token order) stay.
  assert np.all(y[4:] == 0)  # The rest overflow and are dropped.
  exact = _moe(num_experts=4, k=2)
  exact.set_weights(moe.get_weights())
  np.testing.assert_allclose(np.asarray(exact(x, training=False))[0], ref, atol=1e-4)
  with pytest.raises(ValueError, match="capacity_factor"):
    MixtureOfExperts(8, 16, num_experts=4, k=2, capacity_factor=-1.0)


def _loss_and_grads(moe, x, mask, target):
  """(MoE output, sum(y * target) + balancing loss, its gradients w.r.t. x and the weights)."""
  x = tf.convert_to_tensor(x)
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = moe(x, mask, training=True)
    loss = tf.reduce_sum(y * target) + moe.losses[0]
  return y, loss, tape.gradient(loss, [x, *moe.trainable_variables]), moe.last_drop_counts


@pytest.mark.parametrize("jit", [False, True])
def test_capacity_dispatch_equals_exact_when_nothing_is_dropped(jit):
  # capacity_factor = E / k: C = every position, so no assignment can be dropped. With "auto"
  # the XLA-compiled call takes the capacity dispatch (the exact one does not compile).
  exact = _moe(num_experts=6, k=2, noisy_gating=False, dispatch="exact")
  static = _moe(num_experts=6, k=2, noisy_gating=False, capacity_factor=3.0,
                dispatch="auto" if jit else "capacity")
  rng = np.random.default_rng(6)
  for v in (exact.b1, exact.b2):
    v.assign(rng.standard_normal(v.shape).astype("float32"))
  static.set_weights(exact.get_weights())
  x = _x(b=3, n=7)
  mask = (rng.random((3, 7)) > 0.3).astype("float32")
  target = tf.constant(rng.standard_normal((3, 7, 8)).astype("float32"))
  run = tf.function(lambda x: _loss_and_grads(static, x, mask, target), jit_compile=True,
                    input_signature=[tf.TensorSpec([None, None, 8])]) if jit else (
                        lambda x: _loss_and_grads(static, x, mask, target))
  y, loss, grads, drops = run(tf.constant(x))
  y_ref, loss_ref, grads_ref, drops_ref = _loss_and_grads(exact, x, mask, target)
  np.testing.assert_allclose(np.asarray(y), np.asarray(y_ref), atol=1e-5)
  assert float(loss) == pytest.approx(float(loss_ref), rel=1e-5)
  for g, g_ref in zip(grads, grads_ref):
    if g_ref is None:  # w_noise: no noise, no gradient.
      assert g is None
      continue
    np.testing.assert_allclose(np.asarray(tf.convert_to_tensor(g)),
                               np.asarray(tf.convert_to_tensor(g_ref)), atol=1e-4)
  real = mask.sum() * 2
  np.testing.assert_array_equal(np.asarray(drops), [0.0, real])
  np.testing.assert_array_equal(np.asarray(drops_ref), [0.0, real])


def test_compiled_capacity_dispatch_and_its_gradient_have_no_dynamic_shapes():
  # XLA marks a shape known only at run time (bounded by a maximum) as "<=N"; the compiled
  # forward and backward pass must have none, with the input's shape unknown when traced.
  moe = _moe(num_experts=6, k=2, capacity_factor=1.0, dispatch="auto")
  x = tf.constant(_x(b=3, n=7))
  mask = (np.random.default_rng(2).random((3, 7)) > 0.3).astype("float32")
  target = tf.zeros((3, 7, 8))
  run = tf.function(lambda x: _loss_and_grads(moe, x, mask, target)[1:3], jit_compile=True,
                    input_signature=[tf.TensorSpec([None, None, 8])])
  hlo = run.experimental_get_compiler_ir(x)(stage="hlo")
  assert "ENTRY" in hlo and "dot(" in hlo
  dynamic = sorted(set(re.findall(r"\w+\[[^\]]*<=[^\]]*\]", hlo)))
  assert not dynamic, dynamic[:5]


def _overflowing(**kw):
  moe = _moe(num_experts=4, k=2, **kw)
  w = np.zeros((8, 4), "float32")
  w[:, 0], w[:, 1] = 1.0, 0.5
  moe.w_gate.assign(w)
  return moe


def test_capacity_dispatch_drops_and_counts_overflow_and_padding_takes_no_row():
  # 8 real tokens, then 4 padded ones (which would also pick experts 0 and 1): N = 12 positions,
  # C = ceil(1.0 * 12 * 2 / 4) = 6. Experts 0 and 1 get 8 real assignments each: 6 kept (the
  # first tokens), 2 dropped each: 4 of 16.
  moe = _overflowing(capacity_factor=1.0, dispatch="capacity")
  x = np.abs(_x(b=1, n=12))
  mask = np.array([[1.0] * 8 + [0.0] * 4], "float32")
  y = np.asarray(moe(x, mask, training=False))[0]
  np.testing.assert_array_equal(np.asarray(moe.last_drop_counts), [4.0, 16.0])
  ref = _dense_reference(moe, x, moe.last_gates)[0]
  np.testing.assert_allclose(y[:6], ref[:6], atol=1e-4)
  assert np.all(y[6:] == 0)  # Tokens 6, 7 lost both experts; 8.. are padding.
  # Under XLA, with the shape unknown when traced: the same rows dropped, the same count.
  run = tf.function(lambda x: (moe(x, mask, training=False), moe.last_drop_counts),
                    jit_compile=True, input_signature=[tf.TensorSpec([None, None, 8])])
  y_xla, drops = run(tf.constant(x))
  np.testing.assert_allclose(np.asarray(y_xla)[0], y, atol=1e-5)
  np.testing.assert_array_equal(np.asarray(drops), [4.0, 16.0])


def test_exact_dispatch_counts_what_its_cap_drops():
  moe = _overflowing(capacity_factor=1.0, dispatch="exact")
  moe(np.abs(_x(b=1, n=8)), training=False)  # Cap ceil(8 * 2 / 4) = 4 of 8 for experts 0, 1.
  np.testing.assert_array_equal(np.asarray(moe.last_drop_counts), [8.0, 16.0])
  uncapped = _overflowing(dispatch="exact")
  uncapped(np.abs(_x(b=1, n=8)), training=False)
  np.testing.assert_array_equal(np.asarray(uncapped.last_drop_counts), [0.0, 16.0])


def test_dispatch_setting_is_checked_and_kept_in_the_config():
  with pytest.raises(ValueError, match="dispatch must be one of"):
    MixtureOfExperts(8, 16, num_experts=4, k=2, dispatch="dynamic")
  moe = _moe(dispatch="capacity", capacity_factor=1.5)
  assert moe.get_config()["dispatch"] == "capacity"
  assert not _moe().uses_capacity_dispatch()  # auto, outside XLA: exact.
  assert moe.capacity(10) == 5  # ceil(1.5 * 10 * 2 / 6)
  assert _moe(dispatch="capacity").capacity(10) == 7  # ceil(2.0 * 10 * 2 / 6): the default c.
  layer_checks.check_config_round_trip(moe, _x())
