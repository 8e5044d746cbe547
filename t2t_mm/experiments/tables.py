"""The paper's tables, built from the runs' eval_results.json (never typed in).

    collected = collect(output_root, runs)          # run name -> its results, or None
    tables = build_tables(config, runs, collected)  # Tables 2, 3 and 4 as plain dicts

A table has columns (a label and, per problem, the run it reads) and rows (problem, metric,
values per column, and each value's difference to the single-task run of that problem):

    {"id": "table2", "title": ..., "columns": ["single", "joint (8)"],
     "rows": [{"problem": "wmt_ende_mini", "metric": "log_perplexity",
               "values": [1.21, 1.18], "deltas": [0.0, -0.03],
               "runs": ["single_wmt_ende_mini", "joint"]}, ...]}

Values are None where a run has not finished yet.
"""

import json
import os
from typing import Dict, List, Optional, Sequence

from t2t_mm.experiments import plan as plan_lib
from t2t_mm.experiments import runner
from t2t_mm.runs import outputs
from t2t_mm.utils import fs

BASE_METRICS = ("log_perplexity", "token_accuracy")
# The problems' own metrics. A classifier's "accuracy" is its token_accuracy (one token per
# example), so it is not repeated.
OWN_METRICS = ("top5", "bleu", "wer", "cer", "exact_match")
LOWER_IS_BETTER = frozenset({"log_perplexity", "loss", "wer", "cer"})


def load_run(output_root: str, run: plan_lib.RunSpec) -> Optional[Dict]:
  """{"step", "problems", "history", "seconds"} of a finished run, else None."""
  folder = runner.run_dir(output_root, run)
  path = os.path.join(folder, outputs.EVAL_FILE)
  if not runner.is_finished(output_root, run):
    return None
  with fs.open(path, encoding="utf-8") as f:
    results = json.load(f)
  seconds = None
  info_path = os.path.join(folder, runner.RUN_FILE)
  if fs.exists(info_path):
    with fs.open(info_path, encoding="utf-8") as f:
      seconds = json.load(f).get("seconds")
  return {"step": results["step"], "problems": results["problems"],
          "history": results.get("history", []), "seconds": seconds,
          "num_problems": len(run.problems)}


def collect(output_root: str, runs: Sequence[plan_lib.RunSpec]) -> Dict[str, Optional[Dict]]:
  return {r.name: load_run(output_root, r) for r in runs}


def _metrics_of(problem: str, run_names: Sequence[str], collected) -> List[str]:
  present = set()
  for name in run_names:
    if collected.get(name):
      present |= set(collected[name]["problems"].get(problem, {}))
  return list(BASE_METRICS) + [m for m in OWN_METRICS if m in present]


def _table(table_id: str, title: str, problems: Sequence[str], columns, collected) -> Dict:
  """columns: [(label, problem -> run name)]; the first column is the single-task run."""
  rows = []
  for problem in problems:
    run_names = [pick(problem) for _, pick in columns]
    for metric in _metrics_of(problem, run_names, collected):
      values = []
      for name in run_names:
        run = collected.get(name)
        value = run["problems"].get(problem, {}).get(metric) if run else None
        values.append(None if value is None else float(value))
      single = values[0]
      deltas = [None if v is None or single is None else v - single for v in values]
      rows.append({"problem": problem, "metric": metric, "values": values, "deltas": deltas,
                   "runs": run_names})
  return {"id": table_id, "title": title, "columns": [label for label, _ in columns],
          "rows": rows}


def build_tables(config: plan_lib.ExperimentConfig, runs: Sequence[plan_lib.RunSpec],
                 collected: Dict[str, Optional[Dict]]) -> List[Dict]:
  """Table 2 (joint vs single), Table 3 (the small problem alone, paired, with all) and
  Table 4 (joint without MoE, without attention), each with the single-task run first."""
  by_name = {r.name: r for r in runs}
  joint = by_name["joint"]
  problems = list(joint.problems)
  k = len(problems)
  pair = next(r for r in runs if r.name.startswith("pair_"))
  single = ("single", lambda p: f"single_{p}")
  tables = [
      _table("table2", f"Table 2: {k} problems trained jointly vs each alone "
             f"({config.steps} steps per problem)", problems,
             [single, (joint.label, lambda p: "joint")], collected),
      _table("table3", f"Table 3: {config.small_problem} alone, with "
             f"{config.partner_problem}, and with all {k} problems", [config.small_problem],
             [("alone", lambda p: f"single_{p}"), (pair.label, lambda p: pair.name),
              (f"with all {k}", lambda p: "joint")], collected),
      _table("table4", f"Table 4: joint training without mixture-of-experts or attention "
             f"({config.no_moe_hparams_set}, {config.no_attention_hparams_set})", problems,
             [single, (joint.label, lambda p: "joint"),
              (by_name["joint_no_moe"].label, lambda p: "joint_no_moe"),
              (by_name["joint_no_attention"].label, lambda p: "joint_no_attention")],
             collected),
  ]
  return tables


def _row(table: Dict, problem: str, metric: str) -> Optional[Dict]:
  for row in table["rows"]:
    if row["problem"] == problem and row["metric"] == metric:
      return row
  return None


def claims(config: plan_lib.ExperimentConfig, tables: Sequence[Dict]) -> List[str]:
  """The paper's three claims, each checked on the tables' numbers (or 'not measured')."""
  t2, t3, t4 = ({t["id"]: t for t in tables}[i] for i in ("table2", "table3", "table4"))
  out = []
  row = _row(t3, config.small_problem, "log_perplexity")
  if row and None not in row["values"]:
    alone, paired, joint = row["values"]
    helped = "holds" if joint < alone else "does not hold"
    out.append(f"Joint training helps the small problem ({config.small_problem}): {helped} "
               f"here: log-ppl alone {alone:.3f}, with {config.partner_problem} {paired:.3f}, "
               f"with all {joint:.3f}.")
  else:
    out.append(f"Joint training helps {config.small_problem}: not measured yet.")
  deltas = [r["deltas"][1] for r in t2["rows"] if r["metric"] == "token_accuracy"
            and r["problem"] != config.small_problem and r["deltas"][1] is not None]
  if deltas:
    out.append(f"The other problems stay near single-task: token accuracy joint minus single, "
               f"over {len(deltas)} problems: mean {sum(deltas) / len(deltas):+.3f}, worst "
               f"{min(deltas):+.3f}.")
  else:
    out.append("The other problems near single-task: not measured yet.")
  for column, label in ((2, "the MoE"), (3, "attention")):
    pairs = [(r["values"][1], r["values"][column]) for r in t4["rows"]
             if r["metric"] == "log_perplexity" and None not in (r["values"][1],
                                                                 r["values"][column])]
    if pairs:
      worse = sum(1 for joint, ablated in pairs if ablated > joint)
      out.append(f"Removing {label} does not help: log-ppl is higher without it on "
                 f"{worse} of {len(pairs)} problems.")
    else:
      out.append(f"Removing {label}: not measured yet.")
  return out
