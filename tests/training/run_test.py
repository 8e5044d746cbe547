"""mm-trainer as a user runs it: a failed resume, a bad setting, a held lock or a damaged
checkpoint never changes a file of the run, and a reordered resume continues where it was."""

import glob
import hashlib
import json
import os
import socket
import subprocess

import pytest

from t2t_mm.runs import lock as run_lock


def checksums(folder):
  """{relative path: sha256} of every file under `folder`."""
  out = {}
  for path in glob.glob(os.path.join(folder, "**"), recursive=True):
    if os.path.isfile(path):
      with open(path, "rb") as f:
        out[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
  return out


@pytest.fixture(scope="module")
def run_dir(tool, fake_plugin_dir, tmp_path_factory):
  """A 4-step cli_copy + cli_label run with checkpoints at steps 2 and 4."""
  out = str(tmp_path_factory.mktemp("trust") / "run")
  result = tool("mm-trainer", f"--usr_dir={fake_plugin_dir}", "--data_dir=unused",
                f"--output_dir={out}", "--eval_steps=1", "--problems=cli_copy,cli_label",
                "--hparams_set=cli_fake", "--train_steps=4",
                "--gin_param=trainer.TrainerConfig.checkpoint_every = 2")
  assert result.returncode == 0, result.stderr[-2000:]
  return out


def trainer(tool, plugin, out, *args):
  return tool("mm-trainer", f"--usr_dir={plugin}", "--data_dir=unused", f"--output_dir={out}",
              "--eval_steps=1", *args)


def error_lines(result):
  return [line for line in result.stderr.splitlines() if ": error: " in line]


@pytest.mark.parametrize("args, message", [
    (["--hparams=hidden_size=32", "--train_steps=8"],
     "hparam hidden_size: saved 16, requested 32"),
    (["--problems=cli_copy", "--train_steps=8"],
     "problems: saved ['cli_copy', 'cli_label'], requested ['cli_copy']"),
    (["--hparams=hidden_size=32,batch_size=4", "--train_steps=8"],
     "hparam batch_size: saved 8, requested 4"),
])
def test_a_resume_that_differs_fails_and_changes_nothing(tool, fake_plugin_dir, run_dir, args,
                                                         message):
  before = checksums(run_dir)
  result = trainer(tool, fake_plugin_dir, run_dir, *args)
  assert result.returncode == 2, result.stderr[-2000:]
  assert message in result.stderr and "nothing in it was changed" in result.stderr
  assert checksums(run_dir) == before


@pytest.mark.parametrize("args, message", [
    (["--gin_param=trainer.TrainerConfig.checkpoint_every = 0"],
     "trainer setting 'checkpoint_every' must be >= 1, got 0"),
    (["--gin_param=trainer.TrainerConfig.log_every = 'abc'"], "'log_every' expects int, got 'abc'"),
    (["--hparams=hidden_size=-8"], "hparam 'hidden_size' must be >= 1, got -8"),
    (["--hparams=model=multimodel,hidden_size=30,num_heads=7"],
     "'hidden_size' (30) must be divisible by 'num_heads' (7)"),
    (["--hparams=hidden_size=64,,moe_k=2"], "Empty item in 'hidden_size=64,,moe_k=2'"),
    (["--eval_steps=0"], "'eval_steps' must be >= 1, got 0"),
])
def test_a_bad_setting_is_one_error_before_any_work(tool, fake_plugin_dir, tmp_path, args,
                                                    message):
  out = tmp_path / "fresh_run"
  result = trainer(tool, fake_plugin_dir, out, "--problems=cli_copy", "--hparams_set=cli_fake",
                   "--train_steps=2", *args)
  assert result.returncode == 2, result.stderr[-2000:]
  assert len(error_lines(result)) == 1 and message in error_lines(result)[0], result.stderr
  assert not out.exists()  # Nothing was made: the check came before any work.


def test_an_output_dir_that_cannot_be_written_is_an_error_before_any_work(tool, fake_plugin_dir,
                                                                          tmp_path):
  (tmp_path / "a_file").write_text("x")
  result = trainer(tool, fake_plugin_dir, tmp_path / "a_file" / "run", "--problems=cli_copy",
                   "--hparams_set=cli_fake", "--train_steps=2")
  assert result.returncode == 2 and "is a file, not a folder" in result.stderr, result.stderr


def test_a_second_trainer_on_a_locked_run_fails_naming_the_holder(tool, fake_plugin_dir,
                                                                   run_dir):
  holder = subprocess.Popen(["sleep", "60"])
  try:
    lock = os.path.join(run_dir, run_lock.LOCK_FILE)
    with open(lock, "w", encoding="utf-8") as f:
      json.dump({"pid": holder.pid, "host": socket.gethostname(),
                 "start_time": run_lock._start_time(holder.pid)}, f)
    before = checksums(run_dir)
    result = trainer(tool, fake_plugin_dir, run_dir, "--train_steps=8")
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"in use by another trainer (pid {holder.pid}" in result.stderr
    assert checksums(run_dir) == before
  finally:
    holder.kill()
    holder.wait()
    os.remove(lock)


def test_run_lock_takes_over_a_dead_holder_with_a_warning_and_refuses_another_host(tmp_path):
  dead = subprocess.Popen(["true"])
  dead.wait()
  lock_path = tmp_path / run_lock.LOCK_FILE
  lock_path.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
  warnings = []
  with run_lock.RunLock(str(tmp_path), warn=warnings.append):
    assert json.loads(lock_path.read_text())["pid"] == os.getpid()
    assert len(warnings) == 1 and f"pid {dead.pid}" in warnings[0]
    with pytest.raises(Exception, match="in use by another trainer"):
      run_lock.RunLock(str(tmp_path)).acquire()  # Ourselves, alive: refused.
  assert not lock_path.exists()  # Released on exit.
  lock_path.write_text(json.dumps({"pid": 1, "host": "elsewhere-host"}))
  with pytest.raises(Exception, match="another host.*elsewhere-host"):
    run_lock.RunLock(str(tmp_path)).acquire()
  assert json.loads(lock_path.read_text())["host"] == "elsewhere-host"


def test_resume_with_reordered_problems_and_a_damaged_latest_checkpoint(tool, fake_plugin_dir,
                                                                        run_dir, tmp_path):
  out = tmp_path / "copy"
  subprocess.run(["cp", "-a", run_dir, str(out)], check=True)
  data = glob.glob(str(out / "checkpoints" / "ckpt-4.data-*"))[0]
  with open(data, "r+b") as f:
    f.truncate(os.path.getsize(data) // 2)
  (out / "checkpoints" / "ckpt-6_temp").mkdir()  # What a kill during a save leaves.
  result = trainer(tool, fake_plugin_dir, out, "--problems=cli_label,cli_copy",
                   "--train_steps=6")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "ckpt-4 cannot be read" in result.stderr and "damaged" in result.stderr
  assert "from step 2 to 6" in result.stdout
  assert not (out / "checkpoints" / "ckpt-6_temp").exists()
  assert (out / "checkpoints" / "ckpt-6.index").exists()
  assert not (out / run_lock.LOCK_FILE).exists()


def test_a_resume_needs_only_output_dir_and_train_steps_and_a_reached_step_is_no_work(
    tool, run_dir, tmp_path):
  out = tmp_path / "copy"
  subprocess.run(["cp", "-a", run_dir, str(out)], check=True)
  before = checksums(str(out))
  for steps in ("4", "3"):  # At or below the run's step: nothing to do, nothing touched.
    result = tool("mm-trainer", f"--output_dir={out}", f"--train_steps={steps}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "is at step 4" in result.stderr and "nothing to do" in result.stderr
    assert checksums(str(out)) == before
  # The README's resume line: the run's plugin, hparams, problems and data_dir come from it.
  result = tool("mm-trainer", f"--output_dir={out}", "--train_steps=5", "--eval_steps=1")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "from step 4 to 5" in result.stdout


@pytest.mark.parametrize("name, content, message", [
    ("eval_results.json", "{garbage", "eval_results.json is unreadable"),
    ("eval_results.json", '{"history": [{"step": "x"}]}', "eval_results.json: expected"),
    ("problems.json", "[1, 2", "problems.json is unreadable"),
    ("problems.json", '{"problems": 3}', "problems.json: expected"),
])
def test_a_damaged_run_file_is_one_line_before_any_work(tool, fake_plugin_dir, run_dir,
                                                        tmp_path, name, content, message):
  out = tmp_path / "copy"
  subprocess.run(["cp", "-a", run_dir, str(out)], check=True)
  (out / name).write_text(content)
  before = checksums(str(out))
  result = trainer(tool, fake_plugin_dir, out, "--train_steps=8")
  assert result.returncode == 2, result.stderr[-2000:]
  assert len(error_lines(result)) == 1 and message in error_lines(result)[0], result.stderr
  assert checksums(str(out)) == before


@pytest.mark.parametrize("tool_args", [
    ["mm-decoder", "--decode_from_file={input}", "--decode_to_file={run}/hparams.json"],
    ["mm-decoder", "--score_file={input}", "--decode_to_file={run}/problems.json"],
    ["mm-decoder", "--decode_from_file={input}", "--decode_to_file={input}"],
    ["mm-decoder", "--decode_from_file={input}", "--decode_to_file={run}/checkpoints/x.txt"],
    ["mm-export", "--export_dir={run}/hparams.json"],
    ["mm-export", "--export_dir={run}"],
    ["mm-export", "--export_dir={input}"],
    ["mm-avg-checkpoints", "--to={run}/checkpoints"],
])
def test_an_output_path_over_the_runs_files_or_an_input_is_refused_first(tool, run_dir,
                                                                         tmp_path, tool_args):
  (tmp_path / "in.txt").write_text("3 4 5\tx\n")
  before, input_before = checksums(run_dir), (tmp_path / "in.txt").read_text()
  name, *args = [a.format(run=run_dir, input=tmp_path / "in.txt") for a in tool_args]
  result = tool(name, f"--output_dir={run_dir}", *args)
  assert result.returncode == 2, result.stderr[-2000:]
  lines = error_lines(result)
  assert len(lines) == 1 and ("would overwrite" in lines[0] or "is the run folder" in lines[0]
                              or "the input it reads" in lines[0] or "is a file" in lines[0]), lines
  assert checksums(run_dir) == before
  assert (tmp_path / "in.txt").read_text() == input_before


def test_adafactor_trains_and_resumes_with_factored_slots(tool, fake_plugin_dir, tmp_path):
  out = tmp_path / "adafactor"
  args = ("--problems=cli_copy,cli_label", "--hparams_set=cli_fake",
          "--hparams=optimizer=adafactor,learning_rate=0.01")
  result = trainer(tool, fake_plugin_dir, out, *args, "--train_steps=2")
  assert result.returncode == 0, result.stderr[-2000:]
  result = trainer(tool, fake_plugin_dir, out, *args, "--train_steps=4")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "from step 2 to 4" in result.stdout
  import tensorflow as tf
  reader = tf.train.load_checkpoint(str(out / "checkpoints" / "ckpt-4"))
  shapes = reader.get_variable_to_shape_map()
  slots = [k for k in shapes if k.startswith("optimizer_by_name/") and "VARIABLE_VALUE" in k]
  # Matrices keep a row and a column vector (_r, _c), vectors their own v: nothing of rank 2.
  assert any(k.endswith("kernel_r/.ATTRIBUTES/VARIABLE_VALUE") for k in slots), slots
  assert slots and all(len(shapes[k]) <= 1 for k in slots), {
      k: shapes[k] for k in slots if len(shapes[k]) > 1}


@pytest.fixture
def small_disk(tmp_path):
  """A tmpfs folder whose size the test sets (root only: CI and the sessions run as root)."""
  mount = tmp_path / "disk"
  mount.mkdir()

  def make(size_kib):
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount)],
                   check=True)
    return mount

  yield make
  subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_during_a_checkpoint_is_one_line_and_keeps_the_run(tool, fake_plugin_dir,
                                                                       run_dir, small_disk):
  used = sum(os.path.getsize(p) for p in glob.glob(os.path.join(run_dir, "**"), recursive=True)
             if os.path.isfile(p))
  disk = small_disk(used // 1024 + 64)  # Room for the run, not for one more checkpoint.
  out = disk / "run"
  subprocess.run(["cp", "-a", run_dir, str(out)], check=True)
  checkpoints_before = {k: v for k, v in checksums(str(out)).items()
                        if k.startswith("checkpoints")}
  result = trainer(tool, fake_plugin_dir, out, "--train_steps=6",
                   "--gin_param=trainer.TrainerConfig.checkpoint_every = 2")
  assert result.returncode == 2, result.stderr[-2000:]
  lines = error_lines(result)
  assert len(lines) == 1 and "Could not write" in lines[0] and "ckpt-6" in lines[0], lines
  assert "Free space" in lines[0] and "ckpt-4" in lines[0], lines
  after = {k: v for k, v in checksums(str(out)).items() if k.startswith("checkpoints")}
  assert after == checkpoints_before
  assert not (out / run_lock.LOCK_FILE).exists()


@pytest.mark.parametrize("args, message", [
    (["--decode_hparams=batch_size=-1"], "decode hparam 'batch_size' must be >= 1, got -1"),
    (["--decode_hparams=max_image_bytes=5"],
     "'max_image_bytes' is an input limit, not a decode hparam: give it with --input_limits"),
    (["--input_limits=max_image_bytes=0"], "input limit 'max_image_bytes' must be >= 1, got 0"),
    (["--decode_to_file={folder}"], "is a folder; give a file path"),
    (["--decode_from_file={folder}/missing.txt"], "is not a readable file"),
])
def test_decoder_settings_are_checked_before_the_model_loads(tool, fake_plugin_dir, run_dir,
                                                             tmp_path, args, message):
  (tmp_path / "in.txt").write_text("a b c\n")
  args = [a.format(folder=tmp_path) for a in args]
  before = checksums(run_dir)
  result = tool("mm-decoder", f"--usr_dir={fake_plugin_dir}", f"--output_dir={run_dir}",
                f"--decode_from_file={tmp_path / 'in.txt'}", *args)
  assert result.returncode == 2, result.stderr[-2000:]
  assert message in result.stderr
  assert "Restor" not in result.stderr  # No checkpoint was touched.
  assert checksums(run_dir) == before


def test_decoder_skips_a_damaged_latest_checkpoint_with_a_warning(run_dir, tmp_path,
                                                                  fake_plugin_dir, clean_registry):
  from t2t_mm import plugins
  from t2t_mm.decoding import loading
  plugins.import_usr_dir(fake_plugin_dir)
  out = tmp_path / "copy"
  subprocess.run(["cp", "-a", run_dir, str(out)], check=True)
  os.remove(out / "checkpoints" / "ckpt-4.index")
  run = loading.load_for_decoding(str(out))
  assert run.checkpoint == str(out / "checkpoints" / "ckpt-2")
