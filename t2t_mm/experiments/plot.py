"""Eval curves per problem, joint vs single, from each run's eval_results.json history.

    plot_curves(runs, collected, "exp/curves.png")

One row per problem, columns log-perplexity and token accuracy; x is the training steps spent
on that problem (global step / problems in the run: with mixture=uniform each problem gets that
many on average), so runs on one and on K problems line up. Single-task runs are solid black,
joint runs coloured; one line per seed; unfinished runs are left out.
"""

import io
from typing import Dict, Optional, Sequence

from t2t_mm.experiments import plan as plan_lib
from t2t_mm.utils import atomic

METRICS = (("log_perplexity", "log-perplexity"), ("token_accuracy", "token accuracy"))


def _curve(info: Dict, problem: str, metric: str):
  xs, ys = [], []
  for entry in info["history"]:
    value = entry["problems"].get(problem, {}).get(metric)
    if value is not None:
      xs.append(entry["step"] / info["num_problems"])
      ys.append(value)
  return xs, ys


def plot_curves(runs: Sequence[plan_lib.RunSpec], collected: Dict[str, Dict[int, Dict]],
                path: str) -> Optional[str]:
  """Writes the PNG atomically; returns its path, or None when no run has finished."""
  # The object API with the Agg canvas: no pyplot, no global backend, no display needed.
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  runs = plan_lib.configurations(runs)
  problems = []
  for r in runs:
    problems += [p for p in r.problems if p not in problems]
  if not any(collected.get(r.name) for r in runs):
    return None
  fig = Figure(figsize=(10, 2.4 * len(problems)), constrained_layout=True)
  FigureCanvasAgg(fig)
  axes = fig.subplots(len(problems), len(METRICS), squeeze=False)
  palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
  multi_runs = [r.name for r in runs if len(r.problems) > 1]
  colour = {name: palette[i % len(palette)] for i, name in enumerate(multi_runs)}  # Fixed.
  for row, problem in enumerate(problems):
    for r in runs:
      if problem not in r.problems:
        continue
      single = len(r.problems) == 1
      style = {"color": "black", "linewidth": 2} if single else {
          "color": colour[r.name], "linestyle": "--" if "no_" in r.name else "-"}
      for i, (_, info) in enumerate(sorted(collected.get(r.name, {}).items())):
        for col, (metric, _) in enumerate(METRICS):
          xs, ys = _curve(info, problem, metric)
          label = (r.label if not single else "single") if i == 0 else None
          axes[row][col].plot(xs, ys, marker="o", markersize=3, label=label, **style)
    for col, (_, title) in enumerate(METRICS):
      ax = axes[row][col]
      ax.set_title(f"{problem}: {title}", fontsize=9)
      ax.set_xlabel("steps on this problem", fontsize=8)
      ax.tick_params(labelsize=7)
      if ax.lines:
        ax.legend(fontsize=7)
  png = io.BytesIO()
  fig.savefig(png, format="png", dpi=80)
  atomic.atomic_write_bytes(path, png.getvalue())  # Makes the folder, on any filesystem.
  return path
