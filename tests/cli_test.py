"""The mm-* tools: registry help, unknown flags, unknown names and bad overrides exit non-zero."""

import json
import os
import shutil
import subprocess
import sys

import pytest


def test_registry_help_lists_registered_items(tool, plugin_dir):
  result = tool("mm-trainer", "--registry_help", f"--usr_dir={plugin_dir}")
  assert result.returncode == 0, result.stderr
  out = result.stdout
  assert out.index("Problems:") < out.index("plugin_ende_words") < out.index("Hparams:")
  assert "multimodel_tiny" in out and "plugin_tiny" in out


def test_hparams_help_lists_fields(tool):
  result = tool("mm-trainer", "--hparams_help")
  assert result.returncode == 0, result.stderr
  assert "moe_encoder_layers (list[int]" in result.stdout


def test_hparams_help_shows_the_values_of_the_chosen_set(tool):
  result = tool("mm-trainer", "--hparams_help", "--hparams_set=multimodel_tiny")
  assert result.returncode == 0, result.stderr
  assert "hidden_size (int, multimodel_tiny 96, default 512)" in result.stdout, result.stdout
  assert "moe_encoder_layers (list[int], multimodel_tiny [1]," in result.stdout
  result = tool("mm-trainer", "--hparams_help", "--hparams_set=no_such_set")
  assert result.returncode == 2 and "no_such_set" in result.stderr, result.stderr


@pytest.mark.parametrize("name, own_flag", [
    ("mm-datagen", "--problem"), ("mm-trainer", "--train_steps"),
    ("mm-decoder", "--decode_hparams"),
    ("mm-export", "--export_dir"), ("mm-experiment", "--output_root"),
    ("mm-eval", "--average_last"), ("mm-avg-checkpoints", "--num_last"),
    ("mm-serve", "--queue_size")])
def test_help_lists_the_tools_own_and_shared_flags_and_exits_0(name, own_flag):
  # As a user runs it: the installed console script (its __main__ is pip's wrapper).
  script = os.path.join(os.path.dirname(sys.executable), name)
  result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120,
                          check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert f"  {own_flag}:" in result.stdout and "  --usr_dir:" in result.stdout, result.stdout
  assert name in result.stdout.splitlines()[0]  # The tool's docstring comes first.


