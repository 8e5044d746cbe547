"""One trainer per output_dir: an exclusive lock file holding the owner's pid and host.

    with RunLock(output_dir):      # raises errors.ConfigError naming the holder if taken
      trainer.train(...)

The lock is `output_dir/trainer.lock`, created with O_EXCL so that two trainers starting
together cannot both win. A lock whose process is gone (killed, machine rebooted) is taken
over with a warning; on this host that is checked with the pid and the process's start time
(a pid can be reused), a lock from another host is never taken over automatically, as its
process cannot be seen from here. Multi-worker runs lock once: only the chief holds it.
"""

import json
import os
import socket
import time
from typing import Optional

from absl import logging

from t2t_mm import errors

LOCK_FILE = "trainer.lock"


def _start_time(pid: int) -> Optional[str]:
  """The process's start time in clock ticks since boot (Linux /proc), or None."""
  try:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
      # The command name (field 2) may hold spaces; the fields after its ')' are fixed.
      return f.read().rsplit(")", 1)[1].split()[19]
  except (OSError, IndexError):
    return None


def _alive(pid: int, start_time: Optional[str]) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # Exists, owned by another user.
    return True
  return start_time is None or _start_time(pid) in (None, start_time)


class RunLock:
  """Holds `output_dir/trainer.lock` while in a `with` block (or between acquire/release).

  Args:
    output_dir: the run folder (created if missing).
    warn: called with the message when a dead holder's lock is taken over.
  """

  def __init__(self, output_dir: str, warn=None):
    self.path = os.path.join(output_dir, LOCK_FILE)
    self.warn = warn or logging.warning
    self._held = False

  def _record(self) -> str:
    pid = os.getpid()
    return json.dumps({"pid": pid, "host": socket.gethostname(), "start_time": _start_time(pid),
                       "since": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n"

  def _read(self) -> dict:
    try:
      with open(self.path, encoding="utf-8") as f:
        holder = json.load(f)
      return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
      return {}  # Half-written by a process that died at once, or removed meanwhile.

  def acquire(self) -> "RunLock":
    os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
    for _ in range(3):
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
      except FileExistsError:
        self._take_over_if_dead(self._read())
        continue
      with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(self._record())
      self._held = True
      return self
    raise errors.ConfigError(f"Could not take the run lock {self.path}: other trainers keep "
                             "taking it.")

  def _take_over_if_dead(self, holder: dict) -> None:
    """Removes the lock file if its holder is gone; raises if it is alive or unknowable."""
    pid, host = holder.get("pid"), holder.get("host")
    who = f"pid {pid} on host {host}, since {holder.get('since', '?')}"
    if isinstance(pid, int) and host == socket.gethostname():
      if _alive(pid, holder.get("start_time")):
        raise errors.ConfigError(
            f"{os.path.dirname(self.path)} is in use by another trainer ({who}; lock file "
            f"{self.path}). Wait for it to finish, stop it, or use another --output_dir.")
    elif holder:
      raise errors.ConfigError(
          f"{os.path.dirname(self.path)} is locked by a trainer on another host ({who}). If "
          f"that trainer is no longer running, delete {self.path} and start again.")
    self.warn(f"Taking over the run lock {self.path} of a trainer that is gone "
              f"({who if holder else 'unreadable lock file'}).")
    if self._read() != holder:  # Another trainer took it over meanwhile; O_EXCL decides.
      return
    try:
      os.remove(self.path)
    except FileNotFoundError:
      pass

  def release(self) -> None:
    if self._held:
      self._held = False
      if self._read().get("pid") == os.getpid():
        os.remove(self.path)

  def __enter__(self) -> "RunLock":
    return self.acquire()

  def __exit__(self, *exc) -> None:
    self.release()
