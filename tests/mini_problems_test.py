"""all8_mini: every problem generates, and its dataset yields the shapes of the contract."""

import os

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config.hparams import HParams
from t2t_mm.data import pipeline
from t2t_mm.data.spec import EOS_ID, TargetSpace

SIZES = dict(num_train_examples=60, num_dev_examples=21, num_test_examples=5)
HP = HParams(batch_size=8, max_input_length=64, max_target_length=80)
EXPECTED = {  # name: (input modality, target modality, input vocab, target vocab, space)
    "wmt_ende_mini": ("symbol", "symbol", "subword", "subword", TargetSpace.TO_GERMAN),
    "wmt_ende_mini_rev": ("symbol", "symbol", "subword", "subword", TargetSpace.TO_ENGLISH),
    "wmt_enfr_mini": ("symbol", "symbol", "subword", "subword", TargetSpace.TO_FRENCH),
    "wmt_enfr_mini_rev": ("symbol", "symbol", "subword", "subword", TargetSpace.TO_ENGLISH),
    "image_scenes_mini": ("image", "class_label", None, "labels", TargetSpace.TO_LABEL),
    "caption_scenes_mini": ("image", "symbol", None, "subword", TargetSpace.TO_ENGLISH),
    "speech_en_mini": ("audio_spectral", "symbol", None, "bytes", TargetSpace.TO_CHARACTERS),
    "parse_en_mini": ("symbol", "symbol", "subword", "subword", TargetSpace.TO_PARSE_TREE),
}


def make(name):
  base = name.removesuffix("_rev")
  return registry.lookup("problems", base)(was_reversed=name.endswith("_rev"), **SIZES)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, mini_tmp_dir):
  d = str(tmp_path_factory.mktemp("mini_data"))
  for name in registry.expand_problem_names("all8_mini"):
    make(name).generate_data(d, mini_tmp_dir)
  return d


def test_suite_names_eight_resolvable_problems():
  names = registry.expand_problem_names("all8_mini")
  assert names == list(EXPECTED)
  for name in names:
    assert registry.problem(name).name == name


@pytest.mark.parametrize("name", list(EXPECTED))
def test_spec_and_batches_follow_the_contract(name, data_dir):
  p = make(name)
  spec = p.spec(data_dir)
  in_mod, out_mod, in_vocab, out_vocab, space = EXPECTED[name]
  assert (spec.name, spec.input_modality, spec.target_modality, spec.input_vocab,
          spec.target_vocab, spec.target_space) == (name, in_mod, out_mod, in_vocab, out_vocab,
                                                    space)
  assert spec.metrics
  batch = next(iter(p.dataset("train", data_dir, HP, seed=3)))
  assert set(batch) == {"inputs", "targets", "target_space"}
  inputs, targets = batch["inputs"].numpy(), batch["targets"].numpy()
  assert inputs.shape[0] == targets.shape[0] == HP.batch_size  # Train batches are full.
  assert batch["target_space"].dtype == tf.int32
  assert (batch["target_space"].numpy() == int(space)).all()
  if in_mod == "symbol":
    assert batch["inputs"].dtype == tf.int32 and _ends_with_eos(inputs)
    assert inputs.max() < spec.input_vocab_size
  elif in_mod == "image":
    assert batch["inputs"].dtype == tf.float32 and inputs.shape[1:] == (32, 32, 3)
    assert 0.0 <= inputs.min() and inputs.max() <= 1.0 and inputs.std() > 0.05
  else:
    assert batch["inputs"].dtype == tf.float32 and inputs.ndim == 2
    assert spec.sample_rate == 16000 and np.abs(inputs).max() <= 1.0
    # Whole clips: the problem's own limit (3 s) wins over max_input_length frames.
    assert p.max_audio_seconds == 3.0 and HP.max_input_length * p.audio_frame_step < 3 * 16000
    assert 0.5 * 16000 < inputs.shape[1] <= 3 * 16000
  assert batch["targets"].dtype == tf.int32
  if out_mod == "class_label":
    assert targets.shape == (HP.batch_size, 1) and spec.target_vocab_size == 20
    assert 0 <= targets.min() and targets.max() < 20
  else:
    assert _ends_with_eos(targets) and targets.max() < spec.target_vocab_size


