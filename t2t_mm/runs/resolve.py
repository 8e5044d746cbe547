"""Which hparams a run uses: registered set < saved in output_dir < command line.

    hp, set_name = resolve_hparams("multimodel_tiny", "hidden_size=64", output_dir)

1. The registered set (`--hparams_set`) gives the starting values.
2. output_dir/hparams.json, written by an earlier run on the same output_dir, replaces them:
   a resumed trainer or a decoder gets the values the checkpoint was trained with, and needs
   no `--hparams_set` at all.
3. `--hparams` overrides win over both.
"""

import json
import os
from typing import Optional, Tuple

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config import hparams as hparams_lib
from t2t_mm.config import typed
from t2t_mm.utils import atomic, fs

HPARAMS_FILE = "hparams.json"


def load_saved(output_dir: Optional[str]):
  """(set name, {field: value}) from output_dir/hparams.json, or (None, None)."""
  path = os.path.join(output_dir, HPARAMS_FILE) if output_dir else None
  if not path or not fs.exists(path):
    return None, None
  try:
    with fs.open(path, encoding="utf-8") as f:
      saved = json.load(f, object_pairs_hook=typed.reject_duplicate_keys)
    set_name, values = saved["hparams_set"], saved["hparams"]
    if not isinstance(set_name, str) or not isinstance(values, dict):
      raise TypeError('expected {"hparams_set": str, "hparams": {...}}')
    return set_name, values
  except (OSError, ValueError, KeyError, TypeError, errors.ConfigError) as e:
    raise errors.ConfigError(f"{path} is not a t2t_mm hparams file: {e}") from e


def resolve_hparams(hparams_set: Optional[str], overrides: str = "",
                    output_dir: Optional[str] = None) -> Tuple[hparams_lib.HParams, str]:
  """The HParams of a run and the name of the set they derive from (see module doc)."""
  saved_set, saved_values = load_saved(output_dir)
  if hparams_set and saved_set and hparams_set != saved_set:
    raise errors.ConfigError(
        f"--hparams_set={hparams_set}, but {output_dir} was made with '{saved_set}'. "
        "Drop --hparams_set or use another --output_dir.")
  set_name = hparams_set or saved_set
  if not set_name:
    raise errors.ConfigError(
        "No hparams: pass --hparams_set (e.g. multimodel_tiny), or an --output_dir that holds "
        f"an {HPARAMS_FILE}.")
  hp = registry.hparams(set_name)
  if saved_values:
    where = os.path.join(output_dir, HPARAMS_FILE)
    try:
      hp = typed.from_dict(hparams_lib.HParams, saved_values, base=hp)
    except errors.T2TMMError as e:
      raise errors.ConfigError(f"{where}: {e}") from e
  hp = hp.replace(**typed.parse_overrides(overrides, hparams_lib.HParams))
  check = getattr(registry.model(hp.model), "check_hparams", None)
  if check is not None:  # The model's own rules between hparams (e.g. heads divide width).
    check(hp)
  return hp, set_name


def save_hparams(output_dir: str, hp: hparams_lib.HParams, set_name: str) -> str:
  """Writes output_dir/hparams.json atomically; returns its path."""
  path = os.path.join(output_dir, HPARAMS_FILE)
  text = json.dumps({"hparams_set": set_name, "hparams": hp.to_dict()}, indent=2, sort_keys=True)
  atomic.atomic_write_text(path, text + "\n")
  return path


def resolve_decode_hparams(overrides: str = "") -> hparams_lib.DecodeHParams:
  """The default DecodeHParams with `overrides`; an input limit among them is a ConfigError
  that names --input_limits (config/input_limits.py)."""
  return hparams_lib.DecodeHParams().with_overrides(overrides)

