"""The in-graph serving conversions (a batch through tf.map_fn, in a graph) equal what the
decoder reads from files through the same Preprocessors."""

import types

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.data.preprocessors import image as image_lib
from t2t_mm.data import vocabularies
from t2t_mm.data.spec import EOS_ID
from t2t_mm.data.vocabularies import ByteVocab
from t2t_mm.data.vocabularies import ClassLabelVocab
from t2t_mm import registry
from t2t_mm.data.preprocessors import SideConfig
from t2t_mm.decoding.serving import InputEncoder
from t2t_mm.decoding.serving import OutputDecoder

TEXTS = ["the cat sleeps .", " \tHällo 🙂 näive", "a dog"]


@pytest.fixture(scope="module")
def subword(tmp_path_factory):
  corpus = ["the cat sleeps on the mat .", "a dog runs .", "der Hund läuft ."] * 50
  path = tmp_path_factory.mktemp("vocab") / "v.model"
  return vocabularies.build_subword_vocab(str(path), corpus, vocab_size=320)


def _preprocessor(modality, max_length, vocab=None, image_size=None, sample_rate=None,
                  limits=InputLimits()):
  config = SideConfig("p", max_length, vocab=vocab, image_size=image_size,
                      sample_rate=sample_rate, input_limits=limits)
  return registry.preprocessor(modality)(config)


def _encoder(*args, **kwargs):
  return InputEncoder(_preprocessor(*args, **kwargs))


def _padded(rows):
  width = max(len(r) for r in rows)
  return np.array([r + [0] * (width - len(r)) for r in rows], np.int32)


@pytest.mark.parametrize("kind", ["subword", "bytes"])
def test_text_in_graph_equals_python_encoding_with_truncation_and_eos(kind, subword):
  vocab = subword if kind == "subword" else ByteVocab()
  encoder = _encoder("symbol", 6, vocab=vocab)
  got = encoder(tf.constant(TEXTS)).numpy()
  expected = _padded([vocab.encode(t)[:5] + [EOS_ID] for t in TEXTS])
  np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kind", ["subword", "bytes"])
def test_ids_to_text_stops_at_eos_drops_pad_and_is_lossless(kind, subword):
  vocab = subword if kind == "subword" else ByteVocab()
  rows = [vocab.encode(t) + [EOS_ID, 7, 7] for t in TEXTS]  # Ids after EOS are ignored.
  ids = _padded(rows).reshape(3, 1, -1)
  out = OutputDecoder(vocab)(tf.constant(ids)).numpy()
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
  out = OutputDecoder(vocab)(tf.constant(ids)).numpy()[:, 0]
  assert [o.decode("utf-8") for o in out] == [vocab.decode(r) for r in rows]
  assert "\ufffd" in out[0].decode("utf-8")