def _ends_with_eos(ids):
  lengths = (ids != 0).sum(axis=1)
  return all(row[n - 1] == EOS_ID and (row[: n - 1] != EOS_ID).all()
             for row, n in zip(ids, lengths))


def test_language_problems_share_one_vocab(data_dir):
  specs = [make(n).spec(data_dir) for n in EXPECTED]
  sizes = {s.target_vocab_size for s in specs if s.target_vocab == "subword"}
  assert len(sizes) == 1
  vocabs = [f for f in os.listdir(data_dir) if f.startswith("vocab.")]
  assert vocabs == ["vocab.all8_mini.subword.2000.model"]


def test_dev_is_read_once_in_order_and_decodes_to_text(data_dir):
  p, rev = make("wmt_ende_mini"), make("wmt_ende_mini_rev")
  assert p.num_examples("dev", data_dir) == 21
  fwd = list(p.dataset("dev", data_dir, HP))
  back = list(rev.dataset("dev", data_dir, HP))
  assert sum(b["inputs"].shape[0] for b in fwd) == 21
  src = [p.input_vocab(data_dir).decode(r) for b in fwd for r in b["inputs"].numpy()]
  tgt = [p.target_vocab(data_dir).decode(r) for b in fwd for r in b["targets"].numpy()]
  assert [rev.target_vocab(data_dir).decode(r) for b in back for r in b["targets"].numpy()] == src
  assert all(s.endswith(" .") and s[0].isupper() for s in src + tgt)
  assert src != tgt


def test_worker_sharding_splits_dev_disjointly(data_dir):
  p = make("image_scenes_mini")
  parts = [np.concatenate([b["inputs"].numpy().reshape(-1, 32 * 32 * 3) for b in
                           p.dataset("dev", data_dir, HP, num_shards=2, shard_index=i)])
           for i in range(2)]
  assert len(parts[0]) + len(parts[1]) == 21
  assert not {r.tobytes() for r in parts[0]} & {r.tobytes() for r in parts[1]}
  with pytest.raises(errors.ConfigError, match="shard_index=2"):
    p.dataset("dev", data_dir, HP, num_shards=2, shard_index=2)


def test_bad_mode_and_non_text_rev_are_errors(data_dir):
  with pytest.raises(errors.ConfigError, match="Unknown mode 'eval'"):
    make("parse_en_mini").dataset("eval", data_dir, HP)
  with pytest.raises(errors.ConfigError, match="image_scenes_mini.*no _rev"):
    registry.problem("image_scenes_mini_rev")


def test_generation_is_deterministic(tmp_path, data_dir, mini_tmp_dir):
  for name in ("parse_en_mini", "caption_scenes_mini", "speech_en_mini"):
    make(name).generate_data(str(tmp_path), mini_tmp_dir)
    for split in ("train", "dev"):
      f = f"{name}-{split}-00000-of-00001"
      assert open(tmp_path / f, "rb").read() == open(os.path.join(data_dir, f), "rb").read()


def test_missing_espeak_fails_with_instructions(tmp_path, monkeypatch):
  import shutil
  monkeypatch.setattr(shutil, "which", lambda _: None)
  with pytest.raises(errors.DataError, match="apt-get install -y espeak-ng"):
    make("speech_en_mini").generate_data(str(tmp_path / "d"), str(tmp_path / "t"))
  assert not (tmp_path / "d").exists() or not os.listdir(tmp_path / "d")


@pytest.mark.parametrize("name, tokens", [("wmt_ende_mini", 240), ("parse_en_mini", 240),
                                          ("speech_en_mini", 1200)])  # Clips: 50-300 frames.
