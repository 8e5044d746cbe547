"""The paper's image problems: ImageNet classification and MS-COCO captioning (TFDS)."""

import os
from typing import Iterator

from t2t_mm import registry
from t2t_mm.data.spec import TargetSpace
from t2t_mm.data.text_encoders import ClassLabelVocab
from t2t_mm.data.tfds_problem import TfdsProblem, resize_and_encode


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
  """MS-COCO 2014 captioning (Karpathy splits): one example per (image, caption) pair.

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
    return {**super().config(), "image_size": self.image_size[0]}

  def convert(self, ex: dict) -> Iterator[dict]:
    image = resize_and_encode(ex["image"], self.image_size[0])
    for caption in ex["captions"]["text"]:
      yield {"inputs": image, "targets": caption.decode("utf-8").strip()}
