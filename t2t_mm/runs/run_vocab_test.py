import json
import os

import pytest

from t2t_mm import errors
from t2t_mm.data import vocabularies
from t2t_mm.runs import outputs
from t2t_mm.runs import resume
from t2t_mm.runs import run_vocab
from t2t_mm.testing import fake_problems


class FileLabels(fake_problems.FakeImageLabelProblem):
  """An image problem whose class names are a file of data_dir, as datagen writes them."""

  def target_vocab(self, data_dir):
    return vocabularies.ClassLabelVocab.from_file(os.path.join(data_dir, "sub", "x.labels.txt"))


def _train(tmp_path, labels="a\nb\nc\n"):
  data, run = tmp_path / "data", tmp_path / "run"
  (data / "sub").mkdir(parents=True)
  (data / "sub" / "x.labels.txt").write_text(labels)
  problem = FileLabels()
  outputs.write_run_files(str(run), {problem.name: problem}, {problem.name: problem.spec(None)},
                          str(data))
  return problem, str(data), str(run)


def test_the_trainer_copies_each_vocabulary_file_under_its_name_and_records_its_digest(tmp_path):
  problem, data, run = _train(tmp_path)
  saved = outputs.read_run_problems(run)
  assert list(saved["vocab_files"]) == [os.path.join("sub", "x.labels.txt")]
  assert run_vocab.vocab_dir(run, saved) == os.path.join(run, "vocab")
  os.remove(os.path.join(data, "sub", "x.labels.txt"))
  # The problem reads the run's copy by the name it reads in data_dir.
  assert problem.target_vocab(run_vocab.vocab_dir(run, saved)).labels == ["a", "b", "c"]
  run_vocab.check_copies(run, saved)


def test_a_run_made_before_the_copies_reads_its_recorded_data_dir(tmp_path):
  _, data, run = _train(tmp_path)
  path = os.path.join(run, outputs.PROBLEMS_FILE)
  saved = json.loads(open(path, encoding="utf-8").read())
  del saved["vocab_files"]
  assert run_vocab.vocab_dir(run, saved) == os.path.abspath(data)


def test_a_resume_on_data_with_another_vocabulary_of_the_same_size_is_refused(tmp_path):
  problem, data, run = _train(tmp_path)
  resume.check_matches_saved(run, None, None, {problem.name: problem.spec(None)}, [problem], data)
  with open(os.path.join(data, "sub", "x.labels.txt"), "w", encoding="utf-8") as f:
    f.write("c\nb\na\n")  # Same size, other ids: the spec alone cannot see it.
  with pytest.raises(errors.ConfigError, match=r"vocabulary sub/x.labels.txt: .* differs from "
                     r"the run's copy .*run/vocab/sub/x.labels.txt"):
    resume.check_matches_saved(run, None, None, {problem.name: problem.spec(None)}, [problem],
                               data)


@pytest.mark.parametrize("damage, message", [("remove", "is missing"),
                                             ("change", "is not the vocabulary")])
def test_a_missing_or_changed_copy_is_named(tmp_path, damage, message):
  _, _, run = _train(tmp_path)
  copy = os.path.join(run, "vocab", "sub", "x.labels.txt")
  if damage == "remove":
    os.remove(copy)
  else:
    with open(copy, "a", encoding="utf-8") as f:
      f.write("d\n")
  with pytest.raises(errors.DataError, match=f"{copy} {message}"):
    run_vocab.check_copies(run, outputs.read_run_problems(run))
