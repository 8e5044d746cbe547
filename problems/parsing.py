"""The paper's parsing problem: WSJ / Penn Treebank constituency parsing, from tree files.

Inputs are the sentence's words; targets the tree linearized as in Vinyals et al. 2015
(t2t_mm/data/ptb.py). The tree files are licensed from the LDC (Treebank-3, LDC99T42).
"""

import os
from typing import Dict, Iterator, List

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data import ptb
from t2t_mm.data.spec import TargetSpace
from t2t_mm.data.tfds_problem import All8Problem
from t2t_mm.utils import fs

# Standard WSJ sections: 02-21 train, 22 dev, 23 test.
SECTIONS = {"train": [f"{s:02d}" for s in range(2, 22)], "dev": ["22"], "test": ["23"]}


@registry.register_problem
class WsjParsing(All8Problem):
  """Either {tmp_dir}/wsj_parsing/{train,dev,test}.trees (bracketed trees, any layout), or the
  LDC layout {tmp_dir}/treebank_3/parsed/mrg/wsj/NN/*.mrg split by the standard sections."""

  reversed_target_space, target_space = TargetSpace.TO_ENGLISH, TargetSpace.TO_PARSE_TREE
  metrics = ("token_accuracy", "exact_match", "bracket_f1")

  def __init__(self, was_reversed: bool = False, download: bool = False):
    super().__init__(was_reversed=was_reversed, download=download)
    self._trees: Dict[str, List] = {}

  def _files(self, tmp_dir: str, split: str) -> List[str]:
    flat = os.path.join(tmp_dir, "wsj_parsing", f"{split}.trees")
    if fs.isfile(flat):
      return [flat]
    root = os.path.join(tmp_dir, "treebank_3", "parsed", "mrg", "wsj")
    return sorted(f for s in SECTIONS[split] for f in fs.glob(os.path.join(root, s, "*.mrg")))

  def check_raw_data(self, tmp_dir: str) -> None:
    missing = [s for s in self.splits if not self._files(tmp_dir, s)]
    if missing:
      raise errors.DataError(
          f"problem '{self.base_name}' needs Penn Treebank WSJ trees (Treebank-3, LDC99T42, "
          f"licensed from the LDC) for splits {', '.join(missing)}. Put them in "
          f"{os.path.join(tmp_dir, 'wsj_parsing')}/train.trees, dev.trees and test.trees "
          "(bracketed trees), or unpack the LDC release so that "
          f"{os.path.join(tmp_dir, 'treebank_3/parsed/mrg/wsj')}/02..23/*.mrg exist "
          "(sections 02-21 train, 22 dev, 23 test).")

  def _split_trees(self, tmp_dir: str, split: str):
    if split not in self._trees:
      self._trees[split] = [t for f in self._files(tmp_dir, split) for t in ptb.read_trees(f)]
    return self._trees[split]

  def split_size(self, split: str, tmp_dir: str) -> int:
    return len(self._split_trees(tmp_dir, split))

  def examples(self, split: str, tmp_dir: str, start: int, stop: int) -> Iterator[dict]:
    for tree in self._split_trees(tmp_dir, split)[start:stop]:
      yield {"inputs": ptb.words(tree), "targets": ptb.linearize(tree)}


registry.register_suite("all8", [
    "wmt_ende", "wmt_ende_rev", "wmt_enfr", "wmt_enfr_rev", "imagenet", "coco_captions",
    "wsj_speech", "wsj_parsing"])
