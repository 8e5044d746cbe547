"""A run's own copy of its vocabularies (RUN/vocab/), so that a run folder travels alone.

    files = copy_into_run(output_dir, problems, data_dir)   # {name: sha256}, in problems.json
    folder = vocab_dir(output_dir, saved)                   # where decoders read vocabularies

The trainer copies every vocabulary file its problems read (a SentencePiece model, a list of
class names: what a decoder needs, not the data) from data_dir into RUN/vocab/ under the same
names, and problems.json records each with its sha256 ("vocab_files"). A Problem finds its
vocabularies in a folder by file name, so mm-decoder, mm-export and mm-eval hand it RUN/vocab
where the trainer handed it data_dir. A run made before RUN/vocab existed (no "vocab_files")
still reads them from its recorded data_dir.
"""

import hashlib
import os
from typing import Dict, Iterable, List, Mapping

from t2t_mm import errors
from t2t_mm.utils import atomic, fs

VOCAB_DIR = "vocab"


def source_files(problems: Iterable, data_dir: str) -> Dict[str, str]:
  """{name relative to data_dir: path} of the vocabulary files `problems` read from data_dir.

  A vocabulary read from a file has a `path` (SubwordVocab, ClassLabelVocab.from_file); one
  without (bytes, labels in code) or read from outside data_dir needs no copy.
  """
  root = fs.abspath(data_dir)
  files = {}
  for problem in problems:
    for vocab in (problem.input_vocab(data_dir), problem.target_vocab(data_dir)):
      path = getattr(vocab, "path", None)
      if not path:
        continue
      rel = os.path.relpath(fs.abspath(path), root)
      if rel != os.pardir and not rel.startswith(os.pardir + os.sep):
        files[rel] = path
  return files


def digest(path: str) -> str:
  sha = hashlib.sha256()
  with fs.open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      sha.update(chunk)
  return sha.hexdigest()


def copy_into_run(output_dir: str, problems: Iterable, data_dir: str) -> Dict[str, str]:
  """Copies the vocabulary files of `problems` into output_dir/vocab (atomically; an equal copy
  is kept); returns {name: sha256} of each."""
  out = {}
  for rel, path in sorted(source_files(problems, data_dir).items()):
    target = os.path.join(output_dir, VOCAB_DIR, rel)
    out[rel] = digest(path)
    if fs.isfile(target) and digest(target) == out[rel]:
      continue
    with atomic.atomic_path(target) as tmp:
      fs.copy(path, tmp)
  return out


def vocab_dir(output_dir: str, saved: Mapping) -> str:
  """The folder a run's vocabularies are read from: RUN/vocab, or for a run made before the
  trainer copied them, its recorded data_dir. `saved`: its problems.json."""
  if "vocab_files" in saved:
    return os.path.join(output_dir, VOCAB_DIR)
  return saved["data_dir"]


def check_copies(output_dir: str, saved: Mapping) -> None:
  """DataError naming the first vocabulary copy of the run that is missing or changed."""
  for rel, sha in sorted((saved.get("vocab_files") or {}).items()):
    path = os.path.join(output_dir, VOCAB_DIR, rel)
    if not fs.isfile(path):
      raise errors.DataError(
          f"{path} is missing: it is the run's copy of a vocabulary it was trained with "
          f"(listed in {os.path.join(output_dir, 'problems.json')}); copy {rel} back from the "
          "run's data folder.")
    if digest(path) != sha:
      raise errors.DataError(
          f"{path} is not the vocabulary the run was trained with (its sha256 differs from "
          f"the one in {os.path.join(output_dir, 'problems.json')}); restore {rel} from the "
          "run's data folder.")


def differences(output_dir: str, saved: Mapping, problems: Iterable, data_dir: str) -> List[str]:
  """One line per vocabulary file of data_dir that is not the run's copy of it: a resumed
  trainer or an evaluation on that data would read other token ids than the model learnt."""
  recorded = saved.get("vocab_files") or {}
  out = []
  for rel, path in sorted(source_files(problems, data_dir).items()):
    if rel in recorded and digest(path) != recorded[rel]:
      out.append(f"vocabulary {rel}: {path} differs from the run's copy "
                 f"{os.path.join(output_dir, VOCAB_DIR, rel)}")
  return out
