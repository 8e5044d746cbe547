"""Errors a user can act on. The command-line tools print them without a traceback."""

import difflib
import re
from typing import Iterable, List


class T2TMMError(Exception):
  """Base class of errors caused by the user's input (names, flags, files, data)."""


class UnknownNameError(T2TMMError, LookupError):
  """A name that is not registered (problem, hparams set, key, ...)."""


class ConfigError(T2TMMError, ValueError):
  """A bad configuration value: wrong type, bad syntax, conflicting sources."""


class DataError(T2TMMError, IOError):
  """Missing, corrupt or inconsistent data files."""


class StorageError(DataError):
  """A write that the filesystem refused (disk full, read-only, quota)."""


def first_line(error: BaseException, limit: int = 200) -> str:
  """An error (TensorFlow's included) as one short line for users: its first line without the
  op's internal `{{function_node ...}}` and `[Op:...]` parts."""
  text = str(getattr(error, "message", None) or error)
  text = re.sub(r"\{\{[^}]*\}\}|\[Op:[^\]]*\]", "", text).strip()
  return ((text.splitlines() or [""])[0].strip() or type(error).__name__)[:limit]


def storage_error(path: str, error: BaseException, kept: str) -> StorageError:
  """One line for a failed write of `path`: the cause, what to free, and what was `kept`."""
  return StorageError(f"Could not write {path}: {first_line(error)}. Free space on its disk "
                      f"(or check its permissions) and run again; {kept}")


def close_matches(name: str, candidates: Iterable[str], n: int = 5) -> List[str]:
  """Returns up to `n` names from `candidates` that look like `name`, closest first."""
  candidates = list(candidates)
  matches = difflib.get_close_matches(name, candidates, n=n, cutoff=0.6)
  # Substring hits (e.g. "ende" in "wmt_ende_mini") are useful even when the ratio is low.
  for c in candidates:
    if len(matches) >= n:
      break
    if name and (name in c or c in name) and c not in matches:
      matches.append(c)
  return matches


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
  """A ' Did you mean: a, b?' suffix, or '' when nothing is close."""
  matches = close_matches(name, candidates)
  return f" Did you mean: {', '.join(matches)}?" if matches else ""
