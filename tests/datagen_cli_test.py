"""mm-datagen: suites and globs, progress, resumable after SIGKILL, clear missing-data errors."""

import os
import signal
import subprocess
import sys
import time

TINY = [f"--gin_param=problems.{n}.{k} = {v}"
        for n in ("wmt_ende_mini", "wmt_enfr_mini", "image_scenes_mini", "caption_scenes_mini",
                  "speech_en_mini", "parse_en_mini")
        for k, v in (("num_train_examples", 40), ("num_dev_examples", 10),
                     ("num_test_examples", 4))]


def _tree(d):
  return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}


def test_all8_mini_generates_with_progress(tool, tmp_path, mini_tmp_dir):
  serial = tmp_path / "serial"
  result = tool("mm-datagen", "--problem=all8_mini", f"--data_dir={serial}",
                f"--tmp_dir={mini_tmp_dir}", "--max_cases=30", "--num_workers=1", *TINY)
  assert result.returncode == 0, result.stderr
  for name in ("wmt_ende_mini", "speech_en_mini", "parse_en_mini"):
    assert f"{name}: done" in result.stderr
    assert os.path.isfile(serial / f"{name}-train-00000-of-00001")
  assert "wmt_ende_mini_rev" not in result.stderr  # Shares the shards of wmt_ende_mini.
  assert "44/44" in result.stderr  # Progress over train (capped at 30), dev and test.
  assert "Generated 6 problems" in result.stdout


def test_globs_and_lists(tool, tmp_path, mini_tmp_dir):
  result = tool("mm-datagen", "--problem=wmt_*_mini,parse_en_mini", f"--data_dir={tmp_path}",
                f"--tmp_dir={mini_tmp_dir}", "--noprogress", *TINY,
                "--gin_param=problems.all8_mini_vocab.vocab_size = 1000",
                "--gin_param=problems.parse_en_mini.data_seed = 9")
  assert result.returncode == 0, result.stderr
  made = {f.split("-")[0] for f in os.listdir(tmp_path) if not f.endswith(".lengths.json")}
  assert made == {"wmt_ende_mini", "wmt_enfr_mini", "parse_en_mini",
                  "vocab.all8_mini.subword.1000.model"}
  # Each problem's lengths, saved for the trainer and reported against multimodel_tiny.
  assert {f for f in os.listdir(tmp_path) if f.endswith(".lengths.json")} == {
      f"{n}.lengths.json" for n in ("wmt_ende_mini", "wmt_enfr_mini", "parse_en_mini")}
  report = result.stderr[result.stderr.index("parse_en_mini: lengths"):]
  assert "targets: p50 " in report and "multimodel_tiny max_target_length=" in report
  info = open(tmp_path / "parse_en_mini-train-00000-of-00001.json").read()
  assert '\\"seed\\": 9' in info  # The settings a shard was made with are recorded.


def test_sigkill_then_rerun_equals_uninterrupted_run(tool, tmp_path, mini_tmp_dir):
  args = ["--problem=wmt_ende_mini,image_scenes_mini,parse_en_mini", f"--tmp_dir={mini_tmp_dir}",
          "--noprogress"] + [f"--gin_param=problems.{n}.num_train_examples = 1000"
                             for n in ("wmt_ende_mini", "image_scenes_mini", "parse_en_mini")]
  whole, killed = tmp_path / "whole", tmp_path / "killed"
  # The uninterrupted run writes with 2 processes, the killed one and its rerun with 1: the
  # same bytes either way.
  result = tool("mm-datagen", f"--data_dir={whole}", "--num_workers=2",
                "--parallel_min_examples=1", *args)
  assert result.returncode == 0, result.stderr
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  proc = subprocess.Popen([sys.executable, "-m", "t2t_mm.bin.mm_datagen",
                           f"--data_dir={killed}", "--num_workers=1", *args], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 120
  # Kill once the first shard is complete: mid-run, other shards unfinished.
  while time.time() < deadline and not (
      killed.exists() and any(f.endswith(".json") for f in os.listdir(killed))):
    time.sleep(0.05)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  partial = _tree(killed)
  assert partial != _tree(whole)  # It really was interrupted.
  result = tool("mm-datagen", f"--data_dir={killed}", "--num_workers=1", *args)
  assert result.returncode == 0, result.stderr
  assert _tree(killed) == _tree(whole)


def test_missing_espeak_is_reported_per_problem(tool, tmp_path):
  env_path = os.environ.get("PATH")
  os.environ["PATH"] = str(tmp_path)  # No espeak-ng on PATH.
  try:
    result = tool("mm-datagen", "--problem=speech_en_mini,parse_en_mini",
                  f"--data_dir={tmp_path / 'd'}", f"--tmp_dir={tmp_path / 't'}",
                  "--noprogress", *TINY)
  finally:
    os.environ["PATH"] = env_path
  assert result.returncode != 0
  assert "speech_en_mini" in result.stderr and "apt-get install -y espeak-ng" in result.stderr
  assert "1 of 2 problems failed" in result.stderr and "Traceback" not in result.stderr
  files = os.listdir(tmp_path / "d")
  assert any(f.startswith("parse_en_mini-train") for f in files)
  assert not any(f.startswith("speech_en_mini") for f in files)


def test_a_count_below_one_is_refused_before_anything_is_written(tool, tmp_path):
  for flag in ("--max_cases=-1", "--max_cases=0", "--num_workers=0"):
    result = tool("mm-datagen", "--problem=wmt_ende_mini", f"--data_dir={tmp_path / 'data'}",
                  f"--tmp_dir={tmp_path / 'raw'}", flag)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, (flag, lines)
    assert flag.split("=")[0] in lines[0] and "must be >= 1" in lines[0], lines
    assert not (tmp_path / "data").exists()
