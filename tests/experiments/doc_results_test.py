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


def test_the_three_seed_rerun_is_quoted_from_its_committed_json():
  results = json.loads((DOCS / "experiments" / "seeds" / "results.json").read_text())
  doc = (DOCS / "experiments.md").read_text()
  config = results["config"]
  assert (config["seeds"], config["steps"], config["small_train_examples"]) == (3, 400, 500)
  assert [t["title"][:7] for t in results["tables"]] == ["Table 2", "Table 3", "Table 4"]
  for table in results["tables"]:
    assert writers.table_markdown(table) in doc, table["title"]
  for claim in results["claims"]:
    assert f"- {claim}" in doc
  assert len(results["runs"]) == 36 and all(run["finished"] for run in results["runs"].values())
  for name, run in results["runs"].items():
    assert f"| {name} | {len(run['problems'])} | {run['train_steps']} |" in doc
