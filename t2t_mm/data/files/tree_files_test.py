import pytest

from t2t_mm import errors
from t2t_mm.data.files import TreeFiles

TREES = """( (S (NP-SBJ (NNP Ms.) (NNP Haag) ) (VP (VBZ plays) (NP (NNP Elianti) )) (. .) ))
( (S (NP-SBJ (-NONE- *-1) ) (VP (VBD rose) (ADVP (RB sharply))) (. .) ))
"""


def _problem(clean_registry, folder, name):
  cls = type("T", (TreeFiles,), {"folder": str(folder), "vocab_size": 320,
                                 "files": {"train": "train/*.mrg", "dev": "dev.trees"}})
  clean_registry.register_problem(cls, name=name)
  return clean_registry.problem(name)


def test_many_trees_per_file_and_a_pattern_of_files(clean_registry, tmp_path):
  (tmp_path / "train").mkdir()
  (tmp_path / "train" / "a.mrg").write_text(TREES)
  (tmp_path / "train" / "b.mrg").write_text(TREES.splitlines()[0])
  (tmp_path / "dev.trees").write_text(TREES)
  problem = _problem(clean_registry, tmp_path, "my_trees")
  examples = list(problem.examples("train", "", 0, 10))
  assert len(examples) == 3
  assert examples[0] == {"inputs": "Ms. Haag plays Elianti .",
                         "targets": "(S (NP NNP NNP )NP (VP VBZ (NP NNP )NP )VP . )S"}
  assert examples[1]["inputs"] == "rose sharply ."  # The empty subject is gone.
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  assert problem.spec(data).target_vocab == "my_trees"
  assert clean_registry.problem("my_trees_rev").spec(data).input_vocab == "my_trees"


def test_an_unbalanced_tree_names_its_file(clean_registry, tmp_path):
  (tmp_path / "train").mkdir()
  (tmp_path / "train" / "a.mrg").write_text("(S (NP (NN x)")
  (tmp_path / "dev.trees").write_text(TREES)
  with pytest.raises(errors.DataError, match=r"a.mrg: unbalanced brackets"):
    _problem(clean_registry, tmp_path, "my_bad_trees").split_size("train", "")
