"""The paper's tables, built from the runs' test evaluations (never typed in).

    collected = collect(output_root, runs)          # name -> {seed: its results}
    tables = build_tables(config, runs, collected)  # Tables 2, 3 and 4 as plain dicts

Each value is measured on the test split (whole split) at the problem's best dev checkpoint of
the run (heldout.py), so configurations are compared best against best. A table has columns (a
label and, per problem, the configuration it reads) and rows (problem, metric, per column the
mean over seeds, its standard deviation and number of seeds, the mean difference to the
single-task run, and for log-perplexity and token accuracy the paired bootstrap test of that
difference over test examples and seeds, stats.py):

    {"id": "table2", "title": ..., "columns": ["single", "joint (8)"],
     "rows": [{"problem": "wmt_ende_mini", "metric": "log_perplexity",
               "values": [1.21, 1.18], "sd": [0.02, 0.01], "seeds": [3, 3],
               "deltas": [0.0, -0.03], "tests": [None, {"low": -0.05, "high": -0.01,
               "p": 0.002, ...}], "runs": ["single_wmt_ende_mini", "joint"]}, ...]}

Values are None where no seed of a configuration has finished yet; a difference and its test
use the seeds both configurations have finished.
"""

import json
import os
from typing import Dict, List, Optional, Sequence

from t2t_mm.experiments import heldout
from t2t_mm.experiments import plan as plan_lib
from t2t_mm.experiments import runner
from t2t_mm.experiments import stats
from t2t_mm.utils import fs

BASE_METRICS = ("log_perplexity", "token_accuracy")
# The problems' own metrics. A classifier's "accuracy" is its token_accuracy (one token per
# example), so it is not repeated.
OWN_METRICS = ("top5", "bleu", "wer", "cer", "exact_match")
LOWER_IS_BETTER = frozenset({"log_perplexity", "loss", "wer", "cer"})
# Per-example statistics behind each tested metric: (numerator, denominator).
TESTED = {"log_perplexity": ("nll", "tokens"), "token_accuracy": ("correct", "tokens")}
BOOTSTRAP_SEED = 0  # Fixed: a report made twice from the same runs gives the same intervals.


def read_run_results(output_root: str, run: plan_lib.RunSpec,
             config: Optional[plan_lib.ExperimentConfig] = None) -> Optional[Dict]:
  """{"step", "problems" (last dev results), "history", "seconds", "num_problems", "test"}
  of a finished run (trained and tested), else None."""
  folder = runner.run_dir(output_root, run)
  if not runner.is_finished(output_root, run, config or plan_lib.ExperimentConfig()):
    return None
  with fs.open(os.path.join(folder, "eval_results.json"), encoding="utf-8") as f:
    results = json.load(f)
  seconds = None
  info_path = os.path.join(folder, runner.RUN_FILE)
  if fs.exists(info_path):
    with fs.open(info_path, encoding="utf-8") as f:
      seconds = json.load(f).get("seconds")
  return {"step": results["step"], "problems": results["problems"],
          "history": results.get("history", []), "seconds": seconds,
          "num_problems": len(run.problems), "seed": run.seed,
          "test": heldout.load(folder)["problems"]}


def collect(output_root: str, runs: Sequence[plan_lib.RunSpec],
            config: Optional[plan_lib.ExperimentConfig] = None) -> Dict[str, Dict[int, Dict]]:
  """Configuration name -> {seed: read_run_results(...)} of its finished runs."""
  out: Dict[str, Dict[int, Dict]] = {}
  for r in runs:
    out.setdefault(r.name, {})
    info = read_run_results(output_root, r, config)
    if info:
      out[r.name][r.seed] = info
  return out


def _metrics_of(problem: str, run_names: Sequence[str], collected) -> List[str]:
  present = set()
  for name in run_names:
    for info in collected.get(name, {}).values():
      present |= set(info["test"].get(problem, {}).get("metrics", {}))
  return list(BASE_METRICS) + [m for m in OWN_METRICS if m in present]


def _value(info: Dict, problem: str, metric: str) -> Optional[float]:
  value = info["test"].get(problem, {}).get("metrics", {}).get(metric)
  return None if value is None else float(value)


