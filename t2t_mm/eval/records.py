"""Where mm-eval's results go, so that no evaluation replaces another's: names and the index.

    name = evaluation_name("test", ["runs/a/checkpoints/ckpt-2000"], ["wmt_ende_mini"], dhp,
                           run_dir="runs/a")         # "test-step2000.3f9c0a1b2d"
    check_index("runs/a/eval")                       # before any work: a damaged index refuses
    ... write runs/a/eval/<name>.json and <name>.<problem>.txt ...
    add_to_index("runs/a/eval", index_entry(name, ...))

The name's digest covers everything else that changes the figures: the sorted problems, every
decode hparam and the checkpoints (relative to the run). So evaluations of other problems or
settings get other files, and a rerun of the same evaluation replaces only its own.
`eval/index.json` lists every evaluation; it is updated read-modify-write under an exclusive
flock on `eval/.index.lock` and written atomically, so updates of concurrent mm-evals are all
kept. An index that is not one (damaged, edited) is refused with its name, never rewritten.
"""

import dataclasses
import fcntl
import hashlib
import json
import os
import re
import time
from typing import Dict, List, Optional, Sequence

from t2t_mm import errors
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.utils import atomic, fs

INDEX_FILE = "index.json"
INDEX_LOCK = ".index.lock"
DIGEST_CHARS = 10


def step_of(checkpoint: str) -> Optional[int]:
  """The step in a checkpoint prefix's name (`.../ckpt-900` -> 900), or None."""
  match = re.search(r"ckpt-(\d+)$", checkpoint)
  return int(match.group(1)) if match else None


def settings_digest(problems: Sequence[str], dhp: DecodeHParams, checkpoints: Sequence[str],
                    run_dir: str) -> str:
  """Short sha256 of the sorted problems, every decode hparam and the checkpoints."""
  settings = {"problems": sorted(problems), "decode_hparams": dataclasses.asdict(dhp),
              "checkpoints": [os.path.relpath(c, run_dir) for c in checkpoints]}
  text = json.dumps(settings, sort_keys=True)
  return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_CHARS]


def evaluation_name(split: str, checkpoints: Sequence[str], problems: Sequence[str],
                    dhp: DecodeHParams, run_dir: str, averaged: int = 0,
                    best: bool = False) -> str:
  """'<split>-step<N>[-avg<K>][-best].<digest>': the stem of an evaluation's files."""
  step = step_of(checkpoints[0]) if checkpoints else None
  return (f"{split}-step{'unknown' if step is None else step}"
          + (f"-avg{averaged}" if averaged else "") + ("-best" if best else "")
          + "." + settings_digest(problems, dhp, checkpoints, run_dir))


def index_entry(name: str, split: str, problems: Sequence[str], dhp: DecodeHParams,
                checkpoints: Sequence[str], averaged: int = 0) -> Dict[str, object]:
  """The index's record of evaluation `name` (its files, settings, checkpoints, time)."""
  return {"file": f"{name}.json",
          "hypotheses": {p: f"{name}.{p}.txt" for p in problems},
          "split": split, "step": step_of(checkpoints[0]) if checkpoints else None,
          "averaged": averaged, "problems": list(problems),
          "decode_hparams": dataclasses.asdict(dhp), "checkpoints": list(checkpoints),
          "time": time.strftime("%Y-%m-%d %H:%M:%S")}


def read_index(out_dir: str) -> List[dict]:
  """The evaluations listed in out_dir/index.json ([] if there is none); raises if it is
  damaged."""
  path = os.path.join(out_dir, INDEX_FILE)
  try:
    with fs.open(path, encoding="utf-8") as f:
      index = json.load(f)
  except FileNotFoundError:
    return []
  except (OSError, ValueError) as e:
    raise _damaged(path, str(e)) from e
  entries = index.get("evaluations") if isinstance(index, dict) else None
  if not (isinstance(entries, list)
          and all(isinstance(e, dict) and isinstance(e.get("file"), str) for e in entries)):
    raise _damaged(path, 'expected {"evaluations": [{"file": ...}, ...]}')
  return entries


def _damaged(path: str, reason: str) -> errors.DataError:
  return errors.DataError(
      f"{path} is not an mm-eval index ({reason}). Move it aside or delete it (the "
      "evaluations' own files beside it are not affected) and run mm-eval again.")


def check_index(out_dir: str) -> None:
  """Raises errors.DataError if out_dir/index.json exists but is damaged: before any work."""
  read_index(out_dir)


def add_to_index(out_dir: str, entry: Dict[str, object]) -> None:
  """Adds `entry` to out_dir/index.json, replacing the entry of the same file (a rerun)."""
  fs.makedirs(out_dir)
  if not fs.is_local(out_dir):
    # No flock off the local disk: two mm-evals adding to one index at once may lose an entry
    # (docs/scale.md); each evaluation's own files are complete either way.
    _write_index(out_dir, entry)
    return
  with open(os.path.join(out_dir, INDEX_LOCK), "a", encoding="utf-8") as guard:
    # The lock file is never removed: a process holding a removed file's lock would not
    # exclude one that locks the new file of the same name.
    fcntl.flock(guard, fcntl.LOCK_EX)
    _write_index(out_dir, entry)


def _write_index(out_dir: str, entry: Dict[str, object]) -> None:
  entries = [e for e in read_index(out_dir) if e["file"] != entry["file"]]
  entries.append(entry)
  atomic.atomic_write_text(os.path.join(out_dir, INDEX_FILE),
                           json.dumps({"evaluations": entries}, indent=2, sort_keys=True) + "\n")
