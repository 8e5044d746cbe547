"""docs/experiments.md quotes the measured tables exactly as the committed results.json renders."""

import json
import pathlib

from t2t_mm.experiments import writers

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"


def test_every_table_in_the_doc_is_rendered_from_the_committed_json():
  results = json.loads((DOCS / "experiments" / "results.json").read_text())
  doc = (DOCS / "experiments.md").read_text()
  assert results["config"]["steps"] == 200 and len(results["tables"]) == 3
  for table in results["tables"]:
    assert writers.table_markdown(table) in doc, table["title"]
  for claim in results["claims"]:
    assert f"- {claim}" in doc
  for name, run in results["runs"].items():
    assert f"| {name} | {len(run['problems'])} | {run['train_steps']} |" in doc


def test_the_three_seed_table3_rerun_is_quoted_from_its_committed_json():
  results = json.loads((DOCS / "experiments" / "table3_seeds" / "results.json").read_text())
  doc = (DOCS / "experiments.md").read_text()
  config = results["config"]
  assert (config["seeds"], config["steps"], config["small_train_examples"]) == (3, 400, 500)
  table3 = next(t for t in results["tables"] if t["title"].startswith("Table 3"))
  assert writers.table_markdown(table3) in doc
  for claim in results["claims"]:
    if claim.startswith(("Joint training helps", "Overfitting")):
      assert f"- {claim}" in doc
  for name, run in results["runs"].items():
    if run.get("finished"):
      assert f"| {name} | {len(run['problems'])} | {run['train_steps']} |" in doc
