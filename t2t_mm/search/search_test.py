"""Incremental decoding: cached == uncached, beam search, sampling (real MultiModel, tiny)."""

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.data.spec import ProblemSpec
from t2t_mm.data.spec import TargetSpace
from t2t_mm.search import beam_search
from t2t_mm.search import compiled as compiled_lib
from t2t_mm.search import greedy
from t2t_mm.testing import reference_decode
from t2t_mm.testing import tokens

B, L = 3, 10
SPECS = [
    ProblemSpec("ende", "symbol", "symbol", TargetSpace.TO_GERMAN, "sub", 30, "sub", 30),
    ProblemSpec("label", "image", "class_label", TargetSpace.TO_LABEL, "labels", 5),
    ProblemSpec("caption", "image", "symbol", TargetSpace.TO_ENGLISH, "sub", 30),
    ProblemSpec("wave", "audio_waveform", "symbol", TargetSpace.TO_CHARACTERS, "chars", 12,
                sample_rate=8000),
]


def _model(**kw):
  hp = registry.hparams("multimodel_tiny").replace(
      hidden_size=16, filter_size=16, num_heads=2, moe_num_experts=4, moe_k=2,
      audio_waveform_blocks=3, dropout=0.0, attention_dropout=0.0, **kw)
  tf.keras.utils.set_random_seed(3)
  return registry.model("multimodel")(hparams=hp, specs=SPECS)


@pytest.fixture(scope="module")
def model():
  return _model()


@pytest.fixture(scope="module")
def run(model):
  return compiled_lib.CompiledSearch(model)  # Shares compiled functions between tests.


GREEDY = DecodeHParams(max_decode_length=L)


def _features(problem, seed=0):
  rng = np.random.default_rng(seed)
  spec = {s.name: s for s in SPECS}[problem]
  if spec.input_modality == "symbol":
    inputs = rng.integers(2, 30, (B, 7)).astype("int32")
    inputs[0, 5:] = 0  # Padded input.
  elif spec.input_modality == "image":
    inputs = rng.random((B, 16, 16, 3)).astype("float32")
  else:
    inputs = rng.uniform(-1, 1, (B, 400)).astype("float32")
  return {"inputs": inputs, "targets": np.zeros((B, 1), "int32"),
          "target_space": np.full((B,), int(spec.target_space), "int32")}


def _greedy(run, feats, problem):
  result = run.decode(feats, problem, GREEDY)
  return result.ids[:, 0], result.scores[:, 0]


def _log_prob(model, feats, problem, ids):
  """Sum of log P of ids [B, T] up to their end token, by a full teacher-forced call."""
  logits = model(dict(feats, targets=ids), problem=problem, training=False).numpy()
  logp = tf.nn.log_softmax(logits).numpy()
  out = []
  for b in range(ids.shape[0]):
    n = len(tokens.trim(ids[b])) + 1
    n = min(n, ids.shape[1])
    out.append(sum(logp[b, t, ids[b, t]] for t in range(n)))
  return np.array(out)


@pytest.mark.parametrize("problem", ["ende", "caption", "wave"])
def test_cached_logits_equal_full_call_logits(model, problem):
  feats = _features(problem)
  targets = np.random.default_rng(1).integers(2, 12, (B, 6)).astype("int32")
  full = model(dict(feats, targets=targets), problem=problem, training=False).numpy()
  state = model.start_decoding(feats, problem, 6)
  prev, steps = np.zeros((B,), "int32"), []
  for t in range(6):
    logits, state = model.decode_step(prev, state, problem)
    steps.append(logits.numpy())
    prev = targets[:, t]
  np.testing.assert_allclose(np.stack(steps, 1), full, atol=2e-5)


