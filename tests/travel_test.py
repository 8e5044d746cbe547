"""A run folder travels alone: moved elsewhere with its data folder gone, every tool that needs
no data works from the run folder; mm-eval takes the data at its new place."""

import os
import shutil
import sys

import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, os.path.dirname(__file__))
from end_to_end_test import TINY, sizes_gin  # noqa: E402

PROBLEMS = ("wmt_ende_mini", "image_scenes_mini", "caption_scenes_mini", "speech_en_mini")


@pytest.fixture(scope="module")
def moved(tmp_path_factory, mini_tmp_dir, tool):
  """(root, the moved run, the data at its new place); the folders of training are gone."""
  root = tmp_path_factory.mktemp("travel")
  gin_file = sizes_gin(root / "sizes.gin", PROBLEMS, 24, 4, 4)
  data, out = root / "data", root / "run"
  result = tool("mm-datagen", f"--problem={','.join(PROBLEMS)}", f"--data_dir={data}",
                f"--tmp_dir={mini_tmp_dir}", f"--gin_file={gin_file}", "--noprogress")
  assert result.returncode == 0, result.stderr[-3000:]
  result = tool("mm-trainer", f"--problems={','.join(PROBLEMS)}", "--hparams_set=multimodel_tiny",
                f"--hparams={TINY}", f"--data_dir={data}", f"--output_dir={out}",
                "--train_steps=4", "--eval_steps=1", f"--gin_file={gin_file}",
                "--gin_param=trainer.TrainerConfig.checkpoint_every = 2",
                "--gin_param=trainer.TrainerConfig.decode_examples = 2")
  assert result.returncode == 0, result.stderr[-3000:]
  away = root / "elsewhere"
  away.mkdir()
  shutil.move(str(out), str(away / "run"))
  shutil.move(str(data), str(away / "data"))  # Nothing is left at the data folder's old place.
  assert not data.exists() and not out.exists()
  return root, away / "run", away / "data"


def _inputs(root):
  rng = np.random.default_rng(0)
  image, wav = root / "scene.png", root / "speech.wav"
  image.write_bytes(tf.io.encode_png(rng.integers(0, 255, (32, 32, 3), np.uint8)).numpy())
  wav.write_bytes(tf.audio.encode_wav(rng.uniform(-.3, .3, (8000, 1)).astype("float32"),
                                      16000).numpy())
  return {"wmt_ende_mini": "The cat reads a book .", "image_scenes_mini": f"image={image}",
          "caption_scenes_mini": f"image={image}", "speech_en_mini": f"audio={wav}"}


def test_the_run_copied_its_vocabularies_and_decodes_every_modality_alone(moved, tool):
  root, run, _ = moved
  assert os.listdir(run / "vocab")  # The subword model of the text problems.
  lines = _inputs(root)
  for name, line in lines.items():
    src, dst = root / f"{name}.in", root / f"{name}.out"
    src.write_text(line + "\n")
    result = tool("mm-decoder", f"--output_dir={run}", f"--problem={name}",
                  f"--decode_from_file={src}", f"--decode_to_file={dst}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(dst.read_text().splitlines()) == 1, name
  session = "".join(f"problem={name}\n{line}\n" for name, line in lines.items())
  result = tool("mm-decoder", f"--output_dir={run}", "--decode_interactive", stdin=session)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "error" not in result.stdout, result.stdout


def test_export_and_averaging_need_no_data(moved, tool):
  root, run, _ = moved
  result = tool("mm-export", f"--output_dir={run}", f"--export_dir={root / 'export'}",
                "--problems=wmt_ende_mini,image_scenes_mini")
  assert result.returncode == 0, result.stderr[-3000:]
  result = tool("mm-avg-checkpoints", f"--output_dir={run}", "--num_last=2",
                f"--to={root / 'avg'}")
  assert result.returncode == 0, result.stderr[-3000:]
  assert sorted(os.listdir(root / "avg" / "vocab")) == sorted(os.listdir(run / "vocab"))
  result = tool("mm-decoder", f"--output_dir={root / 'avg'}", "--decode_interactive",
                stdin="The cat reads a book .\n")
  assert result.returncode == 0 and "error" not in result.stdout, result.stderr[-3000:]


def test_eval_names_data_dir_when_the_data_is_gone_and_reads_it_at_its_new_place(moved, tool):
  root, run, data = moved
  result = tool("mm-eval", f"--output_dir={run}", "--problems=wmt_ende_mini", "--noprogress")
  assert result.returncode == 2
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert "--data_dir=" in result.stderr and str(root / "data") in result.stderr
  result = tool("mm-eval", f"--output_dir={run}", f"--data_dir={data}",
                "--problems=wmt_ende_mini,image_scenes_mini", "--noprogress")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "| wmt_ende_mini |" in result.stdout and "| image_scenes_mini |" in result.stdout