def test_token_batches_of_sequence_problems_hold_about_batch_tokens(name, tokens, data_dir):
  p = make(name)
  hp = HP.replace(batch_tokens=tokens)
  in_longest, out_longest = pipeline.bucket_longest(64), pipeline.bucket_longest(80)
  frames = p.audio_frame_step if EXPECTED[name][0] != "symbol" else 1
  rows = set()
  for batch in p.dataset("train", data_dir, hp, seed=3).take(12):
    inputs, targets = batch["inputs"].numpy(), batch["targets"].numpy()
    assert inputs.shape[0] == targets.shape[0] == batch["target_space"].shape[0]
    n, m = inputs.shape[1] // frames, targets.shape[1]
    rows.add(inputs.shape[0])
    if frames == 1:  # Tokens on both sides: padded to the cell's longest input and target.
      assert n in in_longest and m in out_longest, (n, m)
      assert inputs.shape[0] == max(1, tokens // max(n, m)) and _ends_with_eos(inputs)
    else:  # Audio, bucketed up to the problem's 3 s: padded to the longest clip.
      assert inputs.shape[0] == 1 or inputs.shape[0] * max(n, m) <= tokens
      assert (np.abs(inputs[:, -1]) > 0).any()
    assert _ends_with_eos(targets)
  assert len(rows) > 1  # Short cells take more examples than long ones.


@pytest.mark.parametrize("name", list(EXPECTED))
def test_compiled_steps_get_batches_of_a_few_static_shapes(name, data_dir):
  # jit_compile: each side bucketed by its own length (boundaries 8, 16, 32, ...) and padded
  # to its bucket's longest, batch_size rows: XLA compiles a step per shape.
  p = make(name)
  hp = HP.replace(jit_compile=True)
  pre_in, pre_out = p.preprocessors(data_dir, hp)
  sizes = []
  for pre in (pre_in, pre_out):
    longest = pipeline.bucket_longest(pre.max_length, step=hp.jit_length_bucket_step)
    sizes.append({pre.padded_size(n): n for n in longest} if pre.padded_size(1) else None)
  shapes = set()
  for batch in p.dataset("train", data_dir, hp, seed=3).take(16):
    assert {int(v.shape[0]) for v in batch.values()} == {8}
    shapes.add(tuple(tuple(v.shape) for v in batch.values()))
    for side, allowed in zip(("inputs", "targets"), sizes):
      if allowed is None:  # Images and labels: one shape already.
        continue
      size = int(batch[side].shape[1])
      assert size in allowed, (side, size, sorted(allowed))
      if batch[side].dtype == tf.int32:  # Token ids (never 0 but padding): in this bucket.
        real = np.count_nonzero(batch[side].numpy(), axis=1)
        assert real.max() <= size and real.min() > max([n for n in allowed if n < size],
                                                       default=0)
  bound = np.prod([len(a) if a else 1 for a in sizes])
  assert len(shapes) <= bound


def test_train_order_is_reproducible_by_seed(data_dir):
  p = make("wmt_enfr_mini")

  def first(seed):
    return next(iter(p.dataset("train", data_dir, HP, seed=seed)))["inputs"].numpy()

  a, b, c = first(5), first(5), first(6)
  assert a.shape == b.shape and (a == b).all()
  assert a.shape != c.shape or (a != c).any()


def test_has_data_tells_missing_from_present_and_names_broken_shards(tmp_path, data_dir):
  problem = make("parse_en_mini")
  assert not problem.has_data(str(tmp_path))
  assert problem.has_data(data_dir)
  for f in os.listdir(data_dir):
    if f.startswith("parse_en_mini-"):
      (tmp_path / f).write_bytes(open(os.path.join(data_dir, f), "rb").read())
  shard = tmp_path / "parse_en_mini-dev-00000-of-00001"
  shard.write_bytes(shard.read_bytes()[:-7])  # Truncated.
  with pytest.raises(errors.DataError, match="parse_en_mini-dev-00000-of-00001"):
    problem.has_data(str(tmp_path))
