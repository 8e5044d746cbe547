"""The paper's problems, offline: TFDS loaders under tfds.testing.mock_data, file loaders on
fixture files, and fail-fast instructions when raw data is missing."""

import json
import os
import time
import wave

import numpy as np
import pytest
import tensorflow_datasets as tfds

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config.hparams import HParams
from t2t_mm.data.spec import EOS_ID, TargetSpace

HP = HParams(batch_size=4, max_input_length=64, max_target_length=64)


def make(name, **kw):
  return registry.lookup("problems", name.removesuffix("_rev"))(
      was_reversed=name.endswith("_rev"), **kw)


@pytest.fixture
def mock_tfds():
  with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
    yield


def _first_batch(p, data_dir, mode="train"):
  return {k: v.numpy() for k, v in next(iter(p.dataset(mode, data_dir, HP, seed=1))).items()}


def test_all8_names_the_eight_paper_problems():
  assert registry.expand_problem_names("all8") == [
      "wmt_ende", "wmt_ende_rev", "wmt_enfr", "wmt_enfr_rev", "imagenet", "coco_captions",
      "wsj_speech", "wsj_parsing"]


def test_wmt_under_mock_data(tmp_path, mock_tfds):
  del mock_tfds
  d, t = str(tmp_path / "data"), str(tmp_path / "raw")
  for name in ("wmt_ende", "wmt_enfr"):
    make(name).generate_data(d, t)
  assert os.listdir(d).count("vocab.all8.subword.8192.model") == 1
  for name, space in (("wmt_ende", TargetSpace.TO_GERMAN), ("wmt_ende_rev",
                                                              TargetSpace.TO_ENGLISH),
                      ("wmt_enfr", TargetSpace.TO_FRENCH)):
    p = make(name)
    spec = p.spec(d)
    assert spec.target_space == space and spec.input_vocab == spec.target_vocab == "all8"
    assert p.num_examples("dev", d) == 6
    batch = _first_batch(p, d)
    assert batch["inputs"].dtype == np.int32 and batch["inputs"].shape[0] == HP.batch_size
    assert (batch["targets"] == EOS_ID).sum() == HP.batch_size


def test_imagenet_and_coco_under_mock_data(tmp_path, mock_tfds):
  del mock_tfds
  d, t = str(tmp_path / "data"), str(tmp_path / "raw")
  os.makedirs(os.path.join(t, "manual"))
  for f in ("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar"):
    open(os.path.join(t, "manual", f), "wb").close()  # Manual files present: prepare offline.
  imagenet = make("imagenet", image_size=40)
  imagenet.generate_data(d, t)
  assert imagenet.splits == ("train", "dev")
  spec = imagenet.spec(d)
  assert (spec.target_modality, spec.target_vocab, spec.target_vocab_size) == (
      "class_label", "labels", 1000)
  batch = _first_batch(imagenet, d)
  assert batch["inputs"].shape == (4, 40, 40, 3) and batch["targets"].shape == (4, 1)
  coco = make("coco_captions", image_size=24)
  coco.generate_data(d, t)
  assert coco.num_examples("train", d) > 6  # One example per caption.
  assert coco.num_examples("dev", d) == 6  # One example per image, every caption a reference.
  with open(coco.references_path(d, "dev"), encoding="utf-8") as f:
    refs = [json.loads(line) for line in f]
  assert len(refs) == 6 and all(len(r) >= 1 for r in refs) and sum(map(len, refs)) > 6
  vocab = coco.target_vocab(d)
  firsts = [vocab.decode([int(i) for i in b["targets"].numpy()[0] if i > 1])
            for b in coco.dataset("dev", d, HP.replace(batch_size=1), shuffle=False)]
  assert firsts == [r[0] for r in refs]  # In example order: reference i is example i's.
  batch = _first_batch(coco, d)
  assert batch["inputs"].shape == (4, 24, 24, 3) and batch["targets"].dtype == np.int32
  assert coco.spec(d).target_space == TargetSpace.TO_ENGLISH


def test_librispeech_under_mock_data(tmp_path, mock_tfds):
  del mock_tfds
  d = str(tmp_path / "data")
  p = make("librispeech")
  p.generate_data(d, str(tmp_path / "raw"))
  spec = p.spec(d)
  assert (spec.input_modality, spec.target_vocab, spec.sample_rate) == (
      "audio_spectral", "bytes", 16000)
  batch = _first_batch(p, d, "dev")
  assert batch["inputs"].dtype == np.float32 and batch["inputs"].ndim == 2


