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
