"""Vocabularies: the contract, lossless subword round trips (Python and in-graph), bytes, class
labels, and declared vocabularies shared between problems."""

import os
import random

import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.data import all8_vocab
from t2t_mm.data import vocabularies
from t2t_mm.data.files import TextPairs, TreeFiles

HARD_TEXTS = [
    " \tleading space and tab", "line one\nline two\r\n", "emoji 🙂👩‍🔬 and ZWJ",
    "unseen scripts: Ελληνικά 日本語 עברית हिन्दी",
    "nul\x00byte and zero\u200bwidth",
    "  double  spaces  ", "digits 1234567", "", "Die große Katze .",
]


@pytest.fixture(scope="module")
def subword(tmp_path_factory):
  corpus = ["the big dog sees a cat .", "der große Hund sieht eine Katze .",
            "le grand chien voit un chat ."] * 200
  path = str(tmp_path_factory.mktemp("vocab") / "vocab.test.model")
  return vocabularies.build_subword_vocab(path, corpus, vocab_size=300)


def test_subword_round_trip_is_lossless(subword):
  for text in HARD_TEXTS:
    ids = subword.encode(text)
    assert 1 not in ids and 0 not in ids  # No EOS appended, no PAD.
    assert subword.decode(ids) == text


def test_in_graph_tokenization_matches_python(subword):
  ragged = subword.encode_tf(tf.constant(HARD_TEXTS))
  for text, row in zip(HARD_TEXTS, ragged.to_list()):
    assert row == subword.encode(text)
  single = subword.encode_tf(tf.constant(HARD_TEXTS[0]))
  assert single.dtype == tf.int32 and single.numpy().tolist() == subword.encode(HARD_TEXTS[0])


def test_in_graph_fast_and_exact_paths_equal_sentencepiece_on_random_text(subword):
  # Lines of known characters take the fast tokenizer, the others the exact one; both must
  # give SentencePiece's ids. The pool mixes vocab words with byte-fallback characters,
  # whitespace other than " ", a literal U+2581 and the special pieces' spellings.
  rng = random.Random(0)
  pool = (["the", "big", "dog", "Hund", "große", "chat", " ", "  ", ".", "e", "x"] * 6 +
          ["\t", "\n", "\r", "🙂", "Ä", "漢", "\u2581", "\u3000", "\xa0", "</s>", "<pad>",
           "<unk>", "<0x41>", "Q", "\x00"])
  texts = ["".join(rng.choice(pool) for _ in range(rng.randrange(0, 10))) for _ in range(3000)]
  on_fast = subword.on_fast_path(tf.constant(texts)).numpy()
  assert 0.2 < on_fast.mean() < 0.8  # Both paths are exercised.
  rows = subword.encode_tf(tf.constant(texts)).to_list()
  mismatched = [t for t, row in zip(texts, rows) if row != subword.encode(t)]
  assert not mismatched, mismatched[:5]


def test_in_graph_tokenization_of_a_matrix_names_the_vocab_and_the_shape(subword):
  with pytest.raises(ValueError, match=r"vocab.test.model.*string scalar or vector.*\(2, 1\)"):
    subword.encode_tf(tf.constant([["a"], ["b"]]))


def test_in_graph_tokenization_of_a_bpe_model_matches_python(tmp_path):
  import sentencepiece as spm
  path = str(tmp_path / "vocab.bpe.model")
  spm.SentencePieceTrainer.train(
      sentence_iterator=iter(["the big dog sees a cat ."] * 50), model_prefix=path[:-6],
      vocab_size=300, model_type="bpe", byte_fallback=True, pad_id=0, eos_id=1, unk_id=2,
      bos_id=-1, minloglevel=2)
  v = vocabularies.SubwordVocab(path)
  assert v._fast_path() == (None, None)
  rows = v.encode_tf(tf.constant(HARD_TEXTS + ["the dog"])).to_list()
  assert rows == [v.encode(t) for t in HARD_TEXTS + ["the dog"]]


