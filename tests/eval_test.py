"""mm-eval and mm-avg-checkpoints on a small run of file problems made here."""

import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

PLUGIN = """
from t2t_mm import registry
from t2t_mm.data import files

@registry.register_problem
class EvalPairs(files.TextPairs):
  folder, vocab_size = {folder!r}, 320
  files = {{"train": "train.tsv", "dev": "dev.tsv"}}

@registry.register_problem
class EvalShapes(files.ImageClasses):
  folder, image_size = {folder!r}, (16, 16)
  files = {{"train": "shapes_train.tsv", "dev": "shapes_dev.tsv"}}
"""
SOURCES = ["a", "a b", "the cat", "one two three", "a b c d e", "x", "hello there you",
           "we go", "it is what it is"]
SMALL = "hidden_size=16,filter_size=16,moe_num_experts=4,num_heads=2"


@pytest.fixture(scope="module")
def trained(tool, tmp_path_factory):
  root = tmp_path_factory.mktemp("eval")
  raw = root / "raw"
  raw.mkdir()
  (raw / "train.tsv").write_text("".join(f"{s}\t{s[::-1]}\n" for s in SOURCES * 4))
  (raw / "dev.tsv").write_text("".join(f"{s}\t{s[::-1]}\n" for s in SOURCES))
  rows = []
  for i in range(14):
    image = np.full((16, 16, 3), 18 * i, np.uint8)
    (raw / f"s{i}.png").write_bytes(tf.io.encode_png(image).numpy())
    rows.append(f"s{i}.png\tc{i % 7}\n")
  (raw / "shapes_train.tsv").write_text("".join(rows))
  (raw / "shapes_dev.tsv").write_text("".join(rows[:6]))
  pkg = root / "eval_plugin"
  pkg.mkdir()
  (pkg / "__init__.py").write_text(PLUGIN.format(folder=str(raw)))
  data, out = root / "data", root / "run"
  result = tool("mm-datagen", f"--usr_dir={pkg}", "--problem=eval_pairs,eval_shapes",
                f"--data_dir={data}", "--noprogress")
  assert result.returncode == 0, result.stderr[-2000:]
  result = tool("mm-trainer", f"--usr_dir={pkg}", "--problems=eval_pairs,eval_shapes",
                f"--data_dir={data}", f"--output_dir={out}", "--hparams_set=multimodel_tiny",
                f"--hparams={SMALL}", "--train_steps=6", "--eval_steps=1",
                "--gin_param=trainer.TrainerConfig.checkpoint_every = 2")
  assert result.returncode == 0, result.stderr[-2000:]
  return root


def index(out):
  """The evaluations listed in out/eval/index.json."""
  return json.loads((out / "eval" / "index.json").read_text())["evaluations"]


def eval_files(out):
  """{file name: bytes} of out/eval, the index left out."""
  return {p.name: p.read_bytes() for p in (out / "eval").iterdir() if p.name != "index.json"}


def test_mm_eval_decodes_the_whole_split_in_order_with_signed_metrics(tool, trained):
  out = trained / "run"
  result = tool("mm-eval", f"--output_dir={out}", "--split=dev", "--noprogress",
                "--decode_hparams=batch_size=4,max_decode_length=12")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "| eval_pairs | 9 |" in result.stdout and "| eval_shapes | 6 |" in result.stdout
  entry, = [e for e in index(out) if e["problems"] == ["eval_pairs", "eval_shapes"]]
  assert re.fullmatch(r"dev-step6\.[0-9a-f]{10}\.json", entry["file"]), entry["file"]
  assert entry["step"] == 6 and entry["averaged"] == 0 and entry["split"] == "dev"
  saved = json.loads((out / "eval" / entry["file"]).read_text())
  assert saved["checkpoints"] == [str(out / "checkpoints" / "ckpt-6")]
  assert saved["decode_hparams"]["max_decode_length"] == 12
  pairs, shapes = saved["problems"]["eval_pairs"], saved["problems"]["eval_shapes"]
  assert pairs["examples"] == 9 and "nrefs:1|" in pairs["signatures"]["bleu"]
  assert {"bleu", "chrf", "log_perplexity", "chance_token_accuracy"} <= set(pairs["metrics"])
  m = shapes["metrics"]
  assert m["chance_accuracy"] == pytest.approx(1 / 7) and m["top5"] >= m["accuracy"]
  # Hypotheses in split order: the decoder's answers to the dev sources, line by line.
  hyps = (out / "eval" / entry["hypotheses"]["eval_pairs"]).read_text().splitlines()
  assert entry["hypotheses"]["eval_pairs"] == entry["file"][:-len("json")] + "eval_pairs.txt"
  (trained / "dev_sources.txt").write_text("\n".join(SOURCES) + "\n")
  result = tool("mm-decoder", f"--output_dir={out}", "--problem=eval_pairs",
                f"--decode_from_file={trained / 'dev_sources.txt'}",
                "--decode_hparams=max_decode_length=12")
  assert result.returncode == 0, result.stderr[-2000:]
  assert hyps == (trained / "dev_sources.txt.decoded").read_text().splitlines()


