"""t2t_mm.api: decoding and scoring from Python (strings, file bytes or paths), typed errors."""

import importlib.util
import os

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import api
from t2t_mm import errors
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.decoding import loading

# The random-weight run of session_test (tests are not a package: loaded by path).
_SPEC = importlib.util.spec_from_file_location(
    "decoding_session_test", os.path.join(os.path.dirname(__file__), "session_test.py"))
session_test = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(session_test)
PROBLEMS, make_output_dir = session_test.PROBLEMS, session_test.make_output_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  out = tmp_path_factory.mktemp("api_run")
  make_output_dir(out)
  return api.Run(loading.load_for_decoding(str(out), problems=PROBLEMS),
                 DecodeHParams(max_decode_length=8))


@pytest.fixture(scope="module")
def media(tmp_path_factory):
  d = tmp_path_factory.mktemp("api_media")
  rng = np.random.default_rng(0)
  (d / "a.png").write_bytes(tf.io.encode_png(
      (rng.random((12, 10, 3)) * 255).astype("uint8")).numpy())
  (d / "a.wav").write_bytes(tf.audio.encode_wav(
      rng.uniform(-0.5, 0.5, (1600, 1)).astype("float32"), 16000).numpy())
  return d


def test_text_decodes_alone_and_as_a_batch_with_the_same_answers(run):
  one = run.decode("fake_copy", "3 4 5")
  assert isinstance(one, str)
  assert run.decode("fake_copy", ["3 4 5", "4 3"]) == [one, run.decode("fake_copy", "4 3")]


@pytest.mark.parametrize("problem, name", [("fake_image_label", "a.png"),
                                           ("fake_speech", "a.wav")])
def test_a_file_decodes_the_same_from_its_bytes_its_path_and_a_path_string(run, media, problem,
                                                                             name):
  path = media / name
  by_path = run.decode(problem, path)
  assert run.decode(problem, str(path)) == by_path
  assert run.decode(problem, [path.read_bytes(), path]) == [by_path, by_path]


def test_bytes_are_bounded_as_files_are(run, media):
  small = api.Run(run.loaded, DecodeHParams(), InputLimits(max_image_bytes=10))
  with pytest.raises(errors.DataError, match=r"image bytes: \d+ bytes, more than "
                     "max_image_bytes=10"):
    small.decode("fake_image_label", (media / "a.png").read_bytes())
  with pytest.raises(errors.DataError, match="image bytes: not an image"):
    run.decode("fake_image_label", b"not an image at all")
  with pytest.raises(errors.DataError, match="reads text: give a str"):
    run.decode("fake_copy", b"3 4")


def test_hypotheses_take_search_settings_per_call_and_keep_the_run_bounds(run, media):
  best = run.hypotheses("fake_copy", "3 4 5")
  assert [h.text for h in best] == [run.decode("fake_copy", "3 4 5")]
  beams = run.hypotheses("fake_copy", "3 4 5", {"beam_size": 3, "alpha": 0.0})
  assert len(beams) == 3 and beams[0].score >= beams[1].score >= beams[2].score
  assert run.session.dhp.beam_size == 1  # The run's own settings are left as they were.
  labels = run.hypotheses("fake_image_label", (media / "a.png").read_bytes(), "beam_size=3")
  assert sorted(h.text for h in labels) == ["class0", "class1", "class2"]
  assert sum(np.exp(h.score) for h in labels) == pytest.approx(1, abs=1e-4)
  assert labels[0].text == run.decode("fake_image_label", media / "a.png")
  assert run.input_kind("fake_speech") == "audio" and run.input_kind("fake_copy") == "text"
  with pytest.raises(errors.ConfigError, match="'max_image_bytes' is an input limit, not a "
                     "decode hparam: give it with --input_limits"):
    run.hypotheses("fake_copy", "3", {"max_image_bytes": 1 << 40})
  with pytest.raises(errors.ConfigError, match="beam_size"):
    run.hypotheses("fake_copy", "3", {"beam_size": "3"})


def test_score_is_the_log_probability_of_each_target(run):
  one = run.score("fake_copy", "3 4", "3 4")
  both = run.score("fake_copy", ["3 4", "4 3"], ["3 4", "3"])
  assert one < 0 and both[0] == pytest.approx(one, abs=1e-4) and len(both) == 2
  with pytest.raises(errors.ConfigError, match="2 inputs but 1 targets"):
    run.score("fake_copy", ["3 4", "4"], ["3"])


def test_errors_are_typed_not_system_exit(tmp_path):
  with pytest.raises(errors.DataError, match="is not a folder"):
    api.load_run(str(tmp_path / "nothing"))
  with pytest.raises(errors.ConfigError, match="--problems is required"):
    api.train(hparams_set="multimodel_tiny", data_dir=str(tmp_path),
              output_dir=str(tmp_path / "run"))
  with pytest.raises(errors.UnknownNameError, match="hiden_size.*hidden_size"):
    api.train(problems="wmt_ende_mini", hparams_set="multimodel_tiny",
              hparams={"hiden_size": 8}, data_dir=str(tmp_path), output_dir=str(tmp_path))
  with pytest.raises(errors.ConfigError, match="unknown argument train_step"):
    api.train(problems="wmt_ende_mini", train_step=3)