@pytest.mark.parametrize("problem", ["ende", "caption"])
def test_cached_greedy_returns_the_tokens_of_uncached_greedy(model, run, problem):
  feats = _features(problem)
  reference = reference_decode.greedy_uncached(model, feats, problem, L).numpy()
  ids, _ = _greedy(run, feats, problem)
  np.testing.assert_array_equal(ids[:, :reference.shape[1]], reference)
  assert np.all(ids[:, reference.shape[1]:] == 0)


def test_cached_greedy_without_attention_equals_uncached():
  m = _model(use_attention=False, moe_decoder_layers=[0, 2])
  feats = _features("ende", seed=4)
  reference = reference_decode.greedy_uncached(m, feats, "ende", L).numpy()
  ids, _ = _greedy(compiled_lib.CompiledSearch(m), feats, "ende")
  np.testing.assert_array_equal(ids[:, :reference.shape[1]], reference)


def test_the_compiled_searches_of_one_model_share_its_compiled_functions(model):
  """mm-eval makes a CompiledSearch per problem and the trainer's evaluation its own: each settings'
  graph is traced once per model, and one of another model gets its own."""
  fn = compiled_lib.CompiledSearch(model).function("ende", GREEDY)
  assert compiled_lib.CompiledSearch(model).function("ende", GREEDY) is fn
  assert compiled_lib.CompiledSearch(model).function("ende", GREEDY.replace(beam_size=2)) is not fn
  other = _model(use_attention=False)
  assert compiled_lib.CompiledSearch(other).function("ende", GREEDY) is not fn


def test_class_label_step_equals_full_call(model):
  feats = _features("label")
  full = model(feats, problem="label", training=False).numpy()[:, 0]
  logits, _ = model.decode_step(np.zeros((B,), "int32"),
                                model.start_decoding(feats, "label", 10), "label")
  np.testing.assert_allclose(logits.numpy(), full, atol=1e-5)
  result = compiled_lib.CompiledSearch(model).decode(feats, "label", DecodeHParams(beam_size=3))
  assert result.ids.shape == (B, 3, 1)
  np.testing.assert_array_equal(result.ids[:, 0, 0], full.argmax(-1))
  assert np.all(np.diff(result.scores, axis=1) <= 0)


def _full_attention(model, feats, problem, ids):
  """The uncached call's attention [B, layers, T, S] for target ids [B, T]."""
  encoded, mask = model.encode(feats["inputs"], problem, training=False)
  _, att = model.decode(encoded, mask, ids, feats["target_space"], problem, training=False,
                        return_attention=True)
  return att.numpy()


@pytest.mark.parametrize("problem", ["ende", "caption", "wave"])
def test_attention_of_cached_greedy_equals_the_uncached_call(model, run, problem):
  feats = _features(problem, seed=2)
  result = run.decode(feats, problem, GREEDY, attention=True)  # XLA loop, padded input.
  ids, att = result.ids[:, 0], result.attention
  layers = model.attention_layers()
  assert len(layers) == 1 + model.hp.num_decoder_blocks >= 3 and layers[0] == "mixer"
  assert att.shape[:3] == (B, L, len(layers))
  full = _full_attention(model, feats, problem, ids)  # [B, layers, L, S] on unpadded input.
  s = full.shape[-1]
  real = result.source_mask[:, :s].astype(bool)
  assert np.all(result.source_mask[:, s:] == 0)  # Bucket padding is masked...
  np.testing.assert_array_equal(att[..., s:], 0)  # ... and gets no weight.
  for b in range(B):
    steps = min(len(tokens.trim(ids[b])) + 1, L)  # The tokens through the end token.
    np.testing.assert_allclose(att[b, :steps, :, :s], full[b].transpose(1, 0, 2)[:steps],
                               atol=2e-5)
    np.testing.assert_array_equal(att[b, steps:], 0)
    # Each row is a distribution over the real input positions.
    np.testing.assert_allclose(att[b, :steps].sum(-1), 1, atol=1e-5)
    assert np.all(att[b, :steps, :, :s][..., ~real[b]] == 0)
  # The same tokens as the search without attention: the flag adds outputs, nothing else.
  np.testing.assert_array_equal(ids, run.decode(feats, problem, GREEDY).ids[:, 0])


