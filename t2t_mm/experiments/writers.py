"""Markdown and JSON of the experiment's tables (atomic writes).

    text = to_markdown(config, tables, claims)     # what mm-experiment prints
    write_results(output_root, config, runs, collected, tables, claims)
    # -> output_root/results.md and output_root/results.json
"""

import json
import math
import os
from typing import Dict, List, Optional, Sequence

from t2t_mm.experiments import plan as plan_lib
from t2t_mm.experiments import tables as tables_lib
from t2t_mm.utils import atomic

MARKDOWN_FILE = "results.md"
JSON_FILE = "results.json"
MISSING = "—"


def _fmt(metric: str, value: Optional[float], signed: bool = False) -> str:
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return MISSING
  digits = 2 if metric == "bleu" else 3
  return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def table_markdown(table: Dict) -> str:
  """One table: | problem | metric | single | col 2 | Δ | col 3 | Δ | ... |."""
  head = ["problem", "metric", table["columns"][0]]
  for label in table["columns"][1:]:
    head += [label, "Δ"]
  lines = [f"**{table['title']}**", "", "| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
  for row in table["rows"]:
    metric = row["metric"]
    arrow = "↓" if metric in tables_lib.LOWER_IS_BETTER else "↑"
    cells = [row["problem"], f"{metric} {arrow}", _fmt(metric, row["values"][0])]
    for value, delta in zip(row["values"][1:], row["deltas"][1:]):
      cells += [_fmt(metric, value), _fmt(metric, delta, signed=True)]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def to_markdown(config: plan_lib.ExperimentConfig, tables: Sequence[Dict],
                claims: Sequence[str], runs: Sequence[plan_lib.RunSpec] = (),
                collected: Optional[Dict] = None) -> str:
  parts = [f"# mm-experiment: {config.suite}, {config.steps} steps per problem", "",
           f"Model {config.hparams_set} (ablations {config.no_moe_hparams_set}, "
           f"{config.no_attention_hparams_set}); joint runs train K x {config.steps} steps with "
           f"mixture={plan_lib.MIXTURE}; {config.small_problem} trains on "
           f"{config.small_train_examples or 'its default number of'} examples. "
           "Δ = value minus the single-task run's; ↓ lower is better, ↑ higher. "
           f"{MISSING}: run not finished.", ""]
  for table in tables:
    parts += [table_markdown(table), ""]
  parts += ["**The paper's claims on these runs**", ""] + [f"- {c}" for c in claims] + [""]
  if runs and collected is not None:
    parts += ["| run | problems | global steps | seconds |", "|---|---|---|---|"]
    for r in runs:
      info = collected.get(r.name)
      seconds = MISSING if not info or info["seconds"] is None else f"{info['seconds']:.0f}"
      state = "" if info else " (not finished)"
      parts.append(f"| {r.name}{state} | {len(r.problems)} | {r.train_steps} | {seconds} |")
    parts.append("")
  return "\n".join(parts)


def write_results(output_root: str, config: plan_lib.ExperimentConfig,
                  runs: Sequence[plan_lib.RunSpec], collected: Dict, tables: List[Dict],
                  claims: Sequence[str]) -> Dict[str, str]:
  """Writes results.md and results.json into output_root; returns their paths."""
  md_path = os.path.join(output_root, MARKDOWN_FILE)
  json_path = os.path.join(output_root, JSON_FILE)
  atomic.atomic_write_text(md_path, to_markdown(config, tables, claims, runs, collected))
  payload = {
      "config": config.to_dict(),
      "runs": {r.name: {"problems": list(r.problems), "hparams_set": r.hparams_set,
                        "train_steps": r.train_steps,
                        "finished": collected.get(r.name) is not None,
                        "seconds": (collected.get(r.name) or {}).get("seconds"),
                        "results": (collected.get(r.name) or {}).get("problems")}
               for r in runs},
      "tables": tables,
      "claims": list(claims),
  }
  atomic.atomic_write_text(json_path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
  return {"markdown": md_path, "json": json_path}
