"""mm-decoder --score_file: the model's log-probability of given targets."""

import sys

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.decoding import inputs as inputs_lib
from t2t_mm.decoding import loading
from t2t_mm.decoding import scoring
from t2t_mm.decoding import session as session_lib
from t2t_mm.training import losses

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import session_test  # noqa: E402


@pytest.fixture(scope="module")
def session(tmp_path_factory):
  out = tmp_path_factory.mktemp("score") / "run"
  session_test.make_output_dir(out)
  run = loading.load_for_decoding(str(out), problems=session_test.PROBLEMS)
  return session_lib.DecodeSession(run, DecodeHParams(batch_size=2), "fake_copy")


def _teacher_forced_nll(session, source, target):
  """-(sum of log-probabilities) from the training loss code, one example at a time."""
  x = session.encode(session.parse(source))
  features = inputs_lib.make_batch([x], session.run.specs[session.problem])
  features["targets"] = scoring.target_ids(session, target)[None]
  spec = session.run.specs[session.problem]
  logits = session.run.model(features, problem=session.problem, training=False)
  weights = losses.target_weights(tf.constant(features["targets"]), spec.one_token_targets)
  nll, _, count = losses.token_stats(logits, tf.constant(features["targets"]), weights)
  return float(nll), float(count)


def test_scores_are_the_teacher_forced_loss_and_bad_lines_stay_aligned(session):
  pairs = [("3 4 5", "5 4 3"), ("9 8", "8"), ("7 7 7 7", "7 7")]
  lines = [f"{s}\t{t}".encode() for s, t in pairs]
  lines.insert(1, b"no tab here")
  out = scoring.score_lines(session, lines, warn=lambda message: None)
  assert len(out) == 4 and out[1].startswith("ERROR: ") and "no tab" in out[1]
  for (source, target), line in zip(pairs, [out[0], out[2], out[3]]):
    total, per_token = (float(v) for v in line.split("\t"))
    nll, count = _teacher_forced_nll(session, source, target)
    assert total == pytest.approx(-nll, rel=1e-4, abs=1e-4)
    assert per_token == pytest.approx(-nll / count, rel=1e-4, abs=1e-4)
    assert total < 0


def test_a_class_label_target_is_scored_as_one_token(session, tmp_path):
  image = (np.random.default_rng(0).random((8, 8, 3)) * 255).astype(np.uint8)
  path = tmp_path / "x.png"
  path.write_bytes(tf.io.encode_png(image).numpy())
  labels_session = session_lib.DecodeSession(session.run, DecodeHParams(), "fake_image_label")
  vocab = labels_session.target_vocab()
  lines = [f"image={path}\t{vocab.decode([i])}".encode() for i in range(3)]
  probs = [np.exp(float(line.split("\t")[0]))
           for line in scoring.score_lines(labels_session, lines)]
  assert sum(probs) == pytest.approx(1.0, abs=1e-4)  # Every class of the image: all the mass.
  assert all(float(line.split("\t")[0]) == float(line.split("\t")[1])
             for line in scoring.score_lines(labels_session, lines))


def test_mm_decoder_score_file_writes_one_line_per_pair(tool, tmp_path):
  out = tmp_path / "run"
  session_test.make_output_dir(out, {"fake_copy": session_test.PROBLEMS["fake_copy"]})
  pkg = tmp_path / "score_plugin"
  pkg.mkdir()
  (pkg / "__init__.py").write_text(
      "from t2t_mm import registry\nfrom t2t_mm.testing import fake_problems\n"
      "registry.register_problem(name='fake_copy')(fake_problems.FakeCopyProblem)\n")
  (tmp_path / "pairs.tsv").write_text("3 4 5\t5 4 3\n9 8\t8\n")
  result = tool("mm-decoder", f"--usr_dir={pkg}", f"--output_dir={out}",
                f"--score_file={tmp_path / 'pairs.tsv'}")
  assert result.returncode == 0, result.stderr[-2000:]
  lines = (tmp_path / "pairs.tsv.scores").read_text().splitlines()
  assert len(lines) == 2 and all(float(line.split("\t")[0]) < 0 for line in lines)
  result = tool("mm-decoder", f"--usr_dir={pkg}", f"--output_dir={out}",
                f"--score_file={tmp_path / 'missing.tsv'}")
  assert result.returncode == 2 and "--score_file=" in result.stderr


def test_score_file_reads_each_line_with_a_bound_and_keeps_lines_aligned(session, tmp_path):
  session.input_limits = InputLimits(max_input_chars=50)
  try:
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"3 4\t3 4\n" + b"5 " * 5000 + b"\t5\n" + b"6 7\t6 7\n")
    assert scoring.score_file(session, str(path), str(tmp_path / "out.tsv")) == 3
    out = (tmp_path / "out.tsv").read_text().splitlines()
    assert len(out) == 3 and out[1].startswith("ERROR: Line of more than"), out
    assert not out[0].startswith("ERROR") and not out[2].startswith("ERROR"), out
  finally:
    session.input_limits = InputLimits()
