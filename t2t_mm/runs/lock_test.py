"""RunLock: exactly one of many trainers starting together wins, also when they all take over
the same dead holder's lock; a lock file that is not a record is refused, never removed."""

import json
import multiprocessing
import os
import socket
import subprocess

import pytest

from t2t_mm import errors
from t2t_mm.runs import lock as run_lock

PROCESSES = 24
ROUNDS = 12
WAIT_S = 60  # Bounds every barrier: a hung worker fails the test instead of hanging it.


def _dead_pid() -> int:
  dead = subprocess.Popen(["true"])
  dead.wait()
  return dead.pid


def _contender(folder, rounds, barrier, results):
  """Per round: wait for all, try the lock once, report, wait for all, let go of it."""
  for round_ in range(rounds):
    barrier.wait(WAIT_S)
    lock = run_lock.RunLock(folder, warn=lambda message: None)
    try:
      lock.acquire()
      won = True
    except errors.ConfigError as e:
      won = False if "in use by another trainer" in str(e) else f"error: {e}"
    except Exception as e:  # Reported to the test instead of leaving it waiting at a barrier.
      won = f"error: {e!r}"
    results.put((round_, os.getpid(), won))
    barrier.wait(WAIT_S)  # Everybody has tried before the winner lets go.
    lock.release()
    barrier.wait(WAIT_S)  # The lock is free before the next round's setup.


def _race(folder, rounds, setup):
  """Runs `rounds` rounds of PROCESSES contenders; `setup(folder)` runs before each round.
  Returns {round: [winner pids]}."""
  ctx = multiprocessing.get_context("spawn")  # No fork of a process that may run TensorFlow.
  barrier = ctx.Barrier(PROCESSES + 1)
  results = ctx.Queue()
  procs = [ctx.Process(target=_contender, args=(folder, rounds, barrier, results))
           for _ in range(PROCESSES)]
  for p in procs:
    p.start()
  winners = {r: [] for r in range(rounds)}
  try:
    for round_ in range(rounds):
      setup(folder)
      barrier.wait(WAIT_S)  # Go.
      for _ in range(PROCESSES):
        r, pid, won = results.get(timeout=WAIT_S)
        assert not isinstance(won, str), won
        if won:
          winners[r].append(pid)
      barrier.wait(WAIT_S)
      barrier.wait(WAIT_S)
      assert not os.path.exists(os.path.join(folder, run_lock.LOCK_FILE))
  finally:
    barrier.abort()  # Workers still waiting (the test failed) stop at once.
    for p in procs:
      p.join(WAIT_S)
      if p.is_alive():
        p.terminate()
  return winners


@pytest.mark.slow
def test_of_many_trainers_starting_together_exactly_one_wins(tmp_path):
  winners = _race(str(tmp_path), ROUNDS, setup=lambda folder: None)
  assert {r: len(w) for r, w in winners.items()} == {r: 1 for r in range(ROUNDS)}


@pytest.mark.slow
def test_of_many_trainers_taking_over_one_dead_holder_exactly_one_wins(tmp_path):
  def dead_holder(folder):
    with open(os.path.join(folder, run_lock.LOCK_FILE), "w", encoding="utf-8") as f:
      json.dump({"pid": _dead_pid(), "host": socket.gethostname()}, f)

  winners = _race(str(tmp_path), ROUNDS, setup=dead_holder)
  assert {r: len(w) for r, w in winners.items()} == {r: 1 for r in range(ROUNDS)}


@pytest.mark.parametrize("content", ["", '{"pid": 12', "[1, 2]", '{"host": "x"}'])
def test_a_lock_file_that_is_not_a_record_is_refused_and_kept(tmp_path, content):
  lock_path = tmp_path / run_lock.LOCK_FILE
  lock_path.write_text(content)
  with pytest.raises(errors.ConfigError, match=f"{lock_path} is not a lock record.*delete it"):
    run_lock.RunLock(str(tmp_path)).acquire()
  assert lock_path.read_text() == content
  assert [p.name for p in tmp_path.iterdir()] == [run_lock.LOCK_FILE]  # No temp file left.


def test_release_removes_only_its_own_lock(tmp_path):
  lock = run_lock.RunLock(str(tmp_path)).acquire()
  lock_path = tmp_path / run_lock.LOCK_FILE
  # Same pid, another holder (e.g. a second RunLock in this process after a take-over).
  other = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "token": "other"})
  lock_path.write_text(other)
  lock.release()
  assert lock_path.read_text() == other


def test_on_a_filesystem_without_links_the_lock_is_a_best_effort_record():
  import tensorflow as tf
  folder = "ram://lock_test/run"
  first = run_lock.RunLock(folder).acquire()
  with pytest.raises(errors.ConfigError, match="in use by another trainer"):
    run_lock.RunLock(folder).acquire()
  first.release()
  assert not tf.io.gfile.exists(f"{folder}/{run_lock.LOCK_FILE}")
  with tf.io.gfile.GFile(f"{folder}/{run_lock.LOCK_FILE}", "w") as f:
    f.write(json.dumps({"pid": _dead_pid(), "host": socket.gethostname()}))
  warnings = []
  with run_lock.RunLock(folder, warn=warnings.append):
    assert "gone" in warnings[0]
  with tf.io.gfile.GFile(f"{folder}/{run_lock.LOCK_FILE}", "w") as f:
    f.write("[1]")
  with pytest.raises(errors.ConfigError, match="is not a lock record"):
    run_lock.RunLock(folder).acquire()
