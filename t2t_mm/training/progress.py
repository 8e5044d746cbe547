"""A one-line training progress report: step, steps/s and each problem's recent loss."""

import sys
import time
from typing import Dict, List


class Progress:
  """Collects per-problem losses and prints a line every `every` steps.

      step 400/2000 (20%)  6.1 steps/s  eta 4m22s | wmt_ende_mini 2.31  image_mini 0.84 ...
  """

  def __init__(self, total_steps: int, every: int, stream=sys.stdout):
    self.total, self.every, self.stream = total_steps, max(every, 1), stream
    self._losses: Dict[str, List[float]] = {}
    self._t0, self._step0 = time.perf_counter(), None
    self.tty = hasattr(stream, "isatty") and stream.isatty()

  def update(self, step: int, problem: str, loss: float) -> None:
    if self._step0 is None:
      self._step0, self._t0 = step - 1, time.perf_counter()
    self._losses.setdefault(problem, []).append(loss)
    if step % self.every == 0 or step == self.total:
      self.stream.write(("\r" if self.tty else "") + self.line(step) + ("" if self.tty else "\n"))
      self.stream.flush()

  def recent_losses(self) -> Dict[str, float]:
    """Mean loss per problem since the last call."""
    means = {p: sum(v) / len(v) for p, v in self._losses.items() if v}
    self._losses = {p: [] for p in self._losses}
    return means

  def steps_per_second(self, step: int) -> float:
    elapsed = time.perf_counter() - self._t0
    return (step - (self._step0 or 0)) / elapsed if elapsed > 0 else 0.0

  def line(self, step: int) -> str:
    rate = self.steps_per_second(step)
    eta = (self.total - step) / rate if rate > 0 else 0.0
    losses = "  ".join(f"{p} {sum(v) / len(v):.3f}" for p, v in sorted(self._losses.items())
                       if v)
    return (f"step {step}/{self.total} ({100 * step // max(self.total, 1)}%)  {rate:.1f} "
            f"steps/s  eta {int(eta) // 60}m{int(eta) % 60:02d}s | {losses}")

  def close(self) -> None:
    if self.tty:
      self.stream.write("\n")
