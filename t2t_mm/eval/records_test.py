"""mm-eval's file names and index: other problems or settings get other files, a rerun replaces
its own entry, concurrent index updates are all kept, a damaged index is refused and kept."""

import json
import multiprocessing
import os
import re

import pytest

from t2t_mm import errors
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.eval import records

RUN = "/runs/a"
CKPT = ["/runs/a/checkpoints/ckpt-2000"]


def _name(problems=("p1",), dhp=DecodeHParams(), checkpoints=CKPT, **kw):
  return records.evaluation_name("test", checkpoints, list(problems), dhp, RUN, **kw)


def test_names_differ_by_problems_settings_and_checkpoints_only():
  name = _name()
  assert re.fullmatch(r"test-step2000\.[0-9a-f]{10}", name)
  assert _name(("p1",)) == name  # The same evaluation: the same files.
  assert _name(("p2", "p1")) == _name(("p1", "p2")) != name
  assert _name(dhp=DecodeHParams(beam_size=4)) != name
  assert _name(dhp=DecodeHParams(batch_size=8)) != name
  assert _name(checkpoints=["/runs/a/checkpoints/best/ckpt-2000"], best=True).startswith(
      "test-step2000-best.")
  averaged = _name(checkpoints=CKPT + ["/runs/a/checkpoints/ckpt-1800"], averaged=2)
  assert averaged.startswith("test-step2000-avg2.") and averaged[-10:] != name[-10:]
  # Relative to the run: a moved run's rerun replaces its own files.
  assert records.evaluation_name("test", ["/moved/checkpoints/ckpt-2000"], ["p1"],
                                 DecodeHParams(), "/moved") == name


def _entry(name, problems=("p1",), dhp=DecodeHParams()):
  return records.index_entry(name, "test", list(problems), dhp, CKPT)


def test_index_keeps_every_evaluation_and_a_rerun_replaces_its_own_entry(tmp_path):
  first, second = _name(("p1",)), _name(("p2",), dhp=DecodeHParams(beam_size=2))
  records.add_to_index(str(tmp_path), _entry(first))
  records.add_to_index(str(tmp_path), _entry(second, ("p2",), DecodeHParams(beam_size=2)))
  records.add_to_index(str(tmp_path), _entry(first))
  entries = records.read_index(str(tmp_path))
  assert [e["file"] for e in entries] == [f"{second}.json", f"{first}.json"]
  assert entries[0]["hypotheses"] == {"p2": f"{second}.p2.txt"}
  assert entries[0]["decode_hparams"]["beam_size"] == 2 and entries[0]["step"] == 2000
  assert entries[0]["checkpoints"] == CKPT and entries[0]["split"] == "test"


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"evaluations": [{"x": 1}]}'])
def test_a_damaged_index_is_refused_naming_it_and_kept(tmp_path, content):
  index = tmp_path / records.INDEX_FILE
  index.write_text(content)
  with pytest.raises(errors.DataError, match=f"{index} is not an mm-eval index"):
    records.check_index(str(tmp_path))
  with pytest.raises(errors.DataError, match=f"{index} is not an mm-eval index"):
    records.add_to_index(str(tmp_path), _entry(_name()))
  assert index.read_text() == content


def _add_many(out_dir, worker, count, start):
  start.wait(60)
  for i in range(count):
    records.add_to_index(out_dir, _entry(f"test-step{i}.worker{worker}"))


@pytest.mark.slow
def test_concurrent_index_updates_are_all_kept(tmp_path):
  workers, count = 8, 25
  ctx = multiprocessing.get_context("spawn")
  start = ctx.Barrier(workers)
  procs = [ctx.Process(target=_add_many, args=(str(tmp_path), w, count, start))
           for w in range(workers)]
  for p in procs:
    p.start()
  for p in procs:
    p.join(120)
  assert [p.exitcode for p in procs] == [0] * workers
  files = sorted(e["file"] for e in records.read_index(str(tmp_path)))
  assert files == sorted(f"test-step{i}.worker{w}.json" for w in range(workers)
                         for i in range(count))
  assert sorted(os.listdir(tmp_path)) == [records.INDEX_LOCK, records.INDEX_FILE]
  json.loads((tmp_path / records.INDEX_FILE).read_text())
