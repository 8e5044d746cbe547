"""Warm start: a new run from another run's weights, by name and shape."""

import json
import os

import numpy as np
import pytest

from t2t_mm import errors
from t2t_mm.config.hparams import HParams
from t2t_mm.runs import warm_start
from t2t_mm.testing import fake_model  # noqa: F401  (registers fake_seq2seq)
from t2t_mm.testing import fake_problems
from t2t_mm.training import trainer as trainer_lib

HP = HParams(model="fake_seq2seq", hidden_size=32, batch_size=16, learning_rate=0.01,
             learning_rate_warmup_steps=10, label_smoothing=0.0)


class FakeReverseProblem(fake_problems.FakeCopyProblem):
  """The copy problem's inputs, targets reversed (EOS stays last): another task, one vocab."""

  def __init__(self):
    super().__init__(name="fake_reverse")

  def _targets(self, inputs):
    out = inputs.copy()
    out[:, :-1] = inputs[:, -2::-1]
    return out


def make(output_dir, problems, hp=HP, **config):
  config = dict(dict(log_every=10, checkpoint_every=50, eval_steps=2, eval_every=0), **config)
  return trainer_lib.Trainer(problems, hp, "in_memory", str(output_dir),
                             config=trainer_lib.TrainerConfig(**config))


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
  """A run trained on the copy problem alone, 150 steps."""
  path = tmp_path_factory.mktemp("source")
  make(path, [fake_problems.FakeCopyProblem()]).train(150)
  return path


def test_fine_tuning_starts_lower_than_scratch_and_lists_what_was_restored(tmp_path,
                                                                          source_run):
  problems = [FakeReverseProblem(), fake_problems.FakeLabelProblem()]
  scratch = make(tmp_path / "scratch", problems)
  scratch.restore()
  tuned = make(tmp_path / "tuned", problems, warm_start_from=str(source_run))
  assert tuned.restore() == 0  # The optimizer and step start fresh.
  start = {"scratch": scratch.evaluate()["fake_reverse"]["loss"],
           "tuned": tuned.evaluate()["fake_reverse"]["loss"]}
  assert start["tuned"] < start["scratch"] - 0.3, start
  tuned.train(5)
  report = json.loads((tmp_path / "tuned" / warm_start.REPORT_FILE).read_text())
  assert report["checkpoint"] == str(source_run / "checkpoints" / "ckpt-150")
  assert "input_symbol_fake/embeddings" in report["restored"]
  assert "hidden/kernel" in report["restored"]
  # The label problem's output net exists only here: it starts fresh.
  assert report["fresh"] == ["output_class_label_labels_fake_label/bias",
                             "output_class_label_labels_fake_label/kernel",
                             "target_class_label_labels_fake_label/embeddings"]
  assert report["optimizer_restored"] == []
  restored = make(tmp_path / "tuned_again", problems, warm_start_from=str(source_run))
  restored.restore()
  source = make(source_run, [fake_problems.FakeCopyProblem()])
  assert source.restore() == 150  # Its own newest checkpoint; nothing is written.
  np.testing.assert_array_equal(restored.model.hidden.kernel.numpy(),
                                source.model.hidden.kernel.numpy())


def test_a_resumed_run_keeps_its_own_weights_and_the_optimizer_can_come_along(tmp_path,
                                                                             source_run):
  run = make(tmp_path / "run", [FakeReverseProblem()], warm_start_from=str(source_run))
  run.train(5)
  again = make(tmp_path / "run", [FakeReverseProblem()], warm_start_from=str(source_run))
  assert again.restore() == 5 and again.warm_start_report is None
  with_optimizer = make(tmp_path / "opt", [FakeReverseProblem()],
                        warm_start_from=str(source_run / "checkpoints" / "ckpt-150"),
                        warm_start_optimizer=True)
  assert with_optimizer.restore() == 150
  assert "iteration" in " ".join(with_optimizer.warm_start_report.optimizer_restored)


def test_a_name_of_another_shape_is_an_error_naming_it(tmp_path, source_run):
  run = make(tmp_path / "wide", [FakeReverseProblem()], hp=HP.replace(hidden_size=16),
             warm_start_from=str(source_run))
  with pytest.raises(errors.ConfigError, match=r"another shape: .*hidden/kernel \(32, 32\) in "
                     r"the checkpoint, \(16, 16\) here"):
    run.restore()
  assert not os.path.exists(tmp_path / "wide" / warm_start.REPORT_FILE)


def test_a_source_without_a_checkpoint_is_an_error_naming_it(tmp_path):
  with pytest.raises(errors.ConfigError, match="--warm_start_from=.*nowhere.*expected a run "
                     "folder"):
    warm_start.find_checkpoint(str(tmp_path / "nowhere"))
  with pytest.raises(errors.ConfigError, match="warm_start_optimizer needs warm_start_from"):
    trainer_lib.TrainerConfig(warm_start_optimizer=True)
