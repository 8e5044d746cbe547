import os

import pytest

from t2t_mm import errors
from t2t_mm.data import all8_vocab
from t2t_mm.data import vocabularies
from t2t_mm.data.files import TextPairs, TreeFiles


def test_a_declaration_names_its_sources_and_a_size_that_fits_byte_fallback():
  with pytest.raises(errors.ConfigError, match="name the problems"):
    vocabularies.Subword(size=1000)
  with pytest.raises(errors.ConfigError, match="at least 320"):
    vocabularies.Subword(size=100, sources=("x",))


def test_registering_something_else_as_a_vocabulary_is_an_error(clean_registry):
  with pytest.raises(errors.ConfigError, match="a vocabulary is a declaration"):
    clean_registry.register_vocabulary({"size": 10}, name="not_a_declaration")


def test_one_vocabulary_shared_by_two_problems_is_built_once_from_both(clean_registry, tmp_path):
  (tmp_path / "train.tsv").write_text("hello world\thallo welt\n" * 5)
  (tmp_path / "train.trees").write_text("(S (NP (NN parsing)) (VP (VBZ works)))\n" * 5)
  clean_registry.register_vocabulary(
      vocabularies.Subword(size=320, sources=("shared_pairs", "shared_trees")), name="shared")
  for name, base, files in (("shared_pairs", TextPairs, {"train": "train.tsv"}),
                            ("shared_trees", TreeFiles, {"train": "train.trees"})):
    cls = type(name, (base,), {"folder": str(tmp_path), "files": files,
                               "input_vocab_name": "shared", "target_vocab_name": "shared"})
    clean_registry.register_problem(cls, name=name)
  data = str(tmp_path / "data")
  clean_registry.problem("shared_trees").generate_data(data, "")
  path = os.path.join(data, "vocab.shared.subword.320.model")
  built = os.path.getmtime(path)
  clean_registry.problem("shared_pairs").generate_data(data, "")
  assert os.path.getmtime(path) == built  # Not rebuilt by the second problem.
  vocab = clean_registry.problem("shared_pairs").target_vocab(data)
  assert vocab.name == "shared"
  import sentencepiece as spm
  pieces = spm.SentencePieceProcessor(model_proto=vocab.model_proto)
  # Characters of one source each are pieces of their own, not byte fallbacks.
  for char in ("e", "("):
    assert not pieces.is_byte(pieces.piece_to_id(char)) and not pieces.is_unknown(
        pieces.piece_to_id(char)), char


def test_a_source_that_does_not_use_the_vocabulary_is_an_error(clean_registry, tmp_path):
  (tmp_path / "train.tsv").write_text("a\tb\n")
  clean_registry.register_vocabulary(vocabularies.Subword(size=320, sources=("plain_pairs",)),
                                     name="orphan")
  clean_registry.register_problem(type("P", (TextPairs,), {
      "folder": str(tmp_path), "files": {"train": "train.tsv"}}), name="plain_pairs")
  with pytest.raises(errors.ConfigError, match="does not use it"):
    vocabularies.declaration("orphan").build(str(tmp_path / "d"), "", "orphan")


def test_an_unknown_vocabulary_name_suggests_the_declared_ones(clean_registry, tmp_path):
  clean_registry.register_problem(type("P", (TextPairs,), {
      "folder": str(tmp_path), "files": {"train": "train.tsv"},
      "input_vocab_name": "al8", "target_vocab_name": "al8"}), name="typo_pairs")
  with pytest.raises(errors.UnknownNameError, match="Did you mean.*all8"):
    clean_registry.problem("typo_pairs").target_vocab(str(tmp_path))


def test_the_paper_vocabulary_is_a_declaration_over_the_wmt_problems():
  declared = vocabularies.declaration("all8")
  assert declared.sources == ("wmt_ende", "wmt_enfr")
  assert all8_vocab.vocab_filename() == "vocab.all8.subword.8192.model"
