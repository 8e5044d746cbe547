"""ImageClasses: image classification from a manifest or from one folder per class."""

import os
from typing import List, Tuple

from t2t_mm import errors
from t2t_mm.data import vocabularies
from t2t_mm.data.files import base
from t2t_mm.data.spec import TargetSpace
from t2t_mm.utils import fs

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
# The first bytes of the formats tf.io.decode_image reads.
_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")


def read_image_file(path: str, where: str) -> bytes:
  """The bytes of a PNG / JPEG / GIF / BMP file (decoded in tf.data); DataError otherwise."""
  base.check_file(path, where)
  with fs.open(path, "rb") as f:
    data = f.read()
  if not data.startswith(_MAGIC):
    raise errors.DataError(f"{where}: {path} is not a PNG, JPEG, GIF or BMP image.")
  return data


class ImageClasses(base.FileProblem):
  """Image -> class label, from a manifest `path<TAB>label` per split, or from a folder per
  split holding one subfolder per class (a pattern ending in "/", e.g. "train/").

  The classes are `class_labels` if set (that order), else the sorted labels of the train
  split, saved as data_dir/<problem>.labels.txt. Images are stored as their files' bytes and
  resized to `image_size` when read.

  Args:
    was_reversed: unused (image problems have no _rev).

  Example:
    >>> @registry.register_problem
    ... class Digits(ImageClasses):
    ...   folder, image_size = "~/data/digits", (28, 28)
    ...   files = {"train": "train/", "dev": "dev.tsv"}
  """

  input_modality, target_modality = "image", "class_label"
  input_vocab_name, target_vocab_name = None, "labels"
  target_space = TargetSpace.TO_LABEL
  metrics = ("accuracy", "top5")
  image_size = (224, 224)
  examples_per_shard = 5000
  manifest_fields = ("image", "label")
  layout = ("per split, a manifest of `image_path<TAB>label` lines (paths relative to it), "
            "e.g. files={'train': 'train.tsv'}, or a folder with one subfolder of images per "
            "class, e.g. files={'train': 'train/'} for train/cat/1.png, train/dog/2.jpg.")

  def index(self, split: str, tmp_dir: str) -> List[Tuple[str, str, str]]:
    """(image path, label name, where) of every example."""
    return self.cached(split, tmp_dir, self._read)

  def _read(self, tmp_dir: str, split: str) -> List[Tuple[str, str, str]]:
    items = []
    for pattern in self.patterns(split):
      if pattern.endswith("/"):
        for folder in self.paths(tmp_dir, split, pattern):
          items += _class_folder_items(folder)
      else:
        items += [(base.relative_to(where, path), label.strip(), where)
                  for (path, label), where in self.manifest_rows(tmp_dir, split, 2, (pattern,))]
    return items

  def labels(self, tmp_dir: str) -> List[str]:
    if self.class_labels:
      return list(self.class_labels)
    return sorted({label for _, label, _ in self.index("train", tmp_dir)})

  def build_vocabs(self, data_dir: str, tmp_dir: str) -> None:
    if not self.class_labels:
      fs.makedirs(data_dir)
      vocabularies.ClassLabelVocab(self.labels(tmp_dir)).save(
          os.path.join(data_dir, f"{self.data_name}.labels.txt"))

  def examples(self, split: str, tmp_dir: str, start: int, stop: int):
    ids = {label: i for i, label in enumerate(self.labels(tmp_dir))}
    for path, label, where in self.index(split, tmp_dir)[start:stop]:
      if label not in ids:
        raise errors.DataError(f"{where}: the label {label!r} is not a class of the train "
                               f"split ({len(ids)} classes).{errors.did_you_mean(label, ids)}")
      yield {"inputs": read_image_file(path, where), "targets": ids[label]}


def _class_folder_items(folder: str) -> List[Tuple[str, str, str]]:
  items = []
  for label in sorted(fs.listdir(folder)):
    sub = os.path.join(folder, label)
    if not fs.isdir(sub):
      continue
    for name in sorted(fs.listdir(sub)):
      if name.lower().endswith(IMAGE_EXTENSIONS):
        path = os.path.join(sub, name)
        items.append((path, label, path))
  if not items:
    raise errors.DataError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) in class "
                           f"subfolders; expected e.g. {os.path.join(folder, 'cat', '1.png')}.")
  return items
