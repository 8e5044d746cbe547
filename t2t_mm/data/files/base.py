"""FileProblem: a problem read from your own files, declared with a few class attributes.

    @registry.register_problem
    class Multi30kEnde(TextPairs):
      folder = "~/data/multi30k"          # absolute, or relative to --tmp_dir
      files = {"train": ("train.en.gz", "train.de.gz"), "dev": ("val.en", "val.de")}

`files` maps each split to a glob pattern relative to `folder` (a tuple of patterns for the
aligned line files of text pairs); the matches are read in sorted order, and files ending in
.gz are read decompressed. A split left out of `files` does not exist ("test" may be).

Manifests (`path<TAB>value` lines) may instead hold every split in one file with a split
column: `split_column = 2` keeps the rows whose third field is the split's name
(`split_values` renames them, e.g. {"dev": "validation"}). A manifest with other columns names
them all, in order, with `columns`: the class's own fields (`manifest_fields`, e.g. "audio" and
"text" for SpeechClips), "split" for the split column, any other name for a column that is
skipped: columns = ("audio", "text", "speaker", "split"). Paths in a manifest are relative to
the manifest's folder. A malformed line is an error naming the file and line; a split whose
pattern matches nothing, one naming the pattern and the expected layout.

Text sides default to the problem's own subword vocabulary ("own": `vocab_size` pieces, built
by mm-datagen from its train split); name a declared vocabulary to share one between problems
(t2t_mm/data/vocabularies.py).
"""

import gzip
import io
import os
from typing import Dict, Iterator, List, Optional, Tuple, Union

from t2t_mm import errors
from t2t_mm.data.problem import MODES, Problem
from t2t_mm.utils import fs

OWN = "own"  # As a vocabulary name: this problem's own subword vocabulary (vocabularies.Own).

Row = Tuple[Tuple[str, ...], str]  # (fields, "file:line")


