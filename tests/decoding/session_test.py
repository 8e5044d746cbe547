"""mm-decoder's library: loading an output_dir, the interactive loop with bad lines, file mode."""

import io
import os
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.runs import resolve
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.decoding import export
from t2t_mm.decoding import file_decode
from t2t_mm.decoding import loading
from t2t_mm.decoding import session as session_lib
from t2t_mm.testing import fake_problems
from t2t_mm.runs import checkpoints
from t2t_mm.runs import outputs

PROBLEMS = {p.name: p for p in (fake_problems.FakeCopyProblem(),
                                fake_problems.FakeImageLabelProblem(),
                                fake_problems.FakeSpeechProblem())}


def make_output_dir(path, problems=PROBLEMS):
  """An output_dir laid out as the trainer writes it, with a random-weight tiny MultiModel."""
  hp = registry.hparams("multimodel_tiny").replace(
      hidden_size=16, filter_size=16, num_heads=2, moe_num_experts=4, moe_k=2,
      audio_waveform_blocks=2, max_input_length=16,
      # One block each (with its MoE): decoding plumbing, not depth, is tested here; caches
      # across stacked blocks are t2t_mm/decoding/search_test.py's.
      num_encoder_blocks=1, moe_encoder_layers=[0], num_decoder_blocks=1,
      moe_decoder_layers=[0])
  specs = {name: p.spec(None) for name, p in problems.items()}
  tf.keras.utils.set_random_seed(0)
  model = registry.model("multimodel")(hparams=hp, specs=list(specs.values()))
  os.makedirs(path, exist_ok=True)
  resolve.save_hparams(str(path), hp, "multimodel_tiny")
  outputs.write_run_files(str(path), problems, specs, str(path))
  optimizer = tf.keras.optimizers.Adam()
  optimizer.build(model.trainable_variables)
  ckpt = tf.train.Checkpoint(**checkpoints.model_items(model), optimizer=optimizer)
  tf.train.CheckpointManager(ckpt, os.path.join(path, "checkpoints"), 2).save(7)
  return model


_CLASSES = {"fake_copy": "FakeCopyProblem", "fake_image_label": "FakeImageLabelProblem",
            "fake_speech": "FakeSpeechProblem"}


def make_run_with_plugin(root, plugin_name, names=tuple(PROBLEMS)):
  """(run folder, plugin folder): make_output_dir's run of the problems `names`, and a --usr_dir
  package `plugin_name` registering them, both under `root`."""
  pkg = root / plugin_name
  pkg.mkdir()
  (pkg / "__init__.py").write_text(
      "from t2t_mm import registry\nfrom t2t_mm.testing import fake_problems\n" + "".join(
          f"registry.register_problem(name={n!r})(fake_problems.{_CLASSES[n]})\n" for n in names))
  out = root / "run"
  make_output_dir(out, {n: PROBLEMS[n] for n in names})
  return out, pkg


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
  out = tmp_path_factory.mktemp("run")
  return out, make_output_dir(out)


@pytest.fixture(scope="module")
def session(saved):
  run = loading.load_for_decoding(str(saved[0]), problems=PROBLEMS)
  return session_lib.DecodeSession(run, DecodeHParams(max_decode_length=8))


@pytest.fixture(scope="module")
def media(tmp_path_factory):
  d = tmp_path_factory.mktemp("media")
  rng = np.random.default_rng(0)
  png = tf.io.encode_png((rng.random((12, 10, 3)) * 255).astype("uint8")).numpy()
  (d / "a.png").write_bytes(png)
  wav = tf.audio.encode_wav(rng.uniform(-0.5, 0.5, (1600, 2)).astype("float32"), 16000)
  (d / "a.wav").write_bytes(wav.numpy())
  (d / "notes.txt").write_text("not an image, not audio")
  return d


def test_load_for_decoding_restores_the_checkpoint(saved, session):
  original = saved[1]
  assert session.run.checkpoint.endswith("ckpt-7")
  for a, b in zip(original.weights, session.run.model.weights):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  assert session.problem == "fake_copy"
  assert session.run.hparams.hidden_size == 16


def test_load_for_decoding_errors_are_clear(tmp_path, saved):
  with pytest.raises(errors.DataError, match="problems.json"):
    resolve.save_hparams(str(tmp_path), registry.hparams("multimodel_tiny"), "multimodel_tiny")
    loading.load_for_decoding(str(tmp_path), problems=PROBLEMS)
  with pytest.raises(errors.DataError, match="does not fit"):
    loading.load_for_decoding(str(saved[0]), hparams_overrides="hidden_size=32", problems=PROBLEMS)


