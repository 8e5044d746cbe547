"""The three tools on the real all8_mini problems and the real MultiModel, at toy size."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import registry
from t2t_mm.decoding import loading
from t2t_mm.decoding import session as session_lib

PROBLEM_CLASSES = ("wmt_ende_mini", "wmt_enfr_mini", "image_scenes_mini", "caption_scenes_mini",
                   "speech_en_mini", "parse_en_mini")
# One encoder and one decoder block (each with its MoE): every part of the model is there,
# and each problem's traces (train, eval, decode, export) take ~40% less time than with two.
TINY = ("hidden_size=16,filter_size=16,num_heads=2,moe_num_experts=4,batch_size=4,"
        "max_input_length=48,max_target_length=24,num_encoder_blocks=1,moe_encoder_layers=[0],"
        "num_decoder_blocks=1,moe_decoder_layers=[0]")


def sizes_gin(path, problems, train, dev, test):
  """A gin file setting each problem's split sizes; returns its path."""
  path.write_text("".join(
      f"problems.{p}.num_train_examples = {train}\nproblems.{p}.num_dev_examples = {dev}\n"
      f"problems.{p}.num_test_examples = {test}\n" for p in problems))
  return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mini_tmp_dir, tool):
  root = tmp_path_factory.mktemp("e2e")
  gin_file = sizes_gin(root / "sizes.gin", PROBLEM_CLASSES, 40, 8, 4)
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


def test_exported_strings_signatures_serve_text_images_and_wav_in_a_fresh_process(trained, tool):
  """mm-export, then a fresh process feeds raw text, PNG bytes and WAV bytes and gets text back,
  equal to what mm-decoder's library prints for the same inputs."""
  root, _ = trained
  names = ["wmt_ende_mini", "image_scenes_mini", "caption_scenes_mini", "speech_en_mini"]
  result = tool("mm-export", f"--output_dir={root / 'run'}", f"--export_dir={root / 'export'}",
                f"--problems={','.join(names)}")  # Four of the eight: each costs a trace.
  assert result.returncode == 0, result.stderr[-3000:]
  image, wav = root / "serve.png", root / "serve.wav"
  rng = np.random.default_rng(1)
  image.write_bytes(tf.io.encode_png(rng.integers(0, 255, (40, 24, 3), dtype=np.uint8)).numpy())
  rate = registry.problem("speech_en_mini").spec(str(root / "data")).sample_rate
  wav.write_bytes(tf.audio.encode_wav(rng.uniform(-.3, .3, (rate // 2, 1)).astype("float32"),
                                      rate).numpy())
  text = "The cat reads a book ."
  calls = {"wmt_ende_mini": ("text", text), "image_scenes_mini": ("image_bytes", str(image)),
           "caption_scenes_mini": ("image_bytes", str(image)),
           "speech_en_mini": ("wav_bytes", str(wav))}
  code = textwrap.dedent(f"""\
      import json, tensorflow as tf, tensorflow_text  # noqa: F401 (registers SentencePiece ops)
      m = tf.saved_model.load({str(root / 'export')!r})
      out = {{"signatures": sorted(m.signatures)}}
      for name, (key, value) in {calls!r}.items():
        data = value.encode() if key == "text" else open(value, "rb").read()
        got = m.signatures[name + "_strings"](**{{key: tf.constant([data])}})
        out[name] = got["outputs"].numpy()[0, 0].decode("utf-8")
      print(json.dumps(out))
      """)
  fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=False)
  assert fresh.returncode == 0, fresh.stderr[-3000:]
  served = json.loads(fresh.stdout.strip().splitlines()[-1])
  assert served["signatures"] == sorted(names + [n + "_strings" for n in names])
  session = session_lib.DecodeSession(loading.load_for_decoding(str(root / "run")))
  for name, (key, value) in calls.items():
    line = value if key == "text" else f"{key.split('_')[0]}={value}"
    request = session.parse(line.replace("wav=", "audio="))
    expected = session.decode_batch([session.encode(request, name)], name)[0][0].text
    assert served[name] == expected, name
