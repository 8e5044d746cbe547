"""MultiModel: the contract of docs/DESIGN.md (shapes, causality, padding, command tokens,
losses, decoding, saving)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data.spec import ProblemSpec
from t2t_mm.data.spec import TargetSpace
from t2t_mm.models import memory
from t2t_mm.testing import reference_decode

B = 2


def _hp(**kw):
  base = dict(hidden_size=16, filter_size=16, num_heads=2, moe_num_experts=4, moe_k=2,
              audio_waveform_blocks=3, audio_spectral_blocks=1, audio_num_mel_bins=16,
              dropout=0.0, attention_dropout=0.0)
  base.update(kw)
  return registry.hparams("multimodel_tiny").replace(**base)


SPECS = [
    ProblemSpec("ende", "symbol", "symbol", TargetSpace.TO_GERMAN, "sub", 40, "sub", 40),
    ProblemSpec("deen", "symbol", "symbol", TargetSpace.TO_ENGLISH, "sub", 40, "sub", 40),
    ProblemSpec("label", "image", "class_label", TargetSpace.TO_LABEL, "labels", 7),
    ProblemSpec("label3", "image", "class_label", TargetSpace.TO_LABEL, "labels", 3),
    ProblemSpec("caption", "image", "symbol", TargetSpace.TO_ENGLISH, "sub", 40),
    ProblemSpec("wave", "audio_waveform", "symbol", TargetSpace.TO_CHARACTERS, "chars", 12,
                sample_rate=8000),
    ProblemSpec("spec", "audio_spectral", "symbol", TargetSpace.TO_CHARACTERS, "chars", 12,
                sample_rate=8000),
]


def _features(problem, seed=0, t=5):
  rng = np.random.default_rng(seed)
  spec = {s.name: s for s in SPECS}[problem]
  if spec.input_modality == "symbol":
    inputs = rng.integers(2, 40, (B, 6)).astype("int32")
  elif spec.input_modality == "image":
    inputs = rng.random((B, 32, 32, 3)).astype("float32")
  else:
    inputs = rng.uniform(-1, 1, (B, 800)).astype("float32")
  if spec.target_modality == "class_label":
    targets = rng.integers(0, spec.target_vocab_size, (B, 1)).astype("int32")
  else:
    targets = rng.integers(2, spec.target_vocab_size, (B, t)).astype("int32")
  return {"inputs": inputs, "targets": targets,
          "target_space": np.full((B,), int(spec.target_space), "int32")}


@pytest.fixture(scope="module")
def model():
  return registry.model("multimodel")(hparams=_hp(), specs=SPECS)


def test_nets_are_shared_by_key(model):
  assert sorted(model.input_nets) == ["input_audio_spectral_none", "input_audio_waveform_none",
                                      "input_image_none", "input_symbol_sub"]
  # Each class-label problem has its own classifier (7 and 3 classes here).
  assert sorted(model.target_nets) == ["target_class_label_labels_label",
                                       "target_class_label_labels_label3",
                                       "target_symbol_chars", "target_symbol_sub"]
  assert model.input_net("ende") is model.input_net("deen")
  assert model.input_net("label") is model.input_net("label3")
  assert model.command_embedding.input_dim == len(TargetSpace)


@pytest.mark.parametrize("problem,shape", [
    ("ende", (B, 5, 40)), ("label", (B, 1, 7)), ("label3", (B, 1, 3)), ("caption", (B, 5, 40)),
    ("wave", (B, 5, 12)), ("spec", (B, 5, 12))])
def test_logit_shapes_and_one_loss_per_moe_per_call(model, problem, shape):
  for training in (True, False):
    logits = model(_features(problem), problem=problem, training=training)
    assert tuple(logits.shape) == shape and logits.dtype == "float32"
    assert len(model.losses) == 2  # One encoder MoE + one decoder MoE, once per call.


def test_causality(model):
  f = _features("ende")
  y1 = np.asarray(model(f, problem="ende"))
  f2 = dict(f, targets=f["targets"].copy())
  f2["targets"][:, 3] = (f2["targets"][:, 3] + 1) % 38 + 2
  y2 = np.asarray(model(f2, problem="ende"))
  np.testing.assert_allclose(y1[:, :4], y2[:, :4], atol=1e-4)  # Position 3 predicts target 3.
  assert not np.allclose(y1[:, 4:], y2[:, 4:])


@pytest.mark.parametrize("problem", ["ende", "wave", "spec"])
def test_input_padding_changes_nothing(model, problem):
  f = _features(problem)
  y1 = np.asarray(model(f, problem=problem))
  pad = np.zeros((B, 7) if problem == "ende" else (B, 500), f["inputs"].dtype)
  y2 = np.asarray(model(dict(f, inputs=np.concatenate([f["inputs"], pad], 1)), problem=problem))
  np.testing.assert_allclose(y1, y2, atol=1e-4)


def test_target_padding_changes_nothing_at_real_positions(model):
  f = _features("ende")
  f["targets"][:, 3] = 1  # EOS; positions 0..3 are real.
  y1 = np.asarray(model(dict(f, targets=f["targets"][:, :4]), problem="ende"))
  t = f["targets"].copy()
  t[:, 4] = 0
  t = np.concatenate([t, np.zeros((B, 3), "int32")], 1)
  y2 = np.asarray(model(dict(f, targets=t), problem="ende"))
  np.testing.assert_allclose(y1, y2[:, :4], atol=1e-4)


def test_command_tokens_change_decoder_inputs(model):
  f = _features("caption")
  a, _ = model.decoder_inputs(f["targets"], f["target_space"], "caption")
  b, _ = model.decoder_inputs(f["targets"], np.full((B,), 2, "int32"), "caption")
  assert not np.allclose(np.asarray(a)[:, 0], np.asarray(b)[:, 0])
  np.testing.assert_allclose(np.asarray(a)[:, 1:], np.asarray(b)[:, 1:])
  y1 = model(f, problem="caption")
  y2 = model(dict(f, target_space=np.full((B,), 2, "int32")), problem="caption")
  assert not np.allclose(np.asarray(y1), np.asarray(y2))


def test_tf_function_matches_eager_and_trains(model):
  f = _features("ende")
  eager = np.asarray(model(f, problem="ende"))
  step = tf.function(lambda feats: model(feats, problem="ende", training=False))
  np.testing.assert_allclose(np.asarray(step(f)), eager, atol=1e-4)
  with tf.GradientTape() as tape:
    logits = model(f, problem="ende", training=True)
    loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
        f["targets"], logits, from_logits=True)) + tf.add_n(model.losses)
  grads = tape.gradient(loss, model.trainable_variables)
  named = {v.path: g for v, g in zip(model.trainable_variables, grads)}
  assert any("moe" in p and "w_gate" in p and g is not None for p, g in named.items())


@pytest.mark.parametrize("problem,shape", [("ende", (B, 4)), ("label", (B, 1))])
def test_the_uncached_reference_greedy_decode(model, problem, shape):
  ids = reference_decode.greedy_uncached(model, _features(problem), problem, 4)
  assert ids.dtype == "int32"
  assert ids.shape[0] == B and ids.shape[1] <= shape[1]
  if problem == "ende":  # The first id is the argmax of the teacher-forced first position.
    f = _features(problem)
    logits = model(dict(f, targets=np.asarray(ids)[:, :1]), problem=problem)
    np.testing.assert_array_equal(np.asarray(ids)[:, 0], np.argmax(logits[:, 0], -1))


def test_unknown_problem_and_bad_hparams_are_clear_errors(model):
  with pytest.raises(errors.UnknownNameError, match="'endee'.*ende"):
    model(_features("ende"), problem="endee")
  with pytest.raises(errors.ConfigError, match="moe_encoder_layers"):
    registry.model("multimodel")(hparams=_hp(moe_encoder_layers=[5]), specs=SPECS[:1])


@pytest.mark.parametrize("hparams_set", ["multimodel_no_moe", "multimodel_no_attention"])
def test_ablations_build_and_run(hparams_set):
  hp = registry.hparams(hparams_set).replace(
      **{k: v for k, v in _hp().to_dict().items() if k in (
          "hidden_size", "filter_size", "num_heads", "moe_num_experts", "moe_k")},
      num_encoder_blocks=1, num_decoder_blocks=1, moe_encoder_layers=[] if "moe" in
      hparams_set else [1], moe_decoder_layers=[] if "moe" in hparams_set else [1])
  m = registry.model("multimodel")(hparams=hp, specs=SPECS[:1])
  y = m(_features("ende"), problem="ende")
  assert tuple(y.shape) == (B, 5, 40)
  assert len(m.losses) == (0 if "moe" in hparams_set else 2)


def test_keras_and_weights_round_trips(model, tmp_path):
  f = _features("wave")
  y = np.asarray(model(f, problem="wave"))
  path = os.path.join(tmp_path, "m.keras")
  model.save(path)
  loaded = keras.saving.load_model(path)
  np.testing.assert_allclose(np.asarray(loaded(f, problem="wave")), y, atol=1e-5)
  assert loaded.hp == model.hp and loaded.specs == model.specs
  fresh = registry.model("multimodel")(hparams=_hp(), specs=SPECS)
  wpath = os.path.join(tmp_path, "model.weights.h5")
  model.save_weights(wpath)
  fresh.load_weights(wpath)
  np.testing.assert_allclose(np.asarray(fresh(f, problem="wave")), y, atol=1e-5)


def test_mixed_bfloat16_training_step():
  """mixed_bfloat16: bf16 compute, float32 variables and logits, finite loss and gradients."""
  specs = [s for s in SPECS if s.name in ("ende", "label")]
  m = registry.model("multimodel")(hparams=_hp(dtype_policy="mixed_bfloat16"), specs=specs)
  assert m.encoder.compute_dtype == "bfloat16"
  assert all(v.dtype == "float32" for v in m.trainable_variables)
  opt = keras.optimizers.Adam(1e-3)
  opt.build(m.trainable_variables)
  for problem in ("ende", "label"):
    f = _features(problem)
    encoded, _ = m.encode(f["inputs"], problem)
    assert encoded.dtype == "bfloat16"
    with tf.GradientTape() as tape:
      logits = m(f, problem=problem, training=True)
      loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
          f["targets"], logits, from_logits=True)) + tf.add_n(m.losses)
    assert logits.dtype == "float32"
    assert np.isfinite(float(loss))
    grads = tape.gradient(loss, m.trainable_variables)
    pairs = [(g, v) for g, v in zip(grads, m.trainable_variables) if g is not None]
    assert len(pairs) > 10
    dense = [np.asarray(tf.convert_to_tensor(g)) for g, _ in pairs]
    assert all(np.all(np.isfinite(g)) for g in dense)
    assert any("moe" in v.path and np.abs(g).sum() > 0 for g, (_, v) in zip(dense, pairs))
    opt.apply_gradients(pairs)


@pytest.mark.parametrize("overrides", [{}, {"tie_embeddings": True}, {"moe_encoder_layers": []}])
def test_the_memory_bound_never_exceeds_the_built_models_parameters(overrides):
  hp = _hp(**overrides)
  model = registry.model("multimodel")(hparams=hp, specs=SPECS)
  for spec in SPECS:
    model(_features(spec.name), problem=spec.name)
  built = sum(int(np.prod(v.shape)) for v in model.weights)
  bound = memory.estimate(hp, SPECS).parameters
  assert 0 < bound <= built, (bound, built)
