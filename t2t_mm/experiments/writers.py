"""Markdown and JSON of the experiment's tables (atomic writes).

    text = to_markdown(config, tables, claims)     # what mm-experiment prints
    write_results(output_root, config, runs, collected, tables, claims)
    # -> output_root/results.md and output_root/results.json

A cell is "mean ± sd" over seeds (the mean alone with one seed); a Δ cell of a tested metric
adds its 95% bootstrap interval and p-value. Tables of results.json files written before seeds
existed (no "sd" in their rows) render as they did then.
"""

import json
import math
import os
from typing import Dict, List, Optional, Sequence

from t2t_mm.experiments import plan as plan_lib
from t2t_mm.experiments import tables as tables_lib
from t2t_mm.utils import atomic, markdown

MARKDOWN_FILE = "results.md"
JSON_FILE = "results.json"
MISSING = "—"


def _fmt(metric: str, value: Optional[float], signed: bool = False) -> str:
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return MISSING
  digits = 2 if metric == "bleu" else 3
  return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _cell(metric: str, value: Optional[float], sd: Optional[float]) -> str:
  if sd is None or value is None:
    return _fmt(metric, value)
  return f"{_fmt(metric, value)} ± {_fmt(metric, sd)}"


def _delta_cell(metric: str, delta: Optional[float], test: Optional[Dict]) -> str:
  text = _fmt(metric, delta, signed=True)
  if test is None or delta is None:
    return text
  return (f"{text} [{_fmt(metric, test['low'], signed=True)}, "
          f"{_fmt(metric, test['high'], signed=True)}] p={test['p']:.3f}")


def table_markdown(table: Dict) -> str:
  """One table: | problem | metric | single | col 2 | Δ | col 3 | Δ | ... |."""
  if table["rows"] and "sd" in table["rows"][0]:
    return _seeded_table_markdown(table)
  lines = _table_head(table, "Δ")
  for row in table["rows"]:
    metric = row["metric"]
    cells = [row["problem"], _metric_label(metric), _fmt(metric, row["values"][0])]
    for value, delta in zip(row["values"][1:], row["deltas"][1:]):
      cells += [_fmt(metric, value), _fmt(metric, delta, signed=True)]
    lines.append(markdown.row(cells))
  return "\n".join(lines)


def _table_head(table: Dict, delta_label: str) -> List[str]:
  """The title and header lines: | problem | metric | col 1 | col 2 | <delta_label> | ... |."""
  head = ["problem", "metric", table["columns"][0]]
  for label in table["columns"][1:]:
    head += [label, delta_label]
  return [f"**{table['title']}**", ""] + markdown.table(head)


def _metric_label(metric: str) -> str:
  return f"{metric} {'↓' if metric in tables_lib.LOWER_IS_BETTER else '↑'}"


def _seeded_table_markdown(table: Dict) -> str:
  lines = _table_head(table, "Δ [95% interval] p")
  for row in table["rows"]:
    metric = row["metric"]
    cells = [row["problem"], _metric_label(metric), _cell(metric, row["values"][0], row["sd"][0])]
    for i in range(1, len(row["values"])):
      cells += [_cell(metric, row["values"][i], row["sd"][i]),
                _delta_cell(metric, row["deltas"][i], row["tests"][i])]
    lines.append(markdown.row(cells))
  return "\n".join(lines)


def to_markdown(config: plan_lib.ExperimentConfig, tables: Sequence[Dict],
                claims: Sequence[str], runs: Sequence[plan_lib.RunSpec] = (),
                collected: Optional[Dict] = None, curves: Sequence[Dict] = ()) -> str:
  parts = [f"# mm-experiment: {config.suite}, {config.steps} steps per problem, "
           f"{config.seeds} seed(s)", "",
           f"Model {config.hparams_set} (ablations {config.no_moe_hparams_set}, "
           f"{config.no_attention_hparams_set}); joint runs train about K x {config.steps} "
           f"steps with mixture={plan_lib.MIXTURE}, {config.small_problem} exactly "
           f"{config.steps} in every run; {config.small_problem} trains on "
           f"{config.small_train_examples or 'its default number of'} examples. Every value "
           f"is measured on the whole {config.test_split} split at the problem's best dev "
           "checkpoint (lowest dev log-perplexity) of each run: mean ± standard deviation "
           "over seeds. Δ = mean difference to the single-task run (same seeds); for "
           "log-perplexity and token accuracy, its 95% interval and two-sided p-value by a "
           f"paired bootstrap over test examples and seeds ({config.bootstrap_samples} "
           f"samples, seed {tables_lib.BOOTSTRAP_SEED}). ↓ lower is better, ↑ higher. "
           f"{MISSING}: no result (run not finished, or left out by --runs).", ""]
  for table in tables:
    parts += [table_markdown(table), ""]
  parts += ["**The paper's claims on these runs**", ""] + [f"- {c}" for c in claims] + [""]
  if curves:
    parts += [f"**Dev log-perplexity of {config.small_problem} (Table 3 runs)**", ""]
    parts += markdown.table(
        ["run", "seed", "lowest at step", "lowest", "last step", "last", "turns up",
         "tested at step"],
        [[c["run"], c["seed"], c["best_step"], f"{c['best']:.3f}", c["last_step"],
          f"{c['last']:.3f}", "yes" if c["turns_up"] else "no", c["test_step"]]
         for c in curves])
    parts.append("")
  if runs and collected is not None:
    rows = []
    for r in runs:
      info = collected.get(r.name, {}).get(r.seed)
      seconds = MISSING if not info or info["seconds"] is None else f"{info['seconds']:.0f}"
      state = "" if info else " (no result yet)"
      rows.append([f"{r.folder}{state}", len(r.problems), r.train_steps, seconds])
    parts += markdown.table(["run", "problems", "global steps", "seconds"], rows)
    parts.append("")
  return "\n".join(parts)


def write_results(output_root: str, config: plan_lib.ExperimentConfig,
                  runs: Sequence[plan_lib.RunSpec], collected: Dict, tables: List[Dict],
                  claims: Sequence[str], curves: Sequence[Dict] = ()) -> Dict[str, str]:
  """Writes results.md and results.json into output_root; returns their paths."""
  md_path = os.path.join(output_root, MARKDOWN_FILE)
  json_path = os.path.join(output_root, JSON_FILE)
  atomic.atomic_write_text(md_path, to_markdown(config, tables, claims, runs, collected,
                                                 curves))

  def run_entry(r):
    info = collected.get(r.name, {}).get(r.seed) or {}
    test = info.get("test") or {}
    return {"name": r.name, "seed": r.seed, "problems": list(r.problems),
            "hparams_set": r.hparams_set, "train_steps": r.train_steps,
            "finished": bool(info), "seconds": info.get("seconds"),
            "dev_results": info.get("problems"),
            "test_results": {p: {k: v for k, v in t.items() if k != "per_example"}
                             for p, t in test.items()} or None}

  payload = {
      "config": config.to_dict(),
      "runs": {r.folder: run_entry(r) for r in runs},
      "tables": tables,
      "claims": list(claims),
      "dev_curves": list(curves),
  }
  atomic.atomic_write_text(json_path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
  return {"markdown": md_path, "json": json_path}
