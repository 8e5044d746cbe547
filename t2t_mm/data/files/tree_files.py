"""TreeFiles: constituency parsing from files of bracketed trees."""

from typing import List

from t2t_mm.data import ptb
from t2t_mm.data.files import base
from t2t_mm.data.spec import TargetSpace


class TreeFiles(base.FileProblem):
  """Sentence -> linearized tree, from files of bracketed (Penn Treebank style) trees, one or
  many trees per file, laid out anyhow.

  Trees are cleaned and linearized as the paper does (t2t_mm/data/ptb.py): words in, the tree
  with POS tags for words and labelled closing brackets out.

  Args:
    was_reversed: tree -> sentence instead.

  Example:
    >>> @registry.register_problem
    ... class MyTreebank(TreeFiles):
    ...   folder = "~/data/treebank"
    ...   files = {"train": "train/*.mrg", "dev": "dev.trees", "test": "test.trees"}
  """

  reversed_target_space, target_space = TargetSpace.TO_ENGLISH, TargetSpace.TO_PARSE_TREE
  metrics = ("token_accuracy", "exact_match", "bracket_f1")
  layout = ("per split, a pattern of files of bracketed trees (one or many per file), e.g. "
            "files={'train': 'wsj/0[2-9]/*.mrg', 'dev': 'dev.trees'}.")

  def index(self, split: str, tmp_dir: str) -> List[ptb.Tree]:
    def read(tmp_dir, split):
      return [tree for pattern in self.patterns(split)
              for path in self.paths(tmp_dir, split, pattern) for tree in ptb.read_trees(path)]
    return self.cached(split, tmp_dir, read)

  def example(self, item) -> dict:
    return {"inputs": ptb.words(item), "targets": ptb.linearize(item)}
