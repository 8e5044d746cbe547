"""The paper's image problems: ImageNet classification and MS-COCO captioning (TFDS)."""

import itertools
import json
import os
from typing import Iterator, List, Optional

from t2t_mm import registry
from t2t_mm.data.spec import TargetSpace
from t2t_mm.data.vocabularies import ClassLabelVocab
from t2t_mm.data.tfds_problem import TfdsProblem, resize_and_encode
from t2t_mm.data import shards
from t2t_mm.utils import atomic, fs


@registry.register_problem
class Imagenet(TfdsProblem):
  """ImageNet 2012 (1000 classes); images resized to `image_size` squared at datagen.

  Args:
    image_size: side of the stored square images.
    download: unused for ImageNet (its files must be fetched by hand).
  """

  tfds_name = "imagenet2012"
  split_map = {"train": "train", "dev": "validation", "test": None}  # No labelled test set.
  input_modality, target_modality = "image", "class_label"
  input_vocab_name, target_vocab_name = None, "labels"
  target_space = TargetSpace.TO_LABEL
  metrics = ("accuracy", "top5")
  manual_files = ("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar")
  how_to_get = ("Download ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar from "
                "https://image-net.org (free account, non-commercial terms).")
  examples_per_shard = 1000

  def __init__(self, was_reversed: bool = False, download: bool = False,
               image_size: int = 224):
    super().__init__(was_reversed=was_reversed, download=download)
    self.image_size = (image_size, image_size)

  def config(self):
    return {"image_size": self.image_size[0]}

  def build_vocabs(self, data_dir: str, tmp_dir: str) -> None:
    names = self.source(tmp_dir).builder.info.features["label"].names
    ClassLabelVocab(names).save(os.path.join(data_dir, f"{self.data_name}.labels.txt"))

  def convert(self, ex: dict) -> Iterator[dict]:
    yield {"inputs": resize_and_encode(ex["image"], self.image_size[0]),
           "targets": int(ex["label"])}


@registry.register_problem
class CocoCaptions(TfdsProblem):
  """MS-COCO 2014 captioning (Karpathy splits).

  Train has one example per (image, caption) pair; dev and test one per image, its first
  caption the target, and every caption of each image, in example order, is saved as
  data_dir/coco_captions.<split>.references.jsonl (one JSON list per line): mm-eval scores
  BLEU and CIDEr-D against all of them, as ImageCaptions does.

  Args:
    image_size: side of the stored square images.
    download: download and prepare coco_captions if missing (needs internet, ~38 GB).
  """

  tfds_name = "coco_captions"
  split_map = {"train": "train", "dev": "val", "test": "test"}
  input_modality, input_vocab_name = "image", None
  target_space = TargetSpace.TO_ENGLISH
  metrics = ("token_accuracy", "bleu", "cider_d")
  how_to_get = "MS-COCO 2014 comes from cocodataset.org through TFDS (about 38 GB)."
  examples_per_shard = 1000

  def __init__(self, was_reversed: bool = False, download: bool = False,
               image_size: int = 224):
    super().__init__(was_reversed=was_reversed, download=download)
    self.image_size = (image_size, image_size)

  def config(self):
    # "eval_examples": shards of dev/test written one example per caption are remade.
    return {**super().config(), "image_size": self.image_size[0], "eval_examples": "per_image"}

  def convert(self, ex: dict) -> Iterator[dict]:
    image = resize_and_encode(ex["image"], self.image_size[0])
    for caption in _captions(ex):
      yield {"inputs": image, "targets": caption}

  def examples(self, split: str, tmp_dir: str, start: int, stop: int) -> Iterator[dict]:
    """Every caption of each image on train; the first one elsewhere."""
    for ex in self.source(tmp_dir).examples(self.split_map[split], start, stop):
      converted = self.convert(ex)
      yield from (converted if split == "train" else itertools.islice(converted, 1))

  def references_path(self, data_dir: str, split: str) -> str:
    return os.path.join(data_dir, f"{self.data_name}.{split}.references.jsonl")

  def plan(self, data_dir: str, tmp_dir: str, max_cases: Optional[int] = None):
    tasks = super().plan(data_dir, tmp_dir, max_cases)
    for split in self.splits:
      split_tasks = [t for t in tasks if t.split == split]
      path = self.references_path(data_dir, split)
      if split == "train" or (fs.exists(path) and all(shards.is_finished(shards.shard_path(
          data_dir, t.name, t.split, t.index, t.num_shards), t.key) for t in split_tasks)):
        continue  # Written with these shards: a read of the split (images decoded) saved.
      n = split_tasks[0].num_examples  # Images of the split (at most max_cases).
      refs = [_captions(ex) for ex in self.source(tmp_dir).examples(self.split_map[split], 0, n)]
      atomic.atomic_write_text(self.references_path(data_dir, split), "".join(
          json.dumps(r, ensure_ascii=False) + "\n" for r in refs))
    return tasks


def _captions(ex: dict) -> List[str]:
  """The captions of one TFDS coco_captions example, as text."""
  return [c.decode("utf-8").strip() for c in ex["captions"]["text"]]