def _test(single: Dict[int, Dict], other: Dict[int, Dict], problem: str, metric: str,
          seeds: Sequence[int], samples: int) -> Optional[Dict]:
  if metric not in TESTED or not seeds:
    return None
  num, den = TESTED[metric]

  def pairs(runs):
    return [(runs[s]["test"][problem]["per_example"][num],
             runs[s]["test"][problem]["per_example"][den]) for s in seeds]

  result = stats.paired_bootstrap(pairs(single), pairs(other), samples, BOOTSTRAP_SEED)
  result["seeds"] = len(seeds)
  return result


def _table(table_id: str, title: str, problems: Sequence[str], columns, collected,
           samples: int = 1000) -> Dict:
  """columns: [(label, problem -> configuration name)]; the first is the single-task run."""
  rows = []
  for problem in problems:
    run_names = [pick(problem) for _, pick in columns]
    for metric in _metrics_of(problem, run_names, collected):
      values, sds, counts, deltas, tests = [], [], [], [], []
      single = collected.get(run_names[0], {})
      for name in run_names:
        runs = collected.get(name, {})
        per_seed = {s: _value(info, problem, metric) for s, info in runs.items()}
        per_seed = {s: v for s, v in per_seed.items() if v is not None}
        mean, sd = stats.mean_sd(list(per_seed.values()))
        values.append(mean)
        sds.append(sd)
        counts.append(len(per_seed))
        common = sorted(s for s in per_seed if _value(single.get(s, {"test": {}}), problem,
                                                      metric) is not None)
        deltas.append(None if not common else sum(
            per_seed[s] - _value(single[s], problem, metric) for s in common) / len(common))
        tests.append(None if name == run_names[0] else
                     _test(single, runs, problem, metric, common, samples))
      rows.append({"problem": problem, "metric": metric, "values": values, "sd": sds,
                   "seeds": counts, "deltas": deltas, "tests": tests, "runs": run_names})
  return {"id": table_id, "title": title, "columns": [label for label, _ in columns],
          "rows": rows}


def dev_curves(config: plan_lib.ExperimentConfig, runs: Sequence[plan_lib.RunSpec],
               collected) -> List[Dict]:
  """Per Table 3 configuration and seed, the small problem's dev log-perplexity curve: its
  lowest point and whether it turns up after it (overfitting: a later evaluation is higher)."""
  out = []
  names = plan_lib.run_groups(config)["table3"]
  for name in names:
    for seed, info in sorted(collected.get(name, {}).items()):
      curve = [(int(e["step"]), float(e["problems"][config.small_problem]["log_perplexity"]))
               for e in info["history"]
               if "log_perplexity" in e.get("problems", {}).get(config.small_problem, {})]
      if not curve:
        continue
      best_step, best = min(curve, key=lambda x: (x[1], x[0]))
      last_step, last = curve[-1]
      out.append({"run": name, "seed": seed, "best_step": best_step, "best": best,
                  "last_step": last_step, "last": last, "turns_up": last_step > best_step,
                  "test_step": info["test"][config.small_problem]["step"]})
  return out


def build_tables(config: plan_lib.ExperimentConfig, runs: Sequence[plan_lib.RunSpec],
                 collected: Dict[str, Optional[Dict]]) -> List[Dict]:
  """Table 2 (joint vs single), Table 3 (the small problem alone, paired, with all) and
  Table 4 (joint without MoE, without attention), each with the single-task run first."""
  by_name = {r.name: r for r in plan_lib.configurations(runs)}
  samples = config.bootstrap_samples
  joint = by_name["joint"]
  problems = list(joint.problems)
  k = len(problems)
  pair = next(r for r in runs if r.name.startswith("pair_"))
  single = ("single", lambda p: f"single_{p}")
  tables = [
      _table("table2", f"Table 2: {k} problems trained jointly vs each alone "
             f"({config.steps} steps per problem)", problems,
             [single, (joint.label, lambda p: "joint")], collected, samples),
      _table("table3", f"Table 3: {config.small_problem} alone, with "
             f"{config.partner_problem}, and with all {k} problems ({config.steps} steps on "
             f"{config.small_problem} in each)", [config.small_problem],
             [("alone", lambda p: f"single_{p}"), (pair.label, lambda p: pair.name),
              (f"with all {k}", lambda p: "joint")], collected, samples),
      _table("table4", f"Table 4: joint training without mixture-of-experts or attention "
             f"({config.no_moe_hparams_set}, {config.no_attention_hparams_set})", problems,
             [single, (joint.label, lambda p: "joint"),
              (by_name["joint_no_moe"].label, lambda p: "joint_no_moe"),
              (by_name["joint_no_attention"].label, lambda p: "joint_no_attention")],
             collected, samples),
  ]
  return tables