def test_every_modality_decodes(session, media):
  text = session.handle("3 4 5 6")
  assert "error" not in text and "ms)" in text
  assert session.handle("problem=fake_image_label").startswith("problem=fake_image_label")
  label = session.handle(f"image={media / 'a.png'}")
  assert label.split("\t")[0] in {"class0", "class1", "class2"}
  session.handle("problem=fake_speech")
  speech = session.handle(f"audio={media / 'a.wav'}")
  assert "error" not in speech and "ms)" in speech
  session.handle("problem=fake_copy")


def test_a_stream_of_bad_lines_gets_messages_and_the_session_goes_on(session, media):
  lines = [
      b"problem=fake_image_label\n",
      f"image={media / 'missing.png'}\n".encode(),      # missing file
      f"image={media / 'notes.txt'}\n".encode(),        # not an image
      b"7 8 9\n",                                       # text for an image problem
      b"problem=fake_speech\n",
      f"audio={media / 'notes.txt'}\n".encode(),        # unreadable audio
      b"\n",                                            # empty line
      b"   \n",
      b"\xff\xfe bad bytes\n",                          # not UTF-8
      b"problem=no_such_problem\n",
      b"beam_size=many\n",
      b"problem=fake_copy\n",
      ("5 " * 20000).encode() + b"\n",                  # very long line
      b"beam_size=3\n",
      b"return_beams=true\n",
      b"3 4 5\n",                                       # still answers
  ]
  out = io.StringIO()
  answered = session_lib.interactive_loop(session, io.BytesIO(b"".join(lines)), out)
  assert answered == len(lines)
  text = out.getvalue()
  assert "no such file" in text
  assert "not an image" in text
  assert "reads images: write image=PATH" in text
  assert "not a WAV file (expected RIFF/WAVE, 16-bit PCM)" in text
  assert text.count("Empty line") == 2
  assert "not UTF-8" in text
  assert "Unknown problem 'no_such_problem'" in text
  assert "'beam_size' expects int" in text
  assert "longer than max_input_chars" in text
  assert text.count("error:") == 10
  last = text.rsplit("beam_size=3", 1)[1]
  assert len([row for row in last.splitlines() if "\t-" in row]) == 3  # 3 beams with scores.
  assert session.dhp.beam_size == 3
  session.dhp = DecodeHParams(max_decode_length=8)


def test_oversized_inputs_are_refused_before_they_are_read_or_decoded(session, media,
                                                                       tmp_path):
  # A sparse 1 GiB file: refused by its size (os.stat), nothing is read.
  big = tmp_path / "big.png"
  with open(big, "wb") as f:
    f.truncate(1 << 30)
  # 20 x 20 pixels, and a PNG whose header claims 100000 x 100000 (its data is 20 x 20):
  # only the header shows that before decoding.
  png = tf.io.encode_png(np.zeros((20, 20, 3), np.uint8)).numpy()
  (tmp_path / "a20.png").write_bytes(png)
  (tmp_path / "claims.png").write_bytes(png[:16] + (100000).to_bytes(4, "big") * 2 + png[24:])
  (tmp_path / "a20.jpg").write_bytes(tf.io.encode_jpeg(np.zeros((20, 20, 3), np.uint8)).numpy())
  lines = [
      b"max_image_pixels=150\n", b"max_audio_bytes=1000\n",
      b"problem=fake_image_label\n",
      f"image={big}\n".encode(),
      f"image={tmp_path / 'a20.png'}\n".encode(),
      f"image={tmp_path / 'claims.png'}\n".encode(),
      f"image={tmp_path / 'a20.jpg'}\n".encode(),
      f"image={media / 'a.png'}\n".encode(),  # 12 x 10: still decodes.
      b"problem=fake_speech\n",
      f"audio={media / 'a.wav'}\n".encode(),  # 6,444 bytes.
      b"max_audio_bytes=100000\n",
      f"audio={media / 'a.wav'}\n".encode(),
  ]
  out = io.StringIO()
  try:
    session_lib.interactive_loop(session, io.BytesIO(b"".join(lines)), out)
  finally:
    session.input_limits = InputLimits()
    session.handle("problem=fake_copy")
  answers = out.getvalue().split("\n> ")[1:]  # The answer to each line.
  assert answers[3].strip() == (
      f"error: image={big}: the file has {1 << 30} bytes, more than max_image_bytes="
      f"{20 << 20}; use a smaller file or raise that input limit.")
  assert "20x20 pixels (400) is more than max_image_pixels=150" in answers[4]
  assert "100000x100000 pixels (10000000000) is more than max_image_pixels=150" in answers[5]
  assert "20x20 pixels (400) is more than max_image_pixels=150" in answers[6]
  assert answers[7].split("\t")[0].strip() in {"class0", "class1", "class2"}
  assert "more than max_audio_bytes=1000" in answers[9]
  assert "error" not in answers[11] and "ms)" in answers[11]
  assert all(len(a.strip().splitlines()) == 1 for a in answers[3:10])  # One line each.


