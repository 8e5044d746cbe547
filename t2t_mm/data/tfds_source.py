"""Raw examples from a TensorFlow Datasets builder, failing fast when the data is not there.

    src = TfdsSource("wmt14_translate/de-en", tmp_dir, download=False)
    src.check(problem="wmt_ende")            # DataError with instructions, in well under a second
    n = src.split_size("validation")
    for ex in src.examples("validation", 0, n): ...   # numpy dicts

Prepared TFDS data lives in `{tmp_dir}/tfds` (TFDS's data_dir), manual downloads (ImageNet) in
`{tmp_dir}/manual`. Nothing touches the network unless `download=True`: offline, TFDS would
retry DNS for minutes before failing.
"""

import os
from typing import Iterator, Sequence

from t2t_mm import errors
from t2t_mm.utils import fs


class TfdsSource:
  """Args:
    name: TFDS name with config, e.g. "wmt14_translate/de-en".
    tmp_dir: the --tmp_dir of mm-datagen.
    download: download and prepare when missing (needs internet).
    manual_files: files that must be in {tmp_dir}/manual before preparing (ImageNet).
    how_to_get: one sentence on where the raw data comes from, for the error message.
  """

  def __init__(self, name: str, tmp_dir: str, download: bool = False,
               manual_files: Sequence[str] = (), how_to_get: str = ""):
    self.name = name
    self.tfds_dir = os.path.join(tmp_dir, "tfds")
    self.manual_dir = os.path.join(tmp_dir, "manual")
    self.download = download
    self.manual_files = list(manual_files)
    self.how_to_get = how_to_get
    self._builder = None

  @property
  def builder(self):
    if self._builder is None:
      import tensorflow_datasets as tfds
      self._builder = tfds.builder(self.name, data_dir=self.tfds_dir)
    return self._builder

  def _readable(self) -> bool:
    """True if as_dataset works (prepared data, or tfds.testing.mock_data in tests)."""
    try:
      self.builder.as_dataset(split=self._first_split(), shuffle_files=False)
    except (AssertionError, FileNotFoundError, ValueError, KeyError):
      return False
    return True

  def _first_split(self) -> str:
    return "train"

  def check(self, problem: str) -> None:
    """Prepares the data if allowed and possible, else raises DataError saying what to do."""
    if self._readable():
      return
    missing = [f for f in self.manual_files
               if not fs.exists(os.path.join(self.manual_dir, f))]
    if self.manual_files and not missing:
      self._prepare(problem)  # Manual files are there: preparing needs no network.
      return
    if self.download and not self.manual_files:
      self._prepare(problem)
      return
    if self.manual_files:
      raise errors.DataError(
          f"problem '{problem}' needs the TFDS dataset {self.name}, which is not prepared in "
          f"{self.tfds_dir}, and its manual files {', '.join(missing)} are not in "
          f"{self.manual_dir}. {self.how_to_get} Put them in {self.manual_dir} and rerun "
          "mm-datagen (preparing then runs offline).")
    raise errors.DataError(
        f"problem '{problem}' needs the TFDS dataset {self.name}, which is not prepared in "
        f"{self.tfds_dir}. {self.how_to_get} Either prepare it on a machine with internet "
        f"(`tfds build {self.name} --data_dir=DIR`) and copy DIR's contents to "
        f"{self.tfds_dir}, or let mm-datagen download it with "
        f"--gin_param='problems.{problem}.download = True'.")

  def _prepare(self, problem: str) -> None:
    import tensorflow_datasets as tfds
    config = tfds.download.DownloadConfig(manual_dir=self.manual_dir)
    try:
      self.builder.download_and_prepare(download_config=config)
    except Exception as e:  # TFDS raises many types; report them with the problem's name.
      raise errors.DataError(f"problem '{problem}': preparing {self.name} failed: {e}") from e

  def split_size(self, split: str) -> int:
    splits = self.builder.info.splits
    if split in splits:
      return splits[split].num_examples
    # Mocked or partial metadata: count the records.
    return sum(1 for _ in self.builder.as_dataset(split=split, shuffle_files=False))

  def examples(self, split: str, start: int, stop: int) -> Iterator[dict]:
    """Examples [start, stop) of `split` as numpy dicts, in the split's fixed order."""
    import tensorflow_datasets as tfds
    if split in self.builder.info.splits:
      ds = self.builder.as_dataset(split=f"{split}[{start}:{stop}]", shuffle_files=False)
    else:
      ds = self.builder.as_dataset(split=split, shuffle_files=False).skip(start).take(
          stop - start)
    return iter(tfds.as_numpy(ds))

