"""Training threads: the measured rule, and that a training job sets TensorFlow's pools."""

import subprocess
import sys

import pytest

from t2t_mm import errors
from t2t_mm.training import threads


def test_one_thread_per_op_and_every_core_across_ops_without_a_gpu():
  assert threads.train_threads(cores=8, gpu=False) == (1, 8)
  assert threads.train_threads(cores=2, gpu=False) == (1, 2)
  assert threads.train_threads(cores=8, gpu=True) == (0, 0)  # TensorFlow's defaults.
  assert threads.train_threads(intra=4, cores=8, gpu=False) == (4, 8)
  assert threads.train_threads(inter=3, cores=8, gpu=True) == (0, 3)
  with pytest.raises(errors.ConfigError, match="intra_op_threads and inter_op_threads"):
    threads.train_threads(intra=-1)


def _run(code: str) -> str:
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
  assert out.returncode == 0, out.stderr[-3000:]
  return out.stdout


POOLS = ("print(tf.config.threading.get_intra_op_parallelism_threads(), "
         "tf.config.threading.get_inter_op_parallelism_threads())")


def test_configure_sets_the_pools_before_the_runtime_starts_and_refuses_requests_after():
  out = _run("from t2t_mm.training import threads; threads.configure(1, 2); "
             f"import tensorflow as tf; tf.constant(1) + 1; {POOLS}")
  assert out.split()[-2:] == ["1", "2"]
  # Started: chosen pools stay as they are; a requested change is an error naming the flags.
  out = _run("import tensorflow as tf; tf.constant(1) + 1\n"
             "from t2t_mm import errors\nfrom t2t_mm.training import threads\n"
             "threads.configure(1, 2)\n"
             "try:\n  threads.configure(3, 3, requested=True)\n"
             "except errors.ConfigError as e:\n  print('refused', 'intra_op_threads=3' in str(e))\n"
             f"{POOLS}")
  assert out.split()[-4:] == ["refused", "True", "0", "0"]


@pytest.mark.slow  # A training job in a fresh process.
def test_a_training_job_runs_with_the_chosen_pools(tmp_path):
  # The job sets the pools before its strategy, so they hold when the trainer's steps run.
  code = (
      "import tensorflow as tf\n"
      "from t2t_mm.testing import fake_problems\n"
      "from t2t_mm.training import job, trainer\n"
      "seen = []\n"
      "run_steps = trainer.Trainer.run_steps\n"
      "def spy(self, step, n):\n"
      "  seen.append((tf.config.threading.get_intra_op_parallelism_threads(),\n"
      "               tf.config.threading.get_inter_op_parallelism_threads()))\n"
      "  return run_steps(self, step, n)\n"
      "trainer.Trainer.run_steps = spy\n"
      "job.registry.expand_problem_names = lambda names: ['fake_copy']\n"
      "job.registry.problem = lambda name: fake_problems.FakeCopyProblem()\n"
      f"job.train_run(job.TrainOptions(problems='fake_copy', hparams_set='multimodel_tiny', "
      f"data_dir='in_memory', output_dir={str(tmp_path / 'run')!r}, train_steps=2, "
      "hparams='hidden_size=16,filter_size=32,batch_size=4', inter_op_threads=2, "
      "trainer={'eval_every': 0, 'decode_examples': 0}))\n"
      "print(sorted(set(seen)))")
  assert _run(code).strip().splitlines()[-1] == "[(1, 2)]"


def test_a_bad_thread_count_fails_the_job_before_its_folder_is_touched(tmp_path):
  from t2t_mm.training import job
  with pytest.raises(errors.ConfigError, match="intra_op_threads"):
    job.train_run(job.TrainOptions(problems="wmt_ende_mini", hparams_set="multimodel_tiny",
                                   data_dir=str(tmp_path / "data"),
                                   output_dir=str(tmp_path / "run"), train_steps=1,
                                   intra_op_threads=-1))
  assert not (tmp_path / "run").exists()
