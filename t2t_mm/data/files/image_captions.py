"""ImageCaptions: image captioning from a manifest with one or several captions per image."""

import json
import os
from typing import List, Optional, Tuple

from t2t_mm.data.files import base
from t2t_mm.data.files.image_classes import read_image_file
from t2t_mm.data.spec import TargetSpace
from t2t_mm.utils import atomic


class ImageCaptions(base.FileProblem):
  """Image -> caption, from a manifest `image_path<TAB>caption` per split; an image may have
  several lines (several captions).

  Train has one example per (image, caption); dev and test one per image, its first caption
  the target, and every caption of each image, in example order, is saved as
  data_dir/<problem>.<split>.references.jsonl (one JSON list per line) for evaluation against
  all references.

  Args:
    was_reversed: unused (image problems have no _rev).

  Example:
    >>> @registry.register_problem
    ... class Flickr8k(ImageCaptions):
    ...   folder, image_size = "~/data/flickr8k", (128, 128)
    ...   files = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
  """

  input_modality, input_vocab_name = "image", None
  target_space = TargetSpace.TO_ENGLISH
  metrics = ("token_accuracy", "bleu", "cider_d")
  image_size = (224, 224)
  examples_per_shard = 5000
  manifest_fields = ("image", "caption")
  layout = ("per split, a manifest of `image_path<TAB>caption` lines (paths relative to it; "
            "several lines per image for several captions), e.g. files={'train': "
            "'train.tsv'}.")

  def grouped(self, split: str, tmp_dir: str) -> List[Tuple[str, List[str], str]]:
    """(image path, its captions, where) per image, in first-appearance order."""
    def read(tmp_dir, split):
      groups = {}
      for (path, caption), where in self.manifest_rows(tmp_dir, split, 2):
        full = base.relative_to(where, path)
        groups.setdefault(full, ([], where))[0].append(caption.strip())
      return [(path, captions, where) for path, (captions, where) in groups.items()]
    return self.cached("grouped-" + split, tmp_dir, lambda t, _: read(t, split))

  def index(self, split: str, tmp_dir: str) -> List[Tuple[str, str, str]]:
    """(image path, caption, where): every caption on train, the first one elsewhere."""
    groups = self.grouped(split, tmp_dir)
    if split == "train":
      return [(path, c, where) for path, captions, where in groups for c in captions]
    return [(path, captions[0], where) for path, captions, where in groups]

  def references_path(self, data_dir: str, split: str) -> str:
    return os.path.join(data_dir, f"{self.data_name}.{split}.references.jsonl")

  def plan(self, data_dir: str, tmp_dir: str, max_cases: Optional[int] = None):
    tasks = super().plan(data_dir, tmp_dir, max_cases)
    for split in self.splits:
      if split == "train":
        continue
      groups = self.grouped(split, tmp_dir)[:max_cases]
      atomic.atomic_write_text(self.references_path(data_dir, split), "".join(
          json.dumps(captions, ensure_ascii=False) + "\n" for _, captions, _ in groups))
    return tasks

  def example(self, item) -> dict:
    path, caption, where = item
    return {"inputs": read_image_file(path, where), "targets": caption}
