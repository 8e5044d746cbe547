import gzip

import pytest

from t2t_mm import errors
from t2t_mm.config.hparams import HParams
from t2t_mm.data.files import TextPairs
from t2t_mm.data.spec import TargetSpace

HP = HParams(batch_size=4, max_input_length=32, max_target_length=32)
EN = ["a small house", "the red car", "two dogs run", "a cat sleeps", "the sun is up"]
DE = ["ein kleines Haus", "das rote Auto", "zwei Hunde laufen", "eine Katze schläft",
      "die Sonne ist oben"]


def _register(clean_registry, folder, files, name, **attrs):
  cls = type("Pairs", (TextPairs,), dict(folder=str(folder), files=files, vocab_size=400,
                                         target_space=TargetSpace.TO_GERMAN,
                                         reversed_target_space=TargetSpace.TO_ENGLISH, **attrs))
  clean_registry.register_problem(cls, name=name)  # Each test its own name (gin keeps names).
  return clean_registry.problem(name)


def _texts(problem, data_dir, split):
  vocab = problem.target_vocab(data_dir)
  out = []
  for batch in problem.dataset(split, data_dir, HP, shuffle=False):
    for ids in batch["targets"].numpy():
      out.append(vocab.decode([int(i) for i in ids if i > 1]))
  return out


def test_gzipped_aligned_files_and_a_tsv_make_a_problem_and_its_rev(clean_registry, tmp_path):
  raw = tmp_path / "raw"
  raw.mkdir()
  with gzip.open(raw / "train.en.gz", "wt", encoding="utf-8") as f:
    f.write("\n".join(EN * 4) + "\n")
  with gzip.open(raw / "train.de.gz", "wt", encoding="utf-8") as f:
    f.write("\n".join(DE * 4) + "\n")
  (raw / "dev.tsv").write_text("".join(f"{e}\t{d}\n" for e, d in zip(EN, DE)), encoding="utf-8")
  problem = _register(clean_registry, raw, {"train": ("train.en.gz", "train.de.gz"),
                                            "dev": "dev.tsv"}, "my_pairs")
  data = str(tmp_path / "data")
  problem.generate_data(data, str(tmp_path / "unused"))
  assert problem.splits == ("train", "dev") and problem.num_examples("train", data) == 20
  assert sorted(_texts(problem, data, "dev")) == sorted(DE)
  rev = clean_registry.problem("my_pairs_rev")
  assert rev.spec(data).target_space == TargetSpace.TO_ENGLISH
  assert sorted(_texts(rev, data, "dev")) == sorted(EN)
  # The own vocabulary is named after the problem, shared by both sides and the _rev.
  assert problem.spec(data).input_vocab == problem.spec(data).target_vocab == "my_pairs"


def test_one_tsv_with_a_split_column(clean_registry, tmp_path):
  lines = [f"{e}\t{d}\t{'validation' if i == 0 else 'train'}\n"
           for i, (e, d) in enumerate(zip(EN, DE))]
  (tmp_path / "all.tsv").write_text("".join(lines), encoding="utf-8")
  problem = _register(clean_registry, tmp_path, {"train": "all.tsv", "dev": "all.tsv"},
                      "pairs_split_column", split_column=2, split_values={"dev": "validation"})
  assert problem.index("dev", "") == [(EN[0], DE[0])]
  assert problem.split_size("train", "") == 4


def test_a_malformed_line_names_file_and_line(clean_registry, tmp_path):
  (tmp_path / "train.tsv").write_text(f"{EN[0]}\t{DE[0]}\n\n{EN[1]} {DE[1]}\n")
  problem = _register(clean_registry, tmp_path, {"train": "train.tsv"}, "pairs_malformed")
  with pytest.raises(errors.DataError, match=r"train.tsv:3: expected 2 tab-separated fields"):
    problem.split_size("train", "")


def test_unaligned_files_and_a_missing_file_are_errors_naming_them(clean_registry, tmp_path):
  (tmp_path / "train.en").write_text("a\nb\n")
  (tmp_path / "train.de").write_text("a\n")
  problem = _register(clean_registry, tmp_path, {"train": ("train.en", "train.de"),
                                                 "dev": ("dev.en", "dev.de")}, "pairs_unaligned")
  with pytest.raises(errors.DataError, match=r"not aligned: 2 and 1 lines"):
    problem.split_size("train", "")
  with pytest.raises(errors.DataError, match=r"no file matches .*dev\.en \(its dev split\)"
                     r"\. Expected: per split, two aligned line files"):
    problem.check_raw_data("")


def test_a_problem_needs_a_folder_and_a_train_split(clean_registry, tmp_path):
  with pytest.raises(errors.ConfigError, match="train required"):
    _register(clean_registry, tmp_path, {"dev": "dev.tsv"}, "pairs_no_train")