def test_class_labels_out():
  out = OutputDecoder(ClassLabelVocab(["cat", "dog", "owl"]))(
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
  got = _encoder("image", 0, image_size=(16, 16))(tf.constant(blobs)).numpy()
  pre = _preprocessor("image", 0, image_size=(16, 16))
  expected = np.stack([pre.read_request(str(p)) for p in paths])
  np.testing.assert_allclose(got, expected, atol=1e-5)


def test_wav_bytes_are_resampled_padded_and_cut_like_the_decoder(tmp_path):
  rng = np.random.default_rng(0)
  blobs, expected = [], []
  for i, (rate, n) in enumerate([(8000, 800), (16000, 1200), (16000, 4000)]):
    wave = rng.uniform(-0.5, 0.5, (n, 2)).astype(np.float32)
    blob = tf.audio.encode_wav(wave, rate).numpy()
    (tmp_path / f"{i}.wav").write_bytes(blob)
    blobs.append(blob)
    pre = _preprocessor("audio_waveform", 3000, sample_rate=16000)
    expected.append(pre.read_request(str(tmp_path / f"{i}.wav")))
  got = _encoder("audio_waveform", 3000, sample_rate=16000)(tf.constant(blobs)).numpy()
  assert got.shape == (3, 3000)  # 8 kHz x 800 -> 1600 samples; the last is cut to 3000.
  for row, want in zip(got, expected):
    np.testing.assert_allclose(row[:len(want)], want, atol=1e-4)
    assert not row[len(want):].any()


def test_a_vocabulary_without_an_in_graph_form_is_named():
  problem = types.SimpleNamespace(target_vocab=lambda data_dir: object())
  spec = types.SimpleNamespace(name="my_problem")
  with pytest.raises(errors.ConfigError, match="my_problem.*object"):
    OutputDecoder.for_problem(problem, spec, None)


def _bmp(h, w):
  """A 24-bit BMP (TensorFlow writes none)."""
  row = (w * 3 + 3) // 4 * 4
  header = (b"BM" + (54 + row * h).to_bytes(4, "little") + bytes(4) + (54).to_bytes(4, "little")
            + (40).to_bytes(4, "little") + w.to_bytes(4, "little") + h.to_bytes(4, "little")
            + (1).to_bytes(2, "little") + (24).to_bytes(2, "little") + bytes(24))
  return header + bytes(row * h)


def test_image_header_size_reads_png_jpeg_gif_bmp_and_webp_without_decoding():
  image = np.zeros((20, 30, 3), np.uint8)
  gif = (b"GIF89a" + (30).to_bytes(2, "little") + (20).to_bytes(2, "little") + bytes(3)
         + b"\x2c" + bytes(8) + b"\x00\x02\x02\x44\x01\x00\x3b")  # One 0x0 frame.
  for data in (tf.io.encode_png(image).numpy(), tf.io.encode_jpeg(image).numpy(), gif,
               _bmp(20, 30)):
    assert image_lib.image_header_size(tf.constant(data)).numpy().tolist() == [1, 20, 30]
  assert image_lib.image_header_size(tf.constant(_huge_png())).numpy().tolist() == [
      1, 100000, 100000]
  for unknown in (b"", b"not an image", b"RIFF\0\0\0\0WEBPVP8?"):
    assert image_lib.image_header_size(tf.constant(unknown)).numpy().tolist()[0] == -1


def _huge_png():
  """A 20 x 20 PNG whose header claims 100000 x 100000 pixels: only a header check sees that
  before decoding (decoding it fails on its own, with another message)."""
  png = tf.io.encode_png(np.zeros((20, 20, 3), np.uint8)).numpy()
  return png[:16] + (100000).to_bytes(4, "big") * 2 + png[24:]


@pytest.mark.parametrize("graph", [False, True])
def test_inputs_over_the_limits_fail_the_call_naming_the_limit(graph):
  png = tf.io.encode_png(np.zeros((20, 20, 3), np.uint8)).numpy()  # 400 pixels.
  small = tf.io.encode_png(np.zeros((8, 8, 3), np.uint8)).numpy()
  limits = InputLimits(max_image_pixels=100, max_image_bytes=4000, max_audio_bytes=100,
                       max_input_chars=5)
  image = _encoder("image", 0, image_size=(8, 8), limits=limits)
  audio = _encoder("audio_waveform", 3000, sample_rate=16000, limits=limits)
  text = _encoder("symbol", 16, vocab=ByteVocab(), limits=limits)

  def call(encoder, strings):
    return encoder(strings)

  call = tf.function(call) if graph else call
  assert call(image, tf.constant([small])).shape == (1, 8, 8, 3)
  assert call(text, tf.constant(["héllo"])).shape == (1, 7)  # 5 characters in 6 bytes, EOS.
  wav = tf.audio.encode_wav(np.zeros((800, 1), np.float32), 16000).numpy()
  for encoder, data, limit in ((image, png, "max_image_pixels"),
                               (image, _huge_png(), "max_image_pixels"),
                               (image, _bmp(20, 20), "max_image_pixels"),
                               (image, bytes(4001), "max_image_bytes"),
                               (audio, wav, "max_audio_bytes"),
                               (text, "héllo!", "max_input_chars")):
    with pytest.raises(tf.errors.InvalidArgumentError, match=limit):
      call(encoder, tf.constant([data]))
