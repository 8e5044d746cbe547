"""Everything the experiment writes after its runs, from the runs' files alone.

    paths = report(config, output_root)
    # {"markdown": ".../results.md", "json": ".../results.json", "plot": ".../curves.png",
    #  "text": <the Markdown>}

Unfinished runs leave their cells empty (—), so a report can be made at any time.
"""

import os
from typing import Dict

from t2t_mm.experiments import plan as plan_lib
from t2t_mm.experiments import plot as plot_lib
from t2t_mm.experiments import tables as tables_lib
from t2t_mm.experiments import writers

PLOT_FILE = "curves.png"


def report(config: plan_lib.ExperimentConfig, output_root: str) -> Dict[str, str]:
  runs = plan_lib.plan_runs(config)
  collected = tables_lib.collect(output_root, runs, config)
  tables = tables_lib.build_tables(config, runs, collected)
  curves = tables_lib.dev_curves(config, runs, collected)
  claims = tables_lib.claims(config, tables, curves)
  paths = writers.write_results(output_root, config, runs, collected, tables, claims, curves)
  plot = plot_lib.plot_curves(runs, collected, os.path.join(output_root, PLOT_FILE))
  if plot:
    paths["plot"] = plot
  paths["text"] = writers.to_markdown(config, tables, claims, runs, collected)
  return paths