class FileProblem(Problem):
  """Base class of the file-based problems (TextPairs, ImageClasses, ImageCaptions,
  SpeechClips, TreeFiles); see the module docstring for the attributes.

  Args:
    was_reversed: swap inputs and targets (text-to-text only).
  """

  folder: str = ""
  files: Dict[str, Union[str, Tuple[str, ...]]] = {}
  split_column: Optional[int] = None
  split_values: Dict[str, str] = {}
  columns: Tuple[str, ...] = ()  # Every column of a manifest, named (module docstring).
  manifest_fields: Tuple[str, ...] = ()  # The columns the class reads, in the order it reads.
  vocab_size: int = 8000  # Of the own vocabulary.
  input_vocab_name: Optional[str] = OWN
  target_vocab_name: Optional[str] = OWN
  layout: str = ""  # The expected files, in words (for messages).

  def __init__(self, was_reversed: bool = False):
    super().__init__(was_reversed=was_reversed)
    unknown = sorted(set(self.files) - set(MODES))
    if unknown or "train" not in self.files or not self.folder:
      raise errors.ConfigError(
          f"Problem '{self.base_name}': set `folder` (where the files are) and `files`, a dict "
          f"from the splits {', '.join(MODES)} (train required) to file patterns; got folder="
          f"{self.folder!r}, files={self.files!r}.")
    self.splits = tuple(s for s in MODES if s in self.files)
    self._check_columns()
    self._cache: Dict[str, list] = {}

  # --- Files ----------------------------------------------------------------------------------

  def root(self, tmp_dir: str) -> str:
    """The folder of the files: `folder`, or tmp_dir/folder when it is relative."""
    return os.path.join(tmp_dir, os.path.expanduser(self.folder))

  def patterns(self, split: str) -> Tuple[str, ...]:
    value = self.files[split]
    return (value,) if isinstance(value, str) else tuple(value)

  def paths(self, tmp_dir: str, split: str, pattern: str) -> List[str]:
    """The files matching `pattern` (sorted); DataError naming it and the layout if none."""
    full = os.path.join(self.root(tmp_dir), pattern)
    found = sorted(fs.glob(full))
    if not found:
      raise errors.DataError(
          f"Problem '{self.base_name}': no file matches {full} (its {split} split). Expected: "
          f"{self.layout} Set `folder` and `files` of {type(self).__name__} to where they are.")
    return found

  def check_raw_data(self, tmp_dir: str) -> None:
    for split in self.splits:
      for pattern in self.patterns(split):
        self.paths(tmp_dir, split, pattern)

  def cached(self, split: str, tmp_dir: str, make) -> list:
    """make(tmp_dir, split) once per split (the examples' index, read once per process)."""
    if split not in self._cache:
      self._cache[split] = make(tmp_dir, split)
    return self._cache[split]

  def _check_columns(self) -> None:
    """ConfigError unless `columns` names each of the class's fields once, and agrees with
    `split_column`."""
    if not self.columns:
      return
    columns, fields = tuple(self.columns), tuple(self.manifest_fields)
    missing = [f for f in fields if f not in columns]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    split_at = columns.index("split") if "split" in columns else None
    if missing or repeated or (self.split_column is not None
                               and self.split_column != split_at):
      raise errors.ConfigError(
          f"Problem '{self.base_name}': columns={columns!r} must name each column of its "
          f"manifests once: its fields {', '.join(fields)}, \"split\" for the split column"
          f"{f' (split_column={self.split_column})' if self.split_column is not None else ''}, "
          f"any other name for a column to skip" + (f"; missing: {', '.join(missing)}"
                                                     if missing else "") + ".")

  def manifest_columns(self, num_fields: int) -> Tuple[str, ...]:
    """The name of every column of a manifest of this problem, whose rows give `num_fields`
    fields: `columns` when set, else its fields with "split" at `split_column`."""
    if self.columns:
      return tuple(self.columns)
    names = list(self.manifest_fields or [f"field{i + 1}" for i in range(num_fields)])
    if self.split_column is not None:
      names.insert(self.split_column, "split")
    return tuple(names)

  def manifest_rows(self, tmp_dir: str, split: str, num_fields: int,
                    patterns: Optional[Tuple[str, ...]] = None) -> List[Row]:
    """The rows of the split's manifest files (or of `patterns`): `num_fields` fields each
    (manifest_fields, in order, read from their named columns), with "file:line" for
    messages; rows of other splits (the split column) are left out."""
    columns = self.manifest_columns(num_fields)
    wanted = [columns.index(f) for f in self.manifest_fields] if self.manifest_fields else [
        i for i, c in enumerate(columns) if c != "split"]
    split_at = columns.index("split") if "split" in columns else None
    rows = []
    for pattern in patterns or self.patterns(split):
      for path in self.paths(tmp_dir, split, pattern):
        for number, line in enumerate(read_lines(path), 1):
          if not line.strip():
            continue
          fields = line.split("\t")
          where = f"{path}:{number}"
          if len(fields) != len(columns):
            raise self.malformed(where, line, columns)
          if split_at is not None and fields[split_at] != self.split_values.get(split, split):
            continue
          rows.append((tuple(fields[i] for i in wanted), where))
    return rows

  def malformed(self, where: str, line: str, columns: Tuple[str, ...]) -> errors.DataError:
    example = ", ".join(repr(c) for c in (*columns, "other"))
    return errors.DataError(
        f"{where}: expected {len(columns)} tab-separated fields ({', '.join(columns)}), got "
        f"{len(line.split(chr(9)))}: {line[:120]!r}. A manifest with more columns names them "
        f"all with the problem's `columns`, e.g. columns = ({example}). Expected: "
        f"{self.layout}")

  def examples(self, split: str, tmp_dir: str, start: int, stop: int) -> Iterator[dict]:
    for item in self.index(split, tmp_dir)[start:stop]:
      yield self.example(item)

  def split_size(self, split: str, tmp_dir: str) -> int:
    return len(self.index(split, tmp_dir))

  def index(self, split: str, tmp_dir: str) -> list:
    """What one example is made from, for every example of the split (cached)."""
    raise NotImplementedError

  def example(self, item) -> dict:
    """One item of index() -> {"inputs": raw, "targets": raw} (data/problem.py)."""
    raise NotImplementedError


def read_lines(path: str) -> Iterator[str]:
  """The lines of a UTF-8 text file (gzip-compressed if it ends in .gz), without newlines."""
  try:
    with fs.open(path, "rb") as raw:
      binary = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw
      with io.TextIOWrapper(binary, encoding="utf-8", newline="") as f:
        for line in f:
          yield line.rstrip("\r\n")
  except UnicodeDecodeError as e:
    raise errors.DataError(f"{path}: not UTF-8 text ({e}).") from e
  except (OSError, EOFError) as e:  # gzip raises these on damaged files.
    raise errors.DataError(f"{path}: cannot be read ({e}).") from e


def relative_to(where: str, path: str) -> str:
  """A path listed at `where` ("manifest:line"), relative to the manifest's folder unless
  absolute."""
  manifest = where.rsplit(":", 1)[0]
  return os.path.join(os.path.dirname(manifest), os.path.expanduser(path))


def check_file(path: str, where: str) -> str:
  if not fs.isfile(path):
    raise errors.DataError(f"{where}: lists {path}, which does not exist.")
  return path
