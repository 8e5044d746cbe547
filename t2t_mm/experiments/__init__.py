"""The paper's comparisons at small scale: joint vs single-task training and the ablations.

    config = plan.ExperimentConfig(suite="all8_mini", steps=300)          # plan.py
    runner.run_experiment(config, "exp", data_dir="data", tmp_dir="raw")  # runner.py
    report.report(config, "exp")   # results.md, results.json, curves.png (tables.py,
                                   # writers.py, plot.py)
"""