def test_exporting_an_untrained_problem_names_the_trained_ones_and_writes_nothing(session,
                                                                                 tmp_path):
  with pytest.raises(errors.UnknownNameError, match="'fake_cpy'.*fake_copy.*trained on"):
    export.export_run(session.run, str(tmp_path / "export"), problems=["fake_cpy"])
  assert not os.path.exists(tmp_path / "export")


def test_long_text_is_cut_to_max_input_length(session):
  x = session.encode(session.parse("4 " * 100))
  assert len(x) == session.run.hparams.max_input_length and x[-1] == 1


def test_file_mode_restores_order_and_writes_n_best(session, tmp_path):
  rng = np.random.default_rng(1)
  lines = [" ".join(str(int(v)) for v in rng.integers(2, 12, n)) for n in (2, 7, 1, 5, 3)]
  lines.insert(2, "")
  src = tmp_path / "in.txt"
  src.write_text("\n".join(lines) + "\n")
  session.dhp = DecodeHParams(max_decode_length=8, batch_size=2)
  assert file_decode.decode_file(session, str(src), str(tmp_path / "out.txt"), False) == 6
  got = (tmp_path / "out.txt").read_text().splitlines()
  alone = [session.handle(line).split("\t")[0] for line in lines]
  assert got[2].startswith("ERROR: Empty line")
  assert [g for i, g in enumerate(got) if i != 2] == [a for i, a in enumerate(alone) if i != 2]
  session.dhp = DecodeHParams(max_decode_length=8, batch_size=2, beam_size=2, return_beams=True)
  file_decode.decode_file(session, str(src), str(tmp_path / "nbest.txt"), False)
  nbest = (tmp_path / "nbest.txt").read_text().splitlines()
  fields = nbest[0].split("\t")
  assert len(fields) == 4 and float(fields[1]) >= float(fields[3])
  session.dhp = DecodeHParams(max_decode_length=8)


def test_cli_decodes_from_file(tool, tmp_path):
  pkg = tmp_path / "decode_plugin"
  pkg.mkdir()
  (pkg / "__init__.py").write_text(textwrap.dedent("""\
      from t2t_mm import registry
      from t2t_mm.testing import fake_problems
      registry.register_problem(name="fake_copy")(fake_problems.FakeCopyProblem)
      """))
  out = tmp_path / "run"
  make_output_dir(out, {"fake_copy": PROBLEMS["fake_copy"]})
  (tmp_path / "in.txt").write_text("3 4 5\n9 8\n")
  result = tool("mm-decoder", f"--usr_dir={pkg}", f"--output_dir={out}",
                f"--decode_from_file={tmp_path / 'in.txt'}",
                "--decode_hparams=beam_size=2,max_decode_length=6")
  assert result.returncode == 0, result.stderr
  assert "Decoded 2 lines" in result.stderr
  assert len((tmp_path / "in.txt.decoded").read_text().splitlines()) == 2
  result = tool("mm-decoder", f"--usr_dir={pkg}", f"--output_dir={out}",
                "--decode_interactive", "--decode_from_file=x")
  assert result.returncode != 0 and "exactly one of" in result.stderr


def test_image_grid_is_the_factorization_closest_to_the_image_aspect():
  assert session_lib.image_grid(4, 32, 32) == (2, 2)
  assert session_lib.image_grid(6, 64, 96) == (2, 3)
  assert session_lib.image_grid(6, 96, 64) == (3, 2)
  assert session_lib.image_grid(1, 8, 8) == (1, 1)
  assert session_lib.image_grid(7, 10, 300) == (1, 7)  # A prime: one row or one column.
