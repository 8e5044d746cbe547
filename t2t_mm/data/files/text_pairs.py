"""TextPairs: a translation-style problem from aligned line files or a TSV."""

from typing import List, Tuple

from t2t_mm import errors
from t2t_mm.data.files import base
from t2t_mm.data.spec import TargetSpace


class TextPairs(base.FileProblem):
  """Text -> text from, per split, two aligned line files or one TSV `source<TAB>target`.

  Both sides share one subword vocabulary (the problem's own, unless named). `X_rev` (target
  -> source) comes free. Set `target_space` to the output language (e.g. TO_GERMAN) and
  `reversed_target_space` to the input's, so the reversed problem has its command token.

  Args:
    was_reversed: swap inputs and targets.

  Example:
    >>> @registry.register_problem
    ... class Multi30kEnde(TextPairs):
    ...   folder = "~/data/multi30k"
    ...   files = {"train": ("train.en.gz", "train.de.gz"), "dev": ("val.en", "val.de"),
    ...            "test": "test.tsv"}
    ...   target_space, reversed_target_space = TargetSpace.TO_GERMAN, TargetSpace.TO_ENGLISH
  """

  metrics = ("token_accuracy", "bleu", "chrf")
  target_space = TargetSpace.GENERIC
  manifest_fields = ("source", "target")
  layout = ("per split, two aligned line files, one sentence per line (plain or .gz), e.g. "
            "files={'train': ('train.en', 'train.de')}, or one TSV of `source<TAB>target` "
            "lines, e.g. files={'train': 'train.tsv'}.")

  def index(self, split: str, tmp_dir: str) -> List[Tuple[str, str]]:
    return self.cached(split, tmp_dir, self._read)

  def _read(self, tmp_dir: str, split: str) -> List[Tuple[str, str]]:
    patterns = self.patterns(split)
    if len(patterns) == 1:
      return [fields for fields, _ in self.manifest_rows(tmp_dir, split, 2)]
    if len(patterns) != 2 or self.split_column is not None:
      raise errors.ConfigError(
          f"Problem '{self.base_name}': files[{split!r}] = {self.files[split]!r}. Expected: "
          f"{self.layout}")
    sides = [[line for path in self.paths(tmp_dir, split, p) for line in base.read_lines(path)]
             for p in patterns]
    if len(sides[0]) != len(sides[1]):
      raise errors.DataError(
          f"Problem '{self.base_name}': the {split} files {patterns[0]} and {patterns[1]} in "
          f"{self.root(tmp_dir)} are not aligned: {len(sides[0])} and {len(sides[1])} lines.")
    return list(zip(*sides))

  def example(self, item) -> dict:
    return {"inputs": item[0], "targets": item[1]}