def test_a_flag_error_is_one_line_and_exit_code_2(tool):
  for name, args, expected in [
      ("mm-trainer", ["--no_such_flag=1"], "no_such_flag"),
      ("mm-datagen", ["--no_such_flag=1"], "no_such_flag"),
      ("mm-eval", ["--split=nope"], "--split=nope"),
      ("mm-decoder", ["--threads=many"], "--threads=many"),
      ("mm-export", ["--output_dir=x", "stray"], "unexpected arguments ['stray']")]:
    result = tool(name, *args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (name, result.stderr[-2000:])
    assert len(lines) == 1 and expected in lines[0], (name, lines)


def test_flag_of_another_tool_is_unknown(tool):
  result = tool("mm-decoder", "--train_steps=3", "--output_dir=/tmp")
  assert result.returncode != 0 and "train_steps" in result.stderr


def test_unknown_problem_suggests_close_names(tool, plugin_dir):
  result = tool("mm-trainer", f"--usr_dir={plugin_dir}", "--problems=plugin_ende_word",
                "--hparams_set=multimodel_tiny")
  assert result.returncode != 0
  assert "Unknown problem 'plugin_ende_word'" in result.stderr
  assert "plugin_ende_words" in result.stderr
  result = tool("mm-datagen", f"--usr_dir={plugin_dir}", "--problem=plugin_ende_word")
  assert result.returncode != 0 and "plugin_ende_words" in result.stderr


def test_bad_override_names_key_and_type(tool, plugin_dir):
  args = (f"--usr_dir={plugin_dir}", "--problems=plugin_ende_words",
          "--hparams_set=multimodel_tiny")
  result = tool("mm-trainer", *args, "--hparams=hiden_size=3")
  assert result.returncode != 0 and "hidden_size" in result.stderr
  result = tool("mm-trainer", *args, "--hparams=hidden_size=big")
  assert result.returncode != 0 and "'hidden_size' expects int" in result.stderr
  assert "Traceback" not in result.stderr


def test_unknown_hparams_set_suggests(tool, plugin_dir):
  result = tool("mm-trainer", f"--usr_dir={plugin_dir}", "--problems=plugin_ende_words",
                "--hparams_set=multimodel_tin")
  assert result.returncode != 0 and "multimodel_tiny" in result.stderr


def test_decoder_needs_output_dir_with_hparams(tool, tmp_path):
  result = tool("mm-decoder", f"--output_dir={tmp_path}", "--decode_interactive")
  assert result.returncode != 0 and "hparams.json" in result.stderr


def test_decoder_refuses_negative_threads_before_loading(tool, tmp_path):
  result = tool("mm-decoder", f"--output_dir={tmp_path}", "--decode_interactive", "--threads=-1")
  assert result.returncode == 2 and "--threads must be >= 0" in result.stderr, result.stderr


def test_trainer_trains_resumes_and_needs_no_flags_again(tool, tmp_path, fake_plugin_dir):
  pkg = fake_plugin_dir
  out = tmp_path / "run"
  common = (f"--usr_dir={pkg}", "--data_dir=unused", f"--output_dir={out}", "--eval_steps=1")
  result = tool("mm-trainer", *common, "--problems=cli_copy,cli_label", "--hparams_set=cli_fake",
                "--hparams=learning_rate=0.01", "--train_steps=12",
                "--gin_param=trainer.TrainerConfig.checkpoint_every = 4")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "| cli_label |" in result.stdout and "| cli_copy |" in result.stdout
  saved = json.loads((out / "hparams.json").read_text())
  assert saved["hparams_set"] == "cli_fake" and saved["hparams"]["learning_rate"] == 0.01
  assert "checkpoint_every = 4" in (out / "config.gin").read_text()
  # Rerun with neither --problems nor --hparams_set: everything comes from output_dir.
  result = tool("mm-trainer", *common, "--train_steps=16")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "from step 12 to 16" in result.stdout
  assert (out / "checkpoints" / "ckpt-16.index").exists()


def test_trainer_warm_starts_from_a_run_and_refuses_a_source_without_checkpoints(
    tool, tmp_path, fake_plugin_dir):
  common = (f"--usr_dir={fake_plugin_dir}", "--data_dir=unused", "--eval_steps=1",
            "--hparams_set=cli_fake", "--train_steps=4")
  source = tmp_path / "source"
  result = tool("mm-trainer", *common, f"--output_dir={source}", "--problems=cli_copy")
  assert result.returncode == 0, result.stderr[-2000:]
  missing = tool("mm-trainer", *common, f"--output_dir={tmp_path / 'bad'}",
                 "--problems=cli_label", f"--warm_start_from={tmp_path / 'nowhere'}")
  assert missing.returncode == 2 and "--warm_start_from=" in missing.stderr, missing.stderr
  assert not (tmp_path / "bad").exists()  # Refused before anything was written.
  tuned = tmp_path / "tuned"
  result = tool("mm-trainer", *common, f"--output_dir={tuned}", "--problems=cli_copy,cli_label",
                f"--warm_start_from={source}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "Warm start from" in result.stdout and "ckpt-4" in result.stdout
  report = json.loads((tuned / "warm_start.json").read_text())
  assert report["restored"] and any("label" in name for name in report["fresh"])


def test_tools_run_tensorflow_with_the_bfc_cpu_allocator():
  # Only the BFC allocator keeps stats; TensorFlow's default CPU allocator raises here.
  code = ("import t2t_mm.bin.mm_trainer\n"
          "import tensorflow as tf\n"
          "tf.reduce_sum(tf.ones((256, 256)))\n"
          "print(tf.config.experimental.get_memory_info('CPU:0')['peak'])\n")
  env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(env, TF_CPP_MIN_LOG_LEVEL="2"), timeout=300, check=False)
  assert result.returncode == 0, result.stderr
  assert int(result.stdout.split()[-1]) >= 256 * 256 * 4


def test_a_runtime_setting_the_user_made_wins_over_the_tools_default():
  code = ("import os\n"
          "os.environ['TF_CPU_ALLOCATOR_USE_BFC'] = 'false'\n"
          "import t2t_mm.bin\n"
          "print(os.environ['TF_CPU_ALLOCATOR_USE_BFC'])\n")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
  assert result.returncode == 0, result.stderr
  assert result.stdout.split() == ["false"]


def test_a_run_remembers_its_plugin_folder_for_the_decoder(tool, tmp_path, fake_plugin_dir):
  pkg = tmp_path / "my_plugins" / "fake_cli_plugin"
  shutil.copytree(fake_plugin_dir, pkg)
  out = tmp_path / "run"
  result = tool("mm-trainer", f"--usr_dir={pkg}", "--data_dir=unused", f"--output_dir={out}",
                "--eval_steps=1", "--problems=cli_copy", "--hparams_set=multimodel_tiny",
                "--hparams=hidden_size=16,filter_size=16,num_heads=2,moe_num_experts=4",
                "--train_steps=2")
  assert result.returncode == 0, result.stderr[-2000:]
  assert json.loads((out / "problems.json").read_text())["plugins"]["usr_dirs"] == [str(pkg)]
  (tmp_path / "in.txt").write_text("3 4 5\n")
  decode = ("mm-decoder", f"--output_dir={out}", f"--decode_from_file={tmp_path / 'in.txt'}",
            "--decode_hparams=max_decode_length=4")
  result = tool(*decode)  # No --usr_dir: the run folder says where its problems come from.
  assert result.returncode == 0, result.stderr[-2000:]
  assert "Decoded 1 lines" in result.stderr and f"plugin {pkg}" in result.stderr
  before = sorted(p.name for p in out.iterdir())
  shutil.move(str(pkg), str(tmp_path / "elsewhere"))
  result = tool(*decode)
  assert result.returncode == 2, result.stderr[-2000:]
  assert f"--usr_dir={pkg}" in result.stderr and "Pass --usr_dir=FOLDER" in result.stderr
  assert sorted(p.name for p in out.iterdir()) == before
  # The moved plugin, named by the flag, decodes again.
  result = tool(*decode, f"--usr_dir={tmp_path / 'elsewhere'}")
  assert result.returncode == 0, result.stderr[-2000:]


def test_a_plugin_folder_inside_the_run_folder_is_never_imported(tool, tmp_path,
                                                                fake_plugin_dir):
  out = tmp_path / "run"
  pkg = out / "fake_cli_plugin"
  shutil.copytree(fake_plugin_dir, pkg)
  marker = tmp_path / "imported"
  (pkg / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
  (out / "problems.json").write_text(json.dumps(
      {"data_dir": str(tmp_path), "problems": [], "plugins": {"usr_dirs": [str(pkg)],
                                                              "entry_points": []}}))
  result = tool("mm-decoder", f"--output_dir={out}", "--decode_interactive")
  assert result.returncode == 2 and "inside the run folder" in result.stderr, result.stderr
  assert not marker.exists()


def _run_naming_plugins(out, tmp_path, usr_dirs):
  out.mkdir(parents=True, exist_ok=True)
  (out / "problems.json").write_text(json.dumps(
      {"data_dir": str(tmp_path), "problems": [], "plugins": {"usr_dirs": usr_dirs,
                                                              "entry_points": []}}))


def _marking_package(folder, marker):
  folder.mkdir(parents=True)
  (folder / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
  return folder


def test_a_run_folder_imports_no_plugin_this_user_has_not_trusted(tool, tmp_path):
  # A stranger's run names folders outside it: absolute, relative, and through symlinks.
  marker = tmp_path / "imported"
  outside = _marking_package(tmp_path / "elsewhere" / "evil_plugin", marker)
  (outside.parent / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
  out = tmp_path / "run"
  out.mkdir()
  (out / "sym").symlink_to(outside)
  (out / "link").symlink_to(outside)
  (out / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
  (out / "sentencepiece.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
  env = {"T2T_MM_TRUST_FILE": str(tmp_path / "fresh" / "trusted.json")}
  for usr_dir, expected in [(str(outside), "you have not trusted"),
                            ("../elsewhere/evil_plugin", "relative path"),
                            (str(out / "sym" / ".."), "you have not trusted"),
                            (str(out / "link"), "you have not trusted")]:
    _run_naming_plugins(out, tmp_path, [usr_dir])
    result = tool("mm-decoder", f"--output_dir={out}", "--decode_interactive", env=env,
                  cwd=str(tmp_path / "elsewhere"))
    assert result.returncode == 2, (usr_dir, result.stderr[-2000:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0] and "--usr_dir=" in lines[0], lines
    assert not marker.exists(), usr_dir


def test_a_trusted_plugin_is_imported_from_its_real_folder_until_it_changes(tool, tmp_path):
  marker, shadow = tmp_path / "imported", tmp_path / "shadowed"
  pkg = _marking_package(tmp_path / "mine" / "trusted_plugin", marker)
  out = tmp_path / "run"
  out.mkdir()
  (out / "link").symlink_to(pkg)
  # Were the run folder put on sys.path, this would shadow the real module.
  (out / "sentencepiece.py").write_text(f"open({str(shadow)!r}, 'w').close()\n")
  _run_naming_plugins(out, tmp_path, [str(out / "link")])
  env = {"T2T_MM_TRUST_FILE": str(tmp_path / "fresh" / "trusted.json")}
  args = ("mm-decoder", f"--output_dir={out}", "--decode_interactive")
  consent = tool("mm-trainer", f"--usr_dir={pkg}", "--registry_help", env=env)
  assert consent.returncode == 0, consent.stderr[-2000:]
  marker.unlink()
  result = tool(*args, env=env)
  assert marker.exists() and not shadow.exists(), result.stderr[-2000:]
  assert "Loaded the run's plugin" in result.stderr
  marker.unlink()
  (pkg / "extra.py").write_text("X = 1\n")
  result = tool(*args, env=env)
  assert result.returncode == 2 and "changed since you trusted it" in result.stderr
  assert not marker.exists()


def test_an_unknown_problem_says_where_problems_come_from(tool):
  result = tool("mm-datagen", "--problem=my_own_corpus", "--data_dir=unused")
  assert result.returncode == 2
  assert "--usr_dir" in result.stderr and "t2t_mm.plugins" in result.stderr


LONG_PAIRS_PLUGIN = """
from t2t_mm import registry
from t2t_mm.data import files

@registry.register_problem
class LongPairs(files.TextPairs):
  folder, vocab_size = {folder!r}, 320
  files = {{"train": "train.tsv", "dev": "train.tsv"}}
"""


def test_datagen_reports_and_the_trainer_warns_of_examples_the_limits_cut(tool, tmp_path):
  raw = tmp_path / "raw"
  raw.mkdir()
  (raw / "train.tsv").write_text("short one\tkurz\n" * 6 + ("many words " * 20 + "\tlang\n") * 2)
  pkg = tmp_path / "long_pairs_plugin"
  pkg.mkdir()
  (pkg / "__init__.py").write_text(LONG_PAIRS_PLUGIN.format(folder=str(raw)))
  data, out = tmp_path / "data", tmp_path / "run"
  result = tool("mm-datagen", f"--usr_dir={pkg}", "--problem=long_pairs", f"--data_dir={data}",
                "--noprogress", "--hparams=max_input_length=16")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "multimodel_tiny max_input_length=16 cuts 2 (25.0%)" in result.stderr, result.stderr
  result = tool("mm-trainer", f"--usr_dir={pkg}", "--problems=long_pairs", f"--data_dir={data}",
                f"--output_dir={out}", "--hparams_set=multimodel_tiny", "--train_steps=1",
                "--hparams=hidden_size=16,filter_size=16,moe_num_experts=4,max_input_length=16",
                "--eval_steps=1")
  assert result.returncode == 0, result.stderr[-2000:]
  warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
  assert warnings == [
      "Warning: Problem 'long_pairs': 25.0% of its train inputs are longer than "
      f"max_input_length=16 (the longest: {warnings[0].split('longest: ')[1]}"], warnings


@pytest.mark.parametrize("args, expected", [
    (["--distribution=tpu"], "--distribution=tpu needs a TPU"),
    (["--tpu=local"], "--tpu=local: this machine has no TPU device"),
    (["--tpu=grpc://127.0.0.1:9"], "no TPU answers at grpc://127.0.0.1:9"),
    (["--tpu=local", "--distribution=mirrored"], "drop --distribution=mirrored"),
])
def test_tpu_training_without_a_tpu_is_one_line_and_exit_code_2(tool, tmp_path, fake_plugin_dir,
                                                               args, expected):
  result = tool("mm-trainer", f"--usr_dir={fake_plugin_dir}", "--problems=cli_copy",
                "--hparams_set=cli_fake", "--data_dir=unused", f"--output_dir={tmp_path / 'r'}",
                "--train_steps=2", *args, timeout=120)
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert result.returncode == 2 and len(lines) == 1 and expected in lines[0], lines
  assert not (tmp_path / "r").exists()