def _write_wav(path, seconds, rate=8000):
  samples = (np.sin(np.arange(int(seconds * rate)) * 0.3) * 9000).astype("<i2")
  with wave.open(str(path), "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(rate)
    w.writeframes(samples.tobytes())


def _vocab(d):  # The shared all8 vocab, built from text here instead of WMT.
  from t2t_mm.data import all8_vocab, vocabularies
  vocabularies.build_subword_vocab(os.path.join(d, all8_vocab.vocab_filename()),
                            ["Ms. Haag plays Elianti .", "(S (NP NNP )NP )S"] * 50, 400)


def test_wsj_speech_from_listed_wav_files(tmp_path):
  d, t = tmp_path / "data", tmp_path / "raw"
  folder = t / "wsj_speech"
  os.makedirs(folder / "wav")
  for split, n in (("train", 3), ("dev", 2), ("test", 1)):
    lines = []
    for i in range(n):
      _write_wav(folder / "wav" / f"{split}{i}.wav", 0.5 + 0.1 * i)
      lines.append(f"wav/{split}{i}.wav\tTHE SHARE PRICE {i}\n")
    (folder / f"{split}.tsv").write_text("".join(lines))
  p = make("wsj_speech")
  p.generate_data(str(d), str(t))
  batches = list(p.dataset("dev", str(d), HP))
  audio = batches[0]["inputs"].numpy()
  assert audio.shape == (2, 9600)  # 0.6 s resampled from 8 kHz to 16 kHz, zero-padded.
  assert p.target_vocab(str(d)).decode(batches[0]["targets"].numpy()[0]) == "THE SHARE PRICE 0"
  (folder / "test.tsv").write_text("missing.wav\tX\n")
  with pytest.raises(errors.DataError, match="missing.wav"):
    make("wsj_speech").generate_data(str(tmp_path / "d2"), str(t))


TREES = """( (S (NP-SBJ (NNP Ms.) (NNP Haag) ) (VP (VBZ plays) (NP (NNP Elianti) )) (. .) ))
( (S (NP-SBJ (-NONE- *-1) ) (VP (VBD rose) (ADVP (RB sharply))) (. .) ))
"""


def test_wsj_parsing_from_tree_files(tmp_path):
  d, t = tmp_path / "data", tmp_path / "raw"
  os.makedirs(t / "wsj_parsing")
  for split in ("train", "dev", "test"):
    (t / "wsj_parsing" / f"{split}.trees").write_text(TREES)
  os.makedirs(d)
  _vocab(str(d))
  p = make("wsj_parsing")
  p.generate_data(str(d), str(t))
  batch = next(iter(p.dataset("dev", str(d), HP)))
  vocab = p.target_vocab(str(d))
  assert vocab.decode(batch["targets"].numpy()[0]) == (
      "(S (NP NNP NNP )NP (VP VBZ (NP NNP )NP )VP . )S")
  assert vocab.decode(batch["inputs"].numpy()[1]) == "rose sharply ."
  assert p.spec(str(d)).target_space == TargetSpace.TO_PARSE_TREE
  (t / "wsj_parsing" / "dev.trees").write_text("( (S (NP (NN a) ) )")
  with pytest.raises(errors.DataError, match="dev.trees: unbalanced"):
    make("wsj_parsing").generate_data(str(d), str(t))


def test_missing_raw_data_fails_fast_with_instructions(tool, tmp_path):
  start = time.time()
  result = tool("mm-datagen", "--problem=wmt_ende", f"--data_dir={tmp_path / 'd'}",
                f"--tmp_dir={tmp_path / 't'}")
  assert time.time() - start < 60  # TF import included; the check itself takes < 1 s.
  assert result.returncode != 0
  assert "wmt14_translate/de-en" in result.stderr and "tfds build" in result.stderr
  assert str(tmp_path / "t" / "tfds") in result.stderr
  assert not (tmp_path / "d").exists()
  result = tool("mm-datagen", "--problem=all8", f"--data_dir={tmp_path / 'd'}",
                f"--tmp_dir={tmp_path / 't'}", "--noprogress")
  assert result.returncode != 0 and "6 of 6 problems failed" in result.stderr
  for hint in ("ILSVRC2012_img_train.tar", "sph2pipe", "LDC99T42", "coco_captions"):
    assert hint in result.stderr