def test_in_graph_tokenizers_first_built_inside_a_map_serve_later_graphs(subword):
  fresh = vocabularies.SubwordVocab(subword.path)
  first = tf.data.Dataset.from_tensor_slices(["the dog", "\tQ"]).batch(2).map(fresh.encode_tf)
  second = tf.data.Dataset.from_tensor_slices(["big cat"]).map(fresh.tokenizer.tokenize)
  assert next(iter(first)).to_list() == [fresh.encode("the dog"), fresh.encode("\tQ")]
  assert next(iter(second)).numpy().tolist() == fresh.encode("big cat")


def test_decode_stops_at_eos_and_drops_pad(subword):
  ids = subword.encode("the dog")
  assert subword.decode([0] + ids + [1] + subword.encode(" junk") + [0, 0]) == "the dog"


def test_vocab_file_is_reloaded_with_special_ids(subword):
  again = vocabularies.SubwordVocab(subword.path)
  assert again.vocab_size == subword.vocab_size <= 300
  assert again.encode("big dog") == subword.encode("big dog")


def test_missing_vocab_file_names_it(tmp_path):
  with pytest.raises(errors.DataError, match="vocab.missing.model"):
    vocabularies.SubwordVocab(str(tmp_path / "vocab.missing.model"))


def test_byte_vocab_round_trip():
  v = vocabularies.ByteVocab()
  for text in HARD_TEXTS:
    assert v.decode(v.encode(text) + [1, 5]) == text
  assert v.encode("a") == [ord("a") + 2] and v.vocab_size == 258
  assert v.encode_tf(tf.constant("ab")).numpy().tolist() == v.encode("ab")


def test_class_label_vocab():
  v = vocabularies.ClassLabelVocab(["cat", "dog"])
  assert v.encode("dog") == [1] and v.decode([0]) == "cat" and v.vocab_size == 2
  with pytest.raises(errors.UnknownNameError, match="'dgo'.*dog"):
    v.encode("dgo")
  with pytest.raises(errors.DataError):
    v.decode([5])



def test_a_declaration_names_its_sources_and_a_size_that_fits_byte_fallback():
  with pytest.raises(errors.ConfigError, match="name the problems"):
    vocabularies.Subword(size=1000)
  with pytest.raises(errors.ConfigError, match="at least 320"):
    vocabularies.Subword(size=100, sources=("x",))


def test_registering_something_else_as_a_vocabulary_is_an_error(clean_registry):
  with pytest.raises(errors.ConfigError, match="is a .*Vocabulary object or a declaration"):
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


def test_own_is_a_registered_declaration_named_after_the_problem_and_shared_by_its_rev(
    clean_registry, tmp_path):
  (tmp_path / "train.tsv").write_text("hello world\thallo welt\n" * 5)
  clean_registry.register_problem(type("P", (TextPairs,), {
      "folder": str(tmp_path), "files": {"train": "train.tsv"}, "vocab_size": 320}),
      name="own_pairs")
  problem, rev = clean_registry.problem("own_pairs"), clean_registry.problem("own_pairs_rev")
  assert problem.input_vocab_name == "own"  # The declaration, not rewritten per instance.
  assert vocabularies.stored_vocab_names(rev) == ("own_pairs", "own_pairs")
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  assert os.path.isfile(os.path.join(data, "vocab.own_pairs.subword.320.model"))
  for vocab in (problem.input_vocab(data), rev.target_vocab(data)):
    assert isinstance(vocab, vocabularies.SubwordVocab) and vocab.name == "own_pairs"
  assert rev.target_vocab(data).decode(rev.target_vocab(data).encode("hallo")) == "hallo"


def test_a_vocabulary_that_encodes_batches_is_encoded_a_batch_at_a_time_in_the_pipeline(subword):
  from t2t_mm import registry
  from t2t_mm.data.preprocessors import SideConfig
  texts = tf.constant(["the dog", "a big cat ."])
  pre = registry.preprocessor("symbol")(SideConfig("p", 16, vocab=subword))
  parts = pre.prepare_batch(texts)
  assert [pre.from_stored({"ids": i, "len": n}).numpy().tolist()
          for i, n in zip(parts["ids"], parts["len"])] == [
              subword.encode("the dog") + [1], subword.encode("a big cat .") + [1]]
  byte_pre = registry.preprocessor("symbol")(SideConfig("p", 16, vocab=vocabularies.ByteVocab()))
  assert list(byte_pre.prepare_batch(texts)) == ["raw"]
