"""The trainer on fake problems and a fake model: joint training, resume, NaN, distribution."""

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.hparams import HParams
from t2t_mm.testing import fake_model  # noqa: F401  (registers fake_seq2seq)
from t2t_mm.testing import fake_problems
from t2t_mm.training import trainer as trainer_lib

SCRIPT = os.path.join(os.path.dirname(fake_problems.__file__), "fake_train_script.py")
HP = HParams(model="fake_seq2seq", hidden_size=32, batch_size=16, learning_rate=0.01,
             learning_rate_warmup_steps=10, label_smoothing=0.1)


def make_trainer(output_dir, **config):
  config = dict(dict(log_every=10, checkpoint_every=10, eval_steps=2, eval_every=0), **config)
  return trainer_lib.Trainer(
      [fake_problems.FakeCopyProblem(), fake_problems.FakeLabelProblem()], HP, "in_memory",
      str(output_dir), config=trainer_lib.TrainerConfig(**config))


def run_script(output_dir, steps, strategy="default", cpu_devices=1, env=None, **kwargs):
  return subprocess.Popen(
      [sys.executable, SCRIPT, str(output_dir), str(steps), strategy, str(cpu_devices)],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {})), **kwargs)


def finish(process, timeout=240):
  out, err = process.communicate(timeout=timeout)
  assert process.returncode == 0, err[-3000:]
  return json.loads(out.strip().splitlines()[-1])