def test_class_label_attention_and_what_attention_refuses(model, run):
  feats = _features("label")
  result = run.decode(feats, "label", DecodeHParams(beam_size=3), attention=True)
  assert result.ids.shape == (B, 3, 1)
  full = _full_attention(model, feats, "label", np.zeros((B, 1), "int32"))
  np.testing.assert_allclose(result.attention[:, 0], full[:, :, 0], atol=2e-5)
  assert result.attention.shape == (B, 1, 3, 1)  # 16x16 pixels: one position of 32x32.
  with pytest.raises(errors.ConfigError, match="beam_size=1 with attention"):
    run.decode(_features("ende"), "ende", DecodeHParams(beam_size=2), attention=True)
  m = _model(use_attention=False)
  assert m.attention_layers() == []
  with pytest.raises(errors.ConfigError, match="use_attention=False"):
    compiled_lib.CompiledSearch(m).decode(_features("ende"), "ende", GREEDY, attention=True)


def test_state_shapes_do_not_grow_with_position(model):
  feats = _features("ende")
  state = model.start_decoding(feats, "ende", L)
  shapes = [tuple(x.shape) for x in tf.nest.flatten(state["cache"])]
  for _ in range(5):
    _, state = model.decode_step(np.full((B,), 5, "int32"), state, "ende")
  assert [tuple(x.shape) for x in tf.nest.flatten(state["cache"])] == shapes
  assert int(state["t"]) == 5


def test_greedy_scores_are_the_model_log_probs(model, run):
  feats = _features("ende")
  ids, scores = _greedy(run, feats, "ende")
  np.testing.assert_allclose(scores, _log_prob(model, feats, "ende", ids), atol=1e-4)


