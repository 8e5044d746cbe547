"""The run folder: what a trainer leaves in output_dir, read back by every later tool.

    resolve       hparams.json and the precedence set < saved < command line
    gin_config    config.gin (reloaded as data only) and the user's gin files and bindings
    outputs       problems.json, eval_results.json, the results table
    checkpoints   variables by name; the newest readable checkpoint; orphan clean-up
    lock          trainer.lock: one trainer per output_dir
    run_folder    what a training job writes: checkpoints, the best one, summaries, run files
    resume        a resumed run must match the saved one
"""
