"""One trainer per output_dir: an exclusive lock file holding the owner's pid and host.

    with RunLock(output_dir):      # raises errors.ConfigError naming the holder if taken
      trainer.train(...)

The lock is `output_dir/trainer.lock`, a JSON record (pid, host, process start time, a random
token). It is written whole to a temp file in the same folder and then hard-linked to the lock's
name: os.link fails if the name exists, so of trainers starting together exactly one wins, and
a lock file that exists is always complete (never the empty file that O_CREAT|O_EXCL followed by
a write shows a concurrent reader). A lock file that is not such a record (a crash of an older
version, damage, tampering) is never removed automatically: the trainer refuses, naming it.

A lock whose process is gone (killed, machine rebooted) is taken over with a warning; on this
host that is checked with the pid and the process's start time (a pid can be reused), a lock
from another host is never taken over automatically, as its process cannot be seen from here.
The take-over is race free: the stale lock is removed only while holding an exclusive flock on
`output_dir/.trainer.lock.takeover` (released by the kernel if its holder dies, so it cannot go
stale itself), and only if the lock file still holds the same bytes that were judged dead. A
lock name changes only by a link (when absent), by its live owner's release, or by such a
removal, so of several trainers that saw the same dead holder one removes it, and os.link then
lets exactly one trainer take the free name. Multi-worker runs lock once: only the chief holds it.

On a filesystem that is not local (`gs://`, `s3://`, `ram://`, ...) there are no hard links or
flock: the lock is best effort (docs/scale.md). A trainer that finds no lock writes its record
and reads it back; two trainers starting within one write of each other may both believe they
hold it. A lock there is taken over only when its holder is a dead process of this host.
"""

import fcntl
import json
import os
import secrets
import socket
import tempfile
import time
from typing import Optional

from absl import logging

from t2t_mm import errors
from t2t_mm.utils import fs

LOCK_FILE = "trainer.lock"
TAKEOVER_FILE = ".trainer.lock.takeover"
# Tries when the lock vanishes between a failed link and the read of its holder (released or
# taken over meanwhile); each try links again.
_TRIES = 20


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
    self.folder = os.path.dirname(self.path) or "."
    self.warn = warn or logging.warning
    self._token = secrets.token_hex(16)
    self._held = False

  def _record(self) -> str:
    pid = os.getpid()
    return json.dumps({"pid": pid, "host": socket.gethostname(), "start_time": _start_time(pid),
                       "since": time.strftime("%Y-%m-%d %H:%M:%S"), "token": self._token}) + "\n"

  def _read_bytes(self) -> Optional[bytes]:
    """The lock file's bytes, or None if there is none (released or taken over meanwhile)."""
    try:
      return fs.read_bytes(self.path)
    except FileNotFoundError:
      return None

  def _holder(self, data: bytes) -> dict:
    """The lock record in `data`; raises if it is not one (never written by this version)."""
    try:
      holder = json.loads(data.decode("utf-8"))
    except ValueError:
      holder = None
    if not (isinstance(holder, dict) and isinstance(holder.get("pid"), int)
            and isinstance(holder.get("host"), str)):
      raise errors.ConfigError(
          f"The run lock {self.path} is not a lock record (damaged, or left by an older "
          f"t2t_mm that crashed). If no trainer is running in {self.folder}, delete it and "
          "start again.")
    return holder

  def acquire(self) -> "RunLock":
    if not fs.is_local(self.folder):
      return self._acquire_best_effort()
    os.makedirs(self.folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{LOCK_FILE}.", suffix=".tmp", dir=self.folder)
    try:
      with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(self._record())
        f.flush()
        os.fsync(f.fileno())  # Complete on disk before it has the lock's name, even after a crash.
      os.chmod(tmp, 0o644)  # mkstemp makes 0600; others may read who holds the run.
      for _ in range(_TRIES):
        try:
          os.link(tmp, self.path)
        except FileExistsError:
          data = self._read_bytes()
          if data is not None:
            self._take_over_if_dead(data)
          continue
        except OSError as e:
          raise errors.ConfigError(
              f"Could not create the run lock {self.path}: {e.strerror}. The lock needs a "
              "filesystem with hard links for --output_dir.") from e
        self._held = True
        return self
    finally:
      os.remove(tmp)
    raise errors.ConfigError(f"Could not take the run lock {self.path}: other trainers keep "
                             "taking it.")

  def _acquire_best_effort(self) -> "RunLock":
    """Create-if-absent with an exists check, then a read-back: not race free (module doc)."""
    fs.makedirs(self.folder)
    data = self._read_bytes()
    if data is not None:
      holder = self._holder(data)
      self._check_dead(holder)
      self.warn(f"Taking over the run lock {self.path} of a trainer that is gone "
                f"({self._who(holder)}).")
    with fs.open(self.path, "wb") as f:  # One object, whole on close (no temp: no rename).
      f.write(self._record().encode("utf-8"))
    data = self._read_bytes()
    if data is None or json.loads(data.decode("utf-8")).get("token") != self._token:
      raise errors.ConfigError(f"Could not take the run lock {self.path}: another trainer "
                               "took it at the same time.")
    self._held = True
    return self

  @staticmethod
  def _who(holder: dict) -> str:
    return f"pid {holder['pid']} on host {holder['host']}, since {holder.get('since', '?')}"

  def _check_dead(self, holder: dict) -> None:
    """Raises unless the lock's holder is a process of this host that is gone."""
    who = self._who(holder)
    if holder["host"] != socket.gethostname():
      raise errors.ConfigError(
          f"{self.folder} is locked by a trainer on another host ({who}). If that trainer is "
          f"no longer running, delete {self.path} and start again.")
    if _alive(holder["pid"], holder.get("start_time")):
      raise errors.ConfigError(
          f"{self.folder} is in use by another trainer ({who}; lock file {self.path}). Wait "
          "for it to finish, stop it, or use another --output_dir.")

  def _take_over_if_dead(self, data: bytes) -> None:
    """Removes the lock file if its holder is gone; raises if it is alive or unknowable."""
    holder = self._holder(data)
    who = self._who(holder)
    self._check_dead(holder)
    with open(os.path.join(self.folder, TAKEOVER_FILE), "a", encoding="utf-8") as guard:
      fcntl.flock(guard, fcntl.LOCK_EX)
      # Under the guard the lock name can change only by its live owner's release: if it
      # still holds the bytes judged dead, their owner is dead and nobody else removes it now.
      if self._read_bytes() != data:
        return  # Taken over (or released) meanwhile: link again and judge the new holder.
      self.warn(f"Taking over the run lock {self.path} of a trainer that is gone ({who}).")
      os.remove(self.path)

  def release(self) -> None:
    if self._held:
      self._held = False
      data = self._read_bytes()
      try:
        mine = data is not None and json.loads(data.decode("utf-8")).get("token") == self._token
      except (ValueError, AttributeError):
        mine = False
      if mine:
        fs.remove(self.path)

  def __enter__(self) -> "RunLock":
    return self.acquire()

  def __exit__(self, *exc) -> None:
    self.release()