@pytest.mark.parametrize("problem", ["ende"])
def test_beam_one_equals_greedy(model, run, problem):
  feats = _features(problem)
  ids, scores = _greedy(run, feats, problem)
  fn = tf.function(lambda f: beam_search.beam_search(model, f, problem, L, 1, alpha=0.0))
  beam_ids, beam_scores = fn(feats)
  np.testing.assert_array_equal(beam_ids.numpy()[:, 0], ids)
  np.testing.assert_allclose(beam_scores.numpy()[:, 0], scores, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_beam_four_scores_at_least_greedy_and_scores_are_exact(model, run, seed):
  feats = _features("ende", seed)
  _, greedy_scores = _greedy(run, feats, "ende")
  result = run.decode(feats, "ende", DecodeHParams(beam_size=4, alpha=0.0, max_decode_length=L))
  ids, scores = result.ids, result.scores
  assert np.all(scores[:, 0] >= greedy_scores - 1e-5)
  assert np.all(np.diff(scores, axis=1) <= 1e-6)  # Best first.
  # Rescoring every beam with a full forward pass checks the cache reordering.
  for k in range(4):
    np.testing.assert_allclose(scores[:, k], _log_prob(model, feats, "ende", ids[:, k]),
                               atol=1e-4)


def test_beam_length_penalty_divides_log_probs(model, run):
  feats = _features("ende", 5)
  result = run.decode(feats, "ende", DecodeHParams(beam_size=4, alpha=1.0, max_decode_length=L))
  ids, scores = result.ids, result.scores
  for k in range(4):
    lengths = np.array([min(len(tokens.trim(s)) + 1, L) for s in ids[:, k]])
    penalty = ((5.0 + lengths) / 6.0) ** 1.0
    np.testing.assert_allclose(scores[:, k] * penalty,
                               _log_prob(model, feats, "ende", ids[:, k]), atol=1e-4)
  np.testing.assert_allclose(beam_search.length_penalty(7, 0.6).numpy(), 2.0 ** 0.6)


def test_sampling_top_k_one_equals_greedy_and_seed_fixes_samples(run):
  feats = _features("ende", 6)
  ids, _ = _greedy(run, feats, "ende")
  top1 = run.decode(feats, "ende", DecodeHParams(sampling_temperature=1.5, top_k=1, seed=3,
                                                 max_decode_length=L))
  np.testing.assert_array_equal(top1.ids[:, 0], ids)
  hot = DecodeHParams(sampling_temperature=5.0, seed=3, max_decode_length=L)
  a, b = run.decode(feats, "ende", hot), run.decode(feats, "ende", hot)
  other = run.decode(feats, "ende", hot.replace(seed=4))
  np.testing.assert_array_equal(a.ids, b.ids)
  assert not np.array_equal(a.ids, other.ids)


def test_restrict_top_k_keeps_the_k_largest():
  logits = tf.constant([[0.1, 3.0, -1.0, 2.0, 0.5]])
  kept = greedy.restrict_top_k(logits, 2).numpy()
  np.testing.assert_array_equal(kept > -1e8, [[False, True, False, True, False]])
  assert np.array_equal(greedy.restrict_top_k(logits, 0).numpy(), logits.numpy())


def test_decode_hparams_reject_bad_values():
  from t2t_mm import errors
  with pytest.raises(errors.ConfigError, match="beam_size"):
    DecodeHParams(beam_size=0)
  with pytest.raises(errors.ConfigError, match="does not sample"):
    DecodeHParams(beam_size=2, sampling_temperature=1.0)


@pytest.mark.parametrize("problem", ["ende", "caption", "wave"])
@pytest.mark.parametrize("beam_size", [1, 4])
def test_xla_search_loop_returns_the_tokens_of_the_graph_executor(model, run, problem,
                                                                   beam_size):
  feats = _features(problem, seed=2)
  dhp = DecodeHParams(max_decode_length=L, beam_size=beam_size, alpha=0.6)
  xla = run.decode(feats, problem, dhp)
  graph = run.decode(feats, problem, dhp.replace(jit_compile=False))
  assert xla.ids.shape == graph.ids.shape == (B, beam_size, L)  # Padded rows are dropped.
  np.testing.assert_array_equal(xla.ids, graph.ids)
  np.testing.assert_allclose(xla.scores, graph.scores, atol=1e-4)


def test_buckets_bound_the_shapes_xla_compiles():
  assert [compiled_lib.batch_bucket(n) for n in (1, 3, 4, 5, 31, 32, 33, 65)] == [
      1, 4, 4, 8, 32, 32, 64, 96]
  lengths = [compiled_lib.length_bucket(n) for n in range(1, 2001)]
  assert all(b >= n and b % 8 == 0 for n, b in enumerate(lengths, 1))
  assert len(set(lengths)) <= 25  # Geometric: about 1.25x apart.
  assert all(compiled_lib.length_bucket(n) <= 1.25 * n + 8 for n in range(1, 2001))
  for n, length in ((3, 5), (4, 8), (2, 7)):
    feats = {"inputs": np.ones((n, length), "int32"), "targets": np.zeros((n, 1), "int32"),
             "target_space": np.arange(n, dtype="int32")}
    padded, real = compiled_lib.pad_to_buckets(feats)
    assert real == n and tuple(padded["inputs"].shape) == (4 if n > 2 else 2, 8)
    np.testing.assert_array_equal(padded["inputs"].numpy()[:n, :length], feats["inputs"])
    assert np.all(padded["inputs"].numpy()[:, length:] == 0)
    np.testing.assert_array_equal(padded["target_space"].numpy()[n:], n - 1)  # Last row again.
  image = {"inputs": np.ones((3, 8, 8, 3), "float32"), "targets": np.zeros((3, 1), "int32"),
           "target_space": np.zeros((3,), "int32")}
  assert tuple(compiled_lib.pad_to_buckets(image)[0]["inputs"].shape) == (4, 8, 8, 3)