def _row(table: Dict, problem: str, metric: str) -> Optional[Dict]:
  for row in table["rows"]:
    if row["problem"] == problem and row["metric"] == metric:
      return row
  return None


def verdict(delta: Optional[float], test: Optional[Dict], lower_is_better: bool) -> str:
  """"holds" / "reversed" when the 95% interval of the difference lies on one side of 0,
  "not shown at this budget" when it includes 0; without a test, the sign alone."""
  if delta is None:
    return "not measured"
  better = delta < 0 if lower_is_better else delta > 0
  if test is None:
    return "holds" if better else "does not hold"
  if test["low"] > 0 or test["high"] < 0:
    return "holds" if better else "reversed"
  return "not shown at this budget"


def _interval(test: Optional[Dict]) -> str:
  if not test:
    return ""
  return (f" (Δ 95% interval [{test['low']:+.3f}, {test['high']:+.3f}], p={test['p']:.3f}, "
          f"{test['seeds']} seed(s))")


def claims(config: plan_lib.ExperimentConfig, tables: Sequence[Dict],
           curves: Sequence[Dict] = ()) -> List[str]:
  """The paper's three claims, each checked on the tables' numbers (or 'not measured'), and
  where the small problem's single-task dev curve turns up."""
  t2, t3, t4 = ({t["id"]: t for t in tables}[i] for i in ("table2", "table3", "table4"))
  out = []
  row = _row(t3, config.small_problem, "log_perplexity")
  if row and None not in row["values"]:
    alone, paired, joint = row["values"]
    paired_verdict = verdict(row["deltas"][1], row["tests"][1], True)
    joint_verdict = verdict(row["deltas"][2], row["tests"][2], True)
    out.append(f"Joint training helps the small problem ({config.small_problem}): "
               f"{joint_verdict} with all problems{_interval(row['tests'][2])}, "
               f"{paired_verdict} with {config.partner_problem}{_interval(row['tests'][1])}: "
               f"test log-ppl alone {alone:.3f}, with {config.partner_problem} {paired:.3f}, "
               f"with all {joint:.3f}.")
  else:
    out.append(f"Joint training helps {config.small_problem}: not measured yet.")
  others = [r for r in t2["rows"] if r["metric"] == "token_accuracy"
            and r["problem"] != config.small_problem and r["deltas"][1] is not None]
  if others:
    deltas = [r["deltas"][1] for r in others]
    worse = [r["problem"] for r in others
             if verdict(r["deltas"][1], r["tests"][1], False) == "reversed"]
    out.append(f"The other problems stay near single-task: token accuracy joint minus single, "
               f"over {len(deltas)} problems: mean {sum(deltas) / len(deltas):+.3f}, worst "
               f"{min(deltas):+.3f}; significantly worse (95% interval below 0) on "
               f"{len(worse)}" + (f" ({', '.join(worse)})." if worse else "."))
  else:
    out.append("The other problems near single-task: not measured yet.")
  for column, label in ((2, "the MoE"), (3, "attention")):
    rows = [r for r in t4["rows"] if r["metric"] == "log_perplexity"
            and None not in (r["values"][1], r["values"][column])]
    if rows:
      worse = sum(1 for r in rows if r["values"][column] > r["values"][1])
      out.append(f"Removing {label} does not help: log-ppl is higher without it on "
                 f"{worse} of {len(rows)} problems.")
    else:
      out.append(f"Removing {label}: not measured yet.")
  singles = [c for c in curves if c["run"] == f"single_{config.small_problem}"]
  if singles:
    parts = [f"seed {c['seed']}: " + (
        f"turns up after step {c['best_step']} ({c['best']:.3f}, then {c['last']:.3f} at "
        f"step {c['last_step']})" if c["turns_up"] else
        f"still falling at step {c['last_step']} ({c['last']:.3f})") for c in singles]
    out.append(f"Overfitting of {config.small_problem} alone (dev log-ppl): "
               + "; ".join(parts) + ".")
  return out