def test_joint_training_learns_each_problem_and_writes_outputs(tmp_path):
  trainer = make_trainer(tmp_path)
  before = trainer.evaluate()
  results = trainer.train(120)
  assert trainer.step == 120
  for name in ("fake_copy", "fake_label"):
    assert results[name]["loss"] < before[name]["loss"] - 0.2, (name, before, results)
  assert results["fake_label"]["accuracy"] > results["fake_label"]["chance_accuracy"]
  # Every problem's step was traced once and reused.
  assert {n: f.experimental_get_tracing_count() for n, f in trainer._steps.items()} == {
      "fake_copy": 1, "fake_label": 1}
  saved = json.loads((tmp_path / "eval_results.json").read_text())
  assert saved["step"] == 120 and set(saved["problems"]) == {"fake_copy", "fake_label"}
  assert json.loads((tmp_path / "problems.json").read_text())["problems"][0]["name"]
  tags = set()
  for event_file in glob.glob(str(tmp_path / "*" / "events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(event_file):
      tags.update(v.tag for v in event.summary.value)
  assert {"loss/fake_copy", "loss/fake_label", "fake_copy/exact_match",
          "fake_label/accuracy", "fake_label/top5"} <= tags


def test_mixture_follows_the_rates(tmp_path):
  trainer = make_trainer(tmp_path)
  assert trainer.rates == pytest.approx({"fake_copy": 0.5, "fake_label": 0.5})
  picks = [trainer.sampler.problem_at(s) for s in range(400)]
  assert 150 < picks.count("fake_copy") < 250


@pytest.mark.slow  # Subprocesses or long runs.
def test_resume_with_iterator_checkpoints_equals_one_run(tmp_path):
  one = make_trainer(tmp_path / "one", checkpoint_iterators=True)
  one.train(40)
  first = make_trainer(tmp_path / "two", checkpoint_iterators=True)
  first.train(20)
  second = make_trainer(tmp_path / "two", checkpoint_iterators=True)
  assert second.restore() == 20
  second.train(40)
  assert second.step == 40
  for a, b in zip(one.model.weights, second.model.weights):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def test_resume_without_iterator_state_reshuffles_instead_of_replaying(tmp_path):
  first = make_trainer(tmp_path)
  first.train(20)
  first_batch = make_trainer(tmp_path / "fresh")
  first_batch._start_iterators(0)
  fresh = next(first_batch._iterators["fake_copy"])["inputs"].numpy()
  second = make_trainer(tmp_path)
  second._start_iterators(second.restore())
  resumed = next(second._iterators["fake_copy"])["inputs"].numpy()
  assert not np.array_equal(fresh, resumed)
  second.train(40)
  assert second.step == 40
  names = [n for n, _ in tf.train.list_variables(second._checkpoint_manager.latest_checkpoint)]
  assert not [n for n in names if n.startswith("iterator_")]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
  trainer = make_trainer(tmp_path)
  trainer.train(10)
  good = trainer._checkpoint_manager.latest_checkpoint
  nan = tf.constant(float("nan"))
  trainer._steps = {name: (lambda features: (nan, nan)) for name in trainer._steps}
  with pytest.raises(trainer_lib.TrainingDivergedError, match="nan.*step 10.*ckpt-10"):
    trainer.train(30)
  assert trainer._checkpoint_manager.latest_checkpoint == good
  assert make_trainer(tmp_path).restore() == 10


def test_unknown_problem_loss_weight_is_an_error(tmp_path):
  with pytest.raises(Exception, match="problem_loss_weights.*nope"):
    trainer_lib.Trainer([fake_problems.FakeCopyProblem()],
                        HP.replace(problem_loss_weights={"nope": 2.0}), "m", str(tmp_path))


@pytest.mark.slow  # Subprocesses or long runs.
def test_sigkill_then_rerun_ends_at_the_requested_step(tmp_path):
  process = run_script(tmp_path, 400)
  deadline = time.time() + 180
  while not glob.glob(str(tmp_path / "checkpoints" / "ckpt-*.index")):
    assert process.poll() is None, process.communicate()[1][-2000:]
    assert time.time() < deadline
    time.sleep(0.2)
  process.send_signal(signal.SIGKILL)
  process.wait()
  killed_at = int(open(tmp_path / "checkpoints" / "checkpoint").read().split('"')[1].split("-")[1])
  assert 0 < killed_at < 400
  result = finish(run_script(tmp_path, 400))
  assert result["step"] == 400


@pytest.fixture(scope="module")
def single_device_run(tmp_path_factory):
  """The 30-step single-device run the distributed runs are compared with."""
  return finish(run_script(tmp_path_factory.mktemp("single"), 30))


@pytest.mark.slow  # Subprocesses or long runs.
def test_mirrored_on_two_cpus_agrees_with_one_device(tmp_path, single_device_run):
  a, b = single_device_run, finish(run_script(tmp_path / "mirrored", 30, "mirrored", 2))
  assert a["step"] == b["step"] == 30
  for name in a["eval_loss"]:
    assert b["eval_loss"][name] == pytest.approx(a["eval_loss"][name], rel=0.02)


def _free_ports(n):
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


@pytest.mark.slow  # Subprocesses or long runs.
def test_two_worker_multi_worker_mirrored_finishes_and_agrees(tmp_path, single_device_run):
  single = single_device_run
  workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
  processes = []
  for index in range(2):
    tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
    processes.append(run_script(tmp_path / "multi", 30, "multi_worker_mirrored",
                                env={"TF_CONFIG": json.dumps(tf_config)}))
  results = [finish(p) for p in processes]
  assert all(r["step"] == 30 for r in results)
  untrained = {"fake_copy": np.log(12), "fake_label": np.log(3)}  # Uniform predictions.
  for name, loss in single["eval_loss"].items():
    # Each worker reads its own shard, so its batches differ from the single run's: the two
    # agree loosely, and both learned far below the untrained loss.
    assert results[0]["eval_loss"][name] == pytest.approx(loss, rel=0.4, abs=0.05)
    assert results[0]["eval_loss"][name] < untrained[name] - 0.2
  assert results[0]["eval_loss"] == pytest.approx(results[1]["eval_loss"], rel=1e-5)
  assert os.path.exists(tmp_path / "multi" / "eval_results.json")


def test_the_best_checkpoint_is_the_evaluation_with_the_best_metric(tmp_path):
  trainer = make_trainer(tmp_path, eval_every=10, best_metric="mean/loss")
  trainer.train(40)
  history = json.loads((tmp_path / "eval_results.json").read_text())["history"]
  mean_loss = {h["step"]: np.mean([m["loss"] for m in h["problems"].values()]) for h in history}
  state = json.loads((tmp_path / "best_checkpoint.json").read_text())
  best_step = min(mean_loss, key=mean_loss.get)
  assert state["step"] == best_step and state["value"] == pytest.approx(mean_loss[best_step])
  assert state["checkpoint"] == os.path.join("checkpoints", "best", f"ckpt-{best_step}")
  assert os.path.exists(tmp_path / (state["checkpoint"] + ".index"))
  assert len(glob.glob(str(tmp_path / "checkpoints" / "best" / "*.index"))) == 1
  from t2t_mm.runs import best
  assert best.best_checkpoint(str(tmp_path)) == str(tmp_path / state["checkpoint"])


def test_training_stops_after_patience_evaluations_without_improvement(tmp_path):
  trainer = trainer_lib.Trainer(
      [fake_problems.FakeCopyProblem(), fake_problems.FakeLabelProblem()],
      HP.replace(learning_rate=1e-9), "in_memory", str(tmp_path),
      config=trainer_lib.TrainerConfig(log_every=5, checkpoint_every=50, eval_steps=1,
                                       eval_every=5, best_metric="fake_copy/token_accuracy",
                                       early_stopping_patience=2))
  trainer.train(100)
  # Evaluations at 5 (the first best), 10 and 15 (no better): stopped at 15, not 100.
  assert trainer.step == 15
  state = json.loads((tmp_path / "best_checkpoint.json").read_text())
  assert state["step"] == 5 and state["evals_without_improvement"] == 2
  assert os.path.exists(tmp_path / "checkpoints" / "ckpt-15.index")


@pytest.mark.parametrize("config, message", [
    (dict(best_metric="fake_copy/blue"), "Did you mean: bleu|not a dev metric"),
    (dict(best_metric="fake_cpy/loss"), "fake_copy"),
    (dict(best_metric="loss"), "PROBLEM/METRIC"),
])
def test_a_bad_best_metric_is_an_error_before_training(tmp_path, config, message):
  with pytest.raises(trainer_lib.errors.ConfigError, match=message):
    make_trainer(tmp_path, eval_every=10, **config)
  assert not os.listdir(tmp_path)


def test_early_stopping_needs_a_metric_and_evaluations():
  with pytest.raises(trainer_lib.errors.ConfigError, match="needs best_metric"):
    trainer_lib.TrainerConfig(early_stopping_patience=2)
  with pytest.raises(trainer_lib.errors.ConfigError, match="needs eval_every > 0"):
    trainer_lib.TrainerConfig(best_metric="mean/loss", eval_every=0)


def test_tpu_batches_must_have_static_shapes():
  from t2t_mm.config.data_config import DataConfig
  from t2t_mm.data.spec import ProblemSpec, TargetSpace
  from t2t_mm.training import distribution
  specs = {"text": ProblemSpec("text", "symbol", "symbol", TargetSpace.GENERIC, "s", 9, "s", 9),
           "any_image": ProblemSpec("any_image", "image", "class_label", TargetSpace.TO_LABEL,
                                    "labels", 3),
           "image": ProblemSpec("image", "image", "class_label", TargetSpace.TO_LABEL, "labels",
                                3, image_size=(8, 8))}
  with pytest.raises(errors.ConfigError) as info:
    distribution.check_static_shapes(specs, DataConfig(batch_tokens=256))
  message = str(info.value)
  assert "text (batches padded" in message and "any_image (images of any size" in message
  assert "image (" not in message.replace("any_image (", "")
  with pytest.raises(errors.ConfigError, match="any_image"):
    distribution.check_static_shapes(specs, DataConfig(static_shapes=True))
  distribution.check_static_shapes({"text": specs["text"], "image": specs["image"]},
                                   DataConfig(static_shapes=True))
  # Under TPUs the job checks the trainer's data settings: compiled ones have static shapes.
  compiled = DataConfig.from_hparams(HParams(), compiled=True)
  assert compiled.static_shapes and compiled.length_bucket_step == 2.0
  assert not DataConfig.from_hparams(HParams()).static_shapes


def _multimodel_trainer(output_dir, steps_per_call, **config):
  """A deterministic MultiModel trainer (no dropout, no gating noise) on two problems."""
  from t2t_mm import registry
  hp = registry.hparams("multimodel_tiny").replace(
      hidden_size=16, filter_size=16, num_heads=2, moe_num_experts=4, moe_k=2, batch_size=4,
      dropout=0.0, attention_dropout=0.0, moe_noisy_gating=False, learning_rate=0.01,
      steps_per_call=steps_per_call)
  # No greedy decoding in its evaluations: compiling the cached search costs ~20 s a trainer.
  config = dict(dict(log_every=2, checkpoint_every=3, eval_steps=1, eval_every=0,
                     decode_examples=0), **config)
  return trainer_lib.Trainer([fake_problems.FakeCopyProblem(), fake_problems.FakeLabelProblem()],
                             hp, "in_memory", str(output_dir),
                             config=trainer_lib.TrainerConfig(**config))


def test_steps_per_call_trains_the_same_variables_as_one_step_per_call(tmp_path):
  runs = {}
  for k in (1, 4):
    tf.keras.utils.set_random_seed(0)
    trainer = _multimodel_trainer(tmp_path / f"k{k}", k)
    trainer.train(7)
    assert trainer.step == 7
    runs[k] = {v.path: v.numpy() for v in trainer.model.trainable_variables}
    if k == 4:
      # Calls end at each checkpoint (every 3 steps) and at the last step.
      saved = sorted(os.path.basename(p) for p in glob.glob(str(tmp_path / "k4" / "checkpoints"
                                                                / "ckpt-*.index")))
      assert saved == ["ckpt-3.index", "ckpt-6.index", "ckpt-7.index"], saved
      assert trainer._block.experimental_get_tracing_count() == 1
  assert runs[1].keys() == runs[4].keys()
  for path in runs[1]:
    np.testing.assert_allclose(runs[4][path], runs[1][path], rtol=1e-4, atol=1e-5,
                               err_msg=path)


def test_steps_per_call_needs_one_micro_batch():
  with pytest.raises(errors.ConfigError, match="steps_per_call=4 needs accumulate_steps=1"):
    HParams(steps_per_call=4, accumulate_steps=2)


def test_a_problem_without_a_dev_split_trains_and_is_not_evaluated(clean_registry, tmp_path):
  from t2t_mm.data.files import TextPairs
  raw = tmp_path / "raw"
  raw.mkdir()
  (raw / "train.tsv").write_text("".join(f"{w} {w}\t{w}\n" for w in "abcdefgh" * 4))
  clean_registry.register_problem(type("TrainOnly", (TextPairs,), {
      "folder": str(raw), "files": {"train": "train.tsv"}, "vocab_size": 320}),
      name="train_only_pairs")
  problem = clean_registry.problem("train_only_pairs")
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  assert problem.splits == ("train",)
  trainer = trainer_lib.Trainer(
      [problem], HP.replace(batch_size=4), data, str(tmp_path / "run"),
      config=trainer_lib.TrainerConfig(log_every=2, checkpoint_every=2, eval_steps=2,
                                       eval_every=0))
  results = trainer.train(2)
  assert trainer.step == 2 and results["train_only_pairs"] == {}
  assert (tmp_path / "run" / "checkpoints" / "checkpoint").exists()