def test_mm_eval_of_the_average_of_the_last_checkpoints(tool, trained):
  out = trained / "run"
  result = tool("mm-eval", f"--output_dir={out}", "--problems=eval_shapes", "--average_last=2",
                "--noprogress")
  assert result.returncode == 0, result.stderr[-2000:]
  entry, = [e for e in index(out) if e["averaged"] == 2]
  assert entry["file"].startswith("dev-step6-avg2.")
  saved = json.loads((out / "eval" / entry["file"]).read_text())
  assert [os.path.basename(p) for p in saved["checkpoints"]] == ["ckpt-6", "ckpt-4"]
  assert list(saved["problems"]) == ["eval_shapes"]


def test_mm_avg_checkpoints_writes_a_run_the_decoder_reads(tool, trained):
  out, avg = trained / "run", trained / "avg"
  result = tool("mm-avg-checkpoints", f"--output_dir={out}", "--num_last=3", f"--to={avg}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert (avg / "checkpoints" / "ckpt-6.index").exists() and (avg / "hparams.json").exists()
  (trained / "one.txt").write_text("a b\n")
  result = tool("mm-decoder", f"--output_dir={avg}", "--problem=eval_pairs",
                f"--decode_from_file={trained / 'one.txt'}", "--decode_hparams=max_decode_length=5")
  assert result.returncode == 0, result.stderr[-2000:]
  result = tool("mm-avg-checkpoints", f"--output_dir={out}", "--num_last=2", f"--to={avg}")
  assert result.returncode == 2 and "is not an empty folder" in result.stderr


def test_evaluations_of_other_problems_or_settings_keep_each_others_files(tool, trained):
  out = trained / "run"
  before = eval_files(out) if (out / "eval").exists() else {}
  listed = [e["file"] for e in index(out)] if before else []
  runs = [("--problems=eval_shapes", "--decode_hparams=batch_size=3"),
          ("--problems=eval_pairs", "--decode_hparams=batch_size=3,max_decode_length=4"),
          ("--problems=eval_shapes", "--decode_hparams=batch_size=2")]
  for args in runs + runs[:1]:  # The first again: it replaces only its own files.
    result = tool("mm-eval", f"--output_dir={out}", "--noprogress", *args)
    assert result.returncode == 0, result.stderr[-2000:]
  after = eval_files(out)
  assert {k: v for k, v in after.items() if k in before} == before  # Nothing lost or changed.
  new = sorted(set(after) - set(before) - {".index.lock"})
  assert len(new) == 6, new  # Per evaluation its .json and one .txt per problem.
  entries = index(out)
  assert [e["file"] for e in entries][:len(listed)] == listed
  added = entries[len(listed):]
  assert sorted(e["file"] for e in added) == sorted(n for n in new if n.endswith(".json"))
  assert [e["problems"] for e in added] == [["eval_pairs"], ["eval_shapes"], ["eval_shapes"]]
  assert sorted(e["decode_hparams"]["batch_size"] for e in added) == [2, 3, 3]


def test_a_damaged_index_stops_mm_eval_before_any_work_and_is_kept(tool, trained):
  out = trained / "run"
  (out / "eval").mkdir(exist_ok=True)
  path = out / "eval" / "index.json"
  saved = path.read_bytes() if path.exists() else None
  try:
    path.write_text('{"evaluations": [')
    before = eval_files(out)
    result = tool("mm-eval", f"--output_dir={out}", "--noprogress", "--problems=eval_shapes")
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{path} is not an mm-eval index" in result.stderr
    assert "Traceback" not in result.stderr
    assert eval_files(out) == before and path.read_text() == '{"evaluations": ['
  finally:
    if saved is None:
      path.unlink()
    else:
      path.write_bytes(saved)


@pytest.mark.parametrize("args, message", [
    (["--average_last=2", "--checkpoint_path=x"], "not both"),
    (["--problems=eval_pair"], "eval_pairs"),
    (["--average_last=9"], "fewer than the 9"),
])
def test_bad_mm_eval_settings_exit_2_and_write_nothing(tool, trained, args, message):
  out = trained / "run"
  before = sorted(os.listdir(out / "eval")) if (out / "eval").exists() else []
  result = tool("mm-eval", f"--output_dir={out}", "--noprogress", *args)
  assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
  after = sorted(os.listdir(out / "eval")) if (out / "eval").exists() else []
  assert after == before
