"""The in-graph serving conversions equal the Python ones the decoder uses (inputs.py)."""

import types

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.data import vocab as vocab_lib
from t2t_mm.data.spec import EOS_ID
from t2t_mm.data.text_encoders import ByteVocab
from t2t_mm.data.text_encoders import ClassLabelVocab
from t2t_mm.decoding import inputs
from t2t_mm.decoding.serving import InputEncoder
from t2t_mm.decoding.serving import OutputDecoder

TEXTS = ["the cat sleeps .", " \tHällo 🙂 näive", "a dog"]


@pytest.fixture(scope="module")
def subword(tmp_path_factory):
  corpus = ["the cat sleeps on the mat .", "a dog runs .", "der Hund läuft ."] * 50
  path = tmp_path_factory.mktemp("vocab") / "v.model"
  return vocab_lib.build_subword_vocab(str(path), corpus, vocab_size=320)


def _padded(rows):
  width = max(len(r) for r in rows)
  return np.array([r + [0] * (width - len(r)) for r in rows], np.int32)


@pytest.mark.parametrize("kind", ["subword", "bytes"])
def test_text_in_graph_equals_python_encoding_with_truncation_and_eos(kind, subword):
  vocab = subword if kind == "subword" else ByteVocab()
  encoder = InputEncoder(kind, max_length=6, vocab=vocab)
  got = encoder(tf.constant(TEXTS)).numpy()
  expected = _padded([vocab.encode(t)[:5] + [EOS_ID] for t in TEXTS])
  np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kind", ["subword", "bytes"])
def test_ids_to_text_stops_at_eos_drops_pad_and_is_lossless(kind, subword):
  vocab = subword if kind == "subword" else ByteVocab()
  rows = [vocab.encode(t) + [EOS_ID, 7, 7] for t in TEXTS]  # Ids after EOS are ignored.
  ids = _padded(rows).reshape(3, 1, -1)
  out = OutputDecoder(kind, vocab)(tf.constant(ids)).numpy()
  assert out.shape == (3, 1)
  assert [o.decode("utf-8") for o in out[:, 0]] == TEXTS


@pytest.mark.parametrize("kind", ["subword", "bytes"])
def test_ids_that_spell_invalid_utf8_give_replacement_characters_like_decode(kind, subword):
  vocab = subword if kind == "subword" else ByteVocab()
  if kind == "subword":
    bad = [vocab._sp.piece_to_id("<0xB5>"), vocab._sp.piece_to_id("<0xE2>")]
  else:
    bad = [0xB5 + ByteVocab.offset, 0xE2 + ByteVocab.offset]
  rows = [vocab.encode("ab") + bad + vocab.encode("c"), bad[1:] + [EOS_ID]]
  ids = _padded(rows).reshape(2, 1, -1)
  out = OutputDecoder(kind, vocab)(tf.constant(ids)).numpy()[:, 0]
  assert [o.decode("utf-8") for o in out] == [vocab.decode(r) for r in rows]
  assert "\ufffd" in out[0].decode("utf-8")


def test_class_labels_out():
  out = OutputDecoder("labels", ClassLabelVocab(["cat", "dog", "owl"]))(
      tf.constant([[[2], [0]], [[1], [1]]]))
  assert out.numpy().tolist() == [[b"owl", b"cat"], [b"dog", b"dog"]]


def test_image_bytes_equal_the_decoder_reading_the_file(tmp_path):
  rng = np.random.default_rng(0)
  paths, blobs = [], []
  for i, (h, w) in enumerate([(16, 16), (20, 12)]):  # One needs resizing to 16x16.
    png = tf.io.encode_png(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).numpy()
    paths.append(tmp_path / f"{i}.png")
    paths[-1].write_bytes(png)
    blobs.append(png)
  got = InputEncoder("image", 0, image_size=(16, 16))(tf.constant(blobs)).numpy()
  expected = np.stack([inputs.read_image(str(p), (16, 16)) for p in paths])
  np.testing.assert_allclose(got, expected, atol=1e-5)


def test_wav_bytes_are_resampled_padded_and_cut_like_the_decoder(tmp_path):
  rng = np.random.default_rng(0)
  blobs, expected = [], []
  for i, (rate, n) in enumerate([(8000, 800), (16000, 1200), (16000, 4000)]):
    wave = rng.uniform(-0.5, 0.5, (n, 2)).astype(np.float32)
    blob = tf.audio.encode_wav(wave, rate).numpy()
    (tmp_path / f"{i}.wav").write_bytes(blob)
    blobs.append(blob)
    expected.append(inputs.read_wav(str(tmp_path / f"{i}.wav"), 16000)[:3000])
  got = InputEncoder("audio", 3000, sample_rate=16000)(tf.constant(blobs)).numpy()
  assert got.shape == (3, 3000)  # 8 kHz x 800 -> 1600 samples; the last is cut to 3000.
  for row, want in zip(got, expected):
    np.testing.assert_allclose(row[:len(want)], want, atol=1e-4)
    assert not row[len(want):].any()


def test_a_vocabulary_without_an_in_graph_form_is_named():
  problem = types.SimpleNamespace(target_vocab=lambda data_dir: object())
  spec = types.SimpleNamespace(name="my_problem")
  with pytest.raises(errors.ConfigError, match="my_problem.*object"):
    OutputDecoder.for_problem(problem, spec, None)
