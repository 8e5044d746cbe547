"""mm-export: the SavedModel loads in a fresh process and decodes as the library does."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.data.vocabularies import ClassLabelVocab
from t2t_mm.decoding import export
from t2t_mm.decoding import loading
from t2t_mm.search import compiled as compiled_lib
from t2t_mm.testing import fake_problems

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import session_test  # noqa: E402


def _umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask


def test_mm_export_loads_in_a_fresh_process_and_decodes(tool, tmp_path):
  pkg = tmp_path / "export_plugin"
  pkg.mkdir()
  (pkg / "__init__.py").write_text(textwrap.dedent("""\
      from t2t_mm import registry
      from t2t_mm.testing import fake_problems
      registry.register_problem(name="fake_copy")(fake_problems.FakeCopyProblem)
      registry.register_problem(name="fake_image_label")(fake_problems.FakeImageLabelProblem)
      """))
  out = tmp_path / "run"
  problems = {k: session_test.PROBLEMS[k] for k in ("fake_copy", "fake_image_label")}
  session_test.make_output_dir(out, problems)
  # A folder the exporter did not make, named as its old temporary folder, stays as it was.
  (out / "export.tmp").mkdir()
  (out / "export.tmp" / "mine.txt").write_text("keep me")
  # What an export killed with -9 leaves: a temporary folder named with its (gone) pid.
  dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                        capture_output=True, text=True, check=True).stdout.strip()
  (out / f"export.tmp-{dead}-x1y2").mkdir()
  # The fake vocabularies have no in-graph form: no _strings signature unless allowed.
  result = tool("mm-export", f"--usr_dir={pkg}", f"--output_dir={out}",
                "--decode_hparams=beam_size=2,max_decode_length=6")
  assert result.returncode == 2, result.stderr
  assert "Cannot export a fake_copy_strings signature: Problem 'fake_copy' uses a FakeVocab, " \
         "which has no in-graph form" in result.stderr and "--allow_ids_only" in result.stderr
  assert not (out / "export").exists()
  result = tool("mm-export", f"--usr_dir={pkg}", f"--output_dir={out}", "--allow_ids_only",
                "--decode_hparams=beam_size=2,max_decode_length=6")
  assert result.returncode == 0, result.stderr
  assert (out / "export.tmp" / "mine.txt").read_text() == "keep me"
  assert sorted(p.name for p in out.iterdir() if p.name.startswith("export")) == [
      "export", "export.tmp"]  # No temporary folder of ours is left behind.
  assert (out / "export").stat().st_mode & 0o777 == 0o777 & ~_umask()
  ids = [[3, 4, 5, 1], [6, 7, 1, 0]]
  image = np.random.default_rng(0).random((1, 8, 8, 3)).astype("float32").tolist()
  code = textwrap.dedent(f"""\
      import json, tensorflow as tf
      m = tf.saved_model.load({str(out / 'export')!r})
      text = m.signatures["fake_copy"](inputs=tf.constant({ids}))
      label = m.signatures["fake_image_label"](inputs=tf.constant({image}))
      print(json.dumps({{"names": sorted(m.signatures), "ids": text["ids"].numpy().tolist(),
                        "scores": text["scores"].numpy().tolist(),
                        "label": label["ids"].numpy().tolist()}}))
      """)
  fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=False)
  assert fresh.returncode == 0, fresh.stderr
  served = json.loads(fresh.stdout.strip().splitlines()[-1])
  assert served["names"] == ["fake_copy", "fake_image_label"]
  run = loading.load_for_decoding(str(out), problems=problems)
  dhp = DecodeHParams(beam_size=2, max_decode_length=6)
  feats = {"inputs": np.array(ids, "int32"), "targets": np.zeros((2, 1), "int32"),
           "target_space": np.full((2,), 1, "int32")}
  expected = compiled_lib.CompiledSearch(run.model).decode(feats, "fake_copy", dhp)
  np.testing.assert_array_equal(np.array(served["ids"]), expected.ids)
  np.testing.assert_allclose(np.array(served["scores"]), expected.scores, atol=1e-5)
  assert np.array(served["label"]).shape == (1, 2, 1)


class _LabelledImages(fake_problems.FakeImageLabelProblem):
  """Class names with an in-graph form, so the export has a `_strings` signature."""

  def target_vocab(self, data_dir):
    return ClassLabelVocab(["red", "green", "blue"])


def test_strings_signature_refuses_an_image_over_the_pixel_limit_before_decoding(tmp_path):
  problems = {"fake_image_label": _LabelledImages()}
  session_test.make_output_dir(tmp_path / "run", problems)
  run = loading.load_for_decoding(str(tmp_path / "run"), problems=problems)
  export.export_run(run, str(tmp_path / "export"),
                    input_limits=InputLimits(max_image_pixels=100))
  serve = tf.saved_model.load(str(tmp_path / "export")).signatures["fake_image_label_strings"]
  small = tf.io.encode_png(np.zeros((8, 8, 3), np.uint8))  # 64 pixels.
  assert serve(image_bytes=tf.stack([small]))["outputs"].numpy()[0, 0] in (b"red", b"green",
                                                                          b"blue")
  png = tf.io.encode_png(np.zeros((20, 20, 3), np.uint8)).numpy()  # 400 pixels.
  claims = png[:16] + (100000).to_bytes(4, "big") * 2 + png[24:]  # Header: 100000 x 100000.
  for data in (png, claims):
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_image_pixels=100"):
      serve(image_bytes=tf.constant([data]))
