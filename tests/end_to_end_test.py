"""The three tools on the real all8_mini problems and the real MultiModel, at toy size."""

import json

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import registry

PROBLEM_CLASSES = ("wmt_ende_mini", "wmt_enfr_mini", "image_scenes_mini", "caption_scenes_mini",
                   "speech_en_mini", "parse_en_mini")
TINY = ("hidden_size=16,filter_size=16,num_heads=2,moe_num_experts=4,batch_size=4,"
        "max_input_length=48,max_target_length=24")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mini_tmp_dir, tool):
  root = tmp_path_factory.mktemp("e2e")
  gin_file = root / "sizes.gin"
  gin_file.write_text("".join(
      f"problems.{p}.num_train_examples = 40\nproblems.{p}.num_dev_examples = 8\n"
      f"problems.{p}.num_test_examples = 4\n" for p in PROBLEM_CLASSES))
  data, out = root / "data", root / "run"
  result = tool("mm-datagen", "--problem=all8_mini", f"--data_dir={data}",
                    f"--tmp_dir={mini_tmp_dir}", f"--gin_file={gin_file}")
  assert result.returncode == 0, result.stderr[-3000:]
  result = tool("mm-trainer", "--problems=all8_mini", "--hparams_set=multimodel_tiny",
                    f"--hparams={TINY}", f"--data_dir={data}", f"--output_dir={out}",
                    "--train_steps=16", "--eval_steps=1", f"--gin_file={gin_file}",
                    "--gin_param=trainer.TrainerConfig.decode_examples = 4")
  assert result.returncode == 0, result.stderr[-3000:]
  return root, result


def test_trainer_reports_every_problem(trained):
  root, result = trained
  names = registry.expand_problem_names("all8_mini")
  for name in names:
    assert f"| {name} |" in result.stdout
  saved = json.loads((root / "run" / "eval_results.json").read_text())
  assert saved["step"] == 16 and sorted(saved["problems"]) == sorted(names)
  assert "bleu" in saved["problems"]["wmt_ende_mini"]
  assert "cer" in saved["problems"]["speech_en_mini"]
  assert "top5" in saved["problems"]["image_scenes_mini"]


def test_decoder_reads_a_file_and_survives_bad_interactive_lines(trained, tool):
  root, _ = trained
  src, dst = root / "in.txt", root / "out.txt"
  src.write_text("The cat reads a book .\nA dog sings .\nThe big teacher runs on a tree .\n")
  result = tool("mm-decoder", f"--output_dir={root / 'run'}", "--problem=wmt_ende_mini",
                f"--decode_from_file={src}", f"--decode_to_file={dst}")
  assert result.returncode == 0, result.stderr[-3000:]
  assert len(dst.read_text().splitlines()) == 3
  image = root / "scene.png"
  image.write_bytes(tf.io.encode_png(
      np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).numpy())
  lines = ["problem=image_scenes_mini", f"image={image}", "image=/no/such/file.png",
           "problem=speech_en_mini", f"audio={image}", "", "problem=wmt_enfr_mini",
           "The cat reads a book ."]
  result = tool("mm-decoder", f"--output_dir={root / 'run'}", "--decode_interactive",
                stdin="\n".join(lines) + "\n")
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.count("error") >= 2  # The missing image and the PNG given as audio.
  assert "/no/such/file.png" in result.stdout
