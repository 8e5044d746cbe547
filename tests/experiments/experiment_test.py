"""mm-experiment end to end on fake problems and the fake model: runs, skip, resume, tables, plot.

t2t_mm/testing/fake_suite.py registers three fake problems standing in for all8_mini
(exp_fake_parse is the small problem, exp_fake_label its partner) and three fake hparams sets
standing in for the model and its ablations.
"""

import io
import json
import os

import gin
import numpy as np
import pytest

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.runs import gin_config
from t2t_mm.experiments import plan as plan_lib
from t2t_mm.experiments import report as report_lib
from t2t_mm.experiments import runner
from t2t_mm.experiments import tables as tables_lib
from t2t_mm.testing import fake_suite
from t2t_mm.training import mixture
from t2t_mm.training import job as job_lib

SUITE = fake_suite.SUITE
STEPS = 8


@pytest.fixture(scope="module", autouse=True)
def fakes():
  added = fake_suite.register()
  yield
  fake_suite.unregister(added)
  gin.clear_config()


def _config(**kw):
  return plan_lib.ExperimentConfig(**dict(dict(
      suite=SUITE, steps=STEPS, hparams_set="exp_fake", small_problem="exp_fake_parse",
      partner_problem="exp_fake_label", small_train_examples=48, num_evals=2, eval_steps=1,
      warmup_steps=3, decode_examples=16),
      **kw))


class Interrupted(Exception):
  """Stands for a kill in the middle of a run."""


def _folder(root, run):
  return os.path.join(root, run.name, f"seed{run.seed}")


def _json(path):
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def test_experiment_end_to_end_skip_resume_best_checkpoints_tables_plot(tmp_path):
  root, data = str(tmp_path / "exp"), str(tmp_path / "data")
  config = _config(num_evals=2)
  runs = plan_lib.plan_runs(config)

  # An interrupted run: killed after half its steps (its checkpoint at step 4 stays).
  def interrupted(options, stream):
    job_lib.train_run(job_lib.TrainOptions(**dict(vars(options), train_steps=STEPS // 2)),
                      stream=stream)
    raise Interrupted()

  with pytest.raises(Interrupted):
    runner.run_experiment(config, root, data, str(tmp_path / "raw"),
                          only=["single_exp_fake_parse"], train_fn=interrupted,
                          stream=io.StringIO())

  log = io.StringIO()
  done = runner.run_experiment(config, root, data, str(tmp_path / "raw"), stream=log)
  assert done == {r.folder: "trained" for r in runs}
  assert f"Trained exp_fake_parse from step {STEPS // 2} to {STEPS}" in log.getvalue()
  # The small problem's size reached data generation and every run, through gin.
  assert (tmp_path / "data" / "exp_fake_parse.num_train").read_text() == "48"
  gin_text = (tmp_path / "exp" / "joint" / "seed1234" / "config.gin").read_text()
  assert "num_train_examples = 48" in gin_text and "decode_examples = 16" in gin_text

  tested = {}
  for r in runs:
    folder = _folder(root, r)
    saved = _json(os.path.join(folder, "eval_results.json"))
    assert saved["step"] == r.train_steps
    # Every eval_every steps (train_steps // num_evals) and at the end.
    assert [h["step"] for h in saved["history"]] == sorted(
        set(range(r.eval_every, r.train_steps + 1, r.eval_every)) | {r.train_steps})
    assert len(saved["history"]) >= 2
    hparams = _json(os.path.join(folder, "hparams.json"))["hparams"]
    assert hparams["mixture"] == "uniform" and hparams["learning_rate_warmup_steps"] == 3
    assert hparams["seed"] == 1234
    assert hparams["hidden_size"] == {"joint_no_moe": 12, "joint_no_attention": 8}.get(
        r.name, 16)
    # Best checkpoint per configuration and problem: the lowest dev log-ppl of the history,
    # its checkpoint kept, evaluated on the whole test split.
    test = _json(os.path.join(folder, "experiment_test.json"))
    assert test["split"] == "test" and set(test["problems"]) == set(r.problems)
    for problem, t in test["problems"].items():
      curve = [(h["problems"][problem]["log_perplexity"], h["step"]) for h in saved["history"]]
      assert (t["dev_log_perplexity"], t["step"]) == min(curve)
      assert t["checkpoint"] == os.path.join("checkpoints", f"ckpt-{t['step']}")
      assert os.path.exists(os.path.join(folder, t["checkpoint"] + ".index"))
      assert t["examples"] == 32 and len(t["per_example"]["nll"]) == 32
      assert sum(t["per_example"]["nll"]) / sum(t["per_example"]["tokens"]) == pytest.approx(
          t["metrics"]["log_perplexity"], rel=1e-5)
    if len(r.problems) == 1:  # The trainer's own --best_metric choice is the same one.
      best = _json(os.path.join(folder, "best_checkpoint.json"))
      assert best["metric"] == f"{r.problems[0]}/log_perplexity"
      assert best["step"] == test["problems"][r.problems[0]]["step"]
    tested[r.name] = test["problems"]
  # The small problem gets exactly STEPS steps in every run that trains it.
  for r in runs:
    if "exp_fake_parse" in r.problems:
      sampler = mixture.MixtureSampler({p: 1.0 for p in r.problems}, 1234)
      assert sum(sampler.problem_at(s) == "exp_fake_parse"
                 for s in range(r.train_steps)) == STEPS
      assert sampler.problem_at(r.train_steps - 1) == "exp_fake_parse"
    else:
      assert r.train_steps == STEPS * len(r.problems)

  paths = report_lib.report(config, root)
  results = _json(paths["json"])
  tables = {t["id"]: t for t in results["tables"]}
  # Every cell is the run's test value at its best checkpoint; Δ is that minus the single's.
  checked = 0
  for table in tables.values():
    for row in table["rows"]:
      for i, run_name in enumerate(row["runs"]):
        value = tested[run_name][row["problem"]]["metrics"][row["metric"]]
        single = tested[f"single_{row['problem']}"][row["problem"]]["metrics"][row["metric"]]
        assert row["values"][i] == pytest.approx(value)
        assert row["deltas"][i] == pytest.approx(value - single)
        assert row["sd"][i] is None and row["seeds"][i] == 1
        test = row["tests"][i]
        if i and row["metric"] in ("log_perplexity", "token_accuracy"):
          assert test["low"] <= row["deltas"][i] + 1e-9 and test["high"] >= row["deltas"][i] - 1e-9
          assert 0 <= test["p"] <= 1 and test["seeds"] == 1 and test["samples"] == 1000
        else:
          assert test is None
        checked += 1
  assert checked > 40
  assert tables["table2"]["columns"] == ["single", "joint (3)"]
  assert tables["table3"]["columns"] == ["alone", "with exp_fake_label", "with all 3"]
  assert {r["problem"] for r in tables["table3"]["rows"]} == {"exp_fake_parse"}
  assert len(tables["table4"]["columns"]) == 4
  metrics = {(r["problem"], r["metric"]) for r in tables["table2"]["rows"]}
  assert {("exp_fake_parse", "exact_match"), ("exp_fake_label", "top5"),
          ("exp_fake_copy", "log_perplexity"), ("exp_fake_label", "token_accuracy")} <= metrics
  # The Markdown shows the same numbers.
  markdown = open(paths["markdown"], encoding="utf-8").read()
  joint_ppl = tested["joint"]["exp_fake_copy"]["metrics"]["log_perplexity"]
  assert f"{joint_ppl:.3f}" in markdown
  assert "| exp_fake_parse | log_perplexity ↓ |" in markdown
  assert "Dev log-perplexity of exp_fake_parse" in markdown
  assert len(results["claims"]) == 5 and "not measured" not in " ".join(results["claims"])
  assert "Overfitting of exp_fake_parse alone" in results["claims"][-1]
  assert [c["run"] for c in results["dev_curves"]] == [
      "single_exp_fake_parse", "pair_exp_fake_parse_exp_fake_label", "joint"]
  with open(paths["plot"], "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  assert os.path.getsize(paths["plot"]) > 10_000

  # Rerun: every run is finished, nothing is trained or tested, nothing is rewritten.
  files = ("eval_results.json", "experiment_test.json")
  mtimes = {(r.name, f): os.path.getmtime(os.path.join(_folder(root, r), f))
            for r in runs for f in files}

  def must_not_train(options, stream):
    raise AssertionError(f"retrained {options.output_dir}")

  done = runner.run_experiment(config, root, data, str(tmp_path / "raw"),
                               train_fn=must_not_train, stream=io.StringIO())
  assert set(done.values()) == {"skipped (finished)"} and len(done) == len(runs)
  assert mtimes == {(r.name, f): os.path.getmtime(os.path.join(_folder(root, r), f))
                    for r in runs for f in files}

  # Other settings in the same output_root are refused, naming what differs.
  with pytest.raises(errors.ConfigError, match="steps: 8 there, 9 now"):
    runner.run_experiment(_config(steps=9, num_evals=2), root, data, str(tmp_path / "raw"),
                          train_fn=must_not_train, stream=io.StringIO())


def test_seeded_table3_experiment_resumes_and_reports_spread(tmp_path):
  """--runs=table3 with two seeds: killed in the second seed, a run trained but not yet
  tested; the rerun trains only what is left, tests the untested run, skips the rest."""
  root, data, raw = str(tmp_path / "exp"), str(tmp_path / "data"), str(tmp_path / "raw")
  config = _config(seeds=2, steps=4, bootstrap_samples=200, test_decode=False, num_evals=2)
  runs = runner.select_runs(plan_lib.plan_runs(config), ["table3"],
                            plan_lib.run_groups(config))
  assert [r.folder for r in runs] == [
      f"{name}/seed{seed}" for seed in (1234, 1235)
      for name in ("single_exp_fake_parse", "joint", "pair_exp_fake_parse_exp_fake_label")]
  calls = []

  def killed_in_second_seed(options, stream):
    calls.append(options.output_dir)
    if options.output_dir.endswith(os.path.join("joint", "seed1235")):
      raise Interrupted()
    return job_lib.train_run(options, stream=stream)

  with pytest.raises(Interrupted):
    runner.run_experiment(config, root, data, raw, only=["table3"],
                          train_fn=killed_in_second_seed, stream=io.StringIO())
  assert len(calls) == 5  # The first seed's three runs, then single and joint of the second.
  seeds = {_json(os.path.join(_folder(root, r), "hparams.json"))["hparams"]["seed"]
           for r in runs[:4] if r.name != "joint" or r.seed == 1234}
  assert seeds == {1234, 1235}
  # Killed between training and its test evaluation: only the test is left to do.
  untested = os.path.join(_folder(root, runs[0]), "experiment_test.json")
  os.remove(untested)

  trained = []

  def only_the_rest(options, stream):
    trained.append(os.path.relpath(options.output_dir, root))
    return job_lib.train_run(options, stream=stream)

  done = runner.run_experiment(config, root, data, raw, only=["table3"],
                               train_fn=only_the_rest, stream=io.StringIO())
  assert sorted(trained) == [os.path.join("joint", "seed1235"),
                             os.path.join("pair_exp_fake_parse_exp_fake_label", "seed1235")]
  assert done["single_exp_fake_parse/seed1234"] == "tested" and os.path.exists(untested)
  assert done["single_exp_fake_parse/seed1235"] == "skipped (finished)"

  results = _json(report_lib.report(config, root)["json"])
  t3 = {t["id"]: t for t in results["tables"]}["table3"]
  row = next(r for r in t3["rows"] if r["metric"] == "log_perplexity")
  per_seed = [[_json(os.path.join(_folder(root, r), "experiment_test.json"))["problems"][
      "exp_fake_parse"]["metrics"]["log_perplexity"] for r in runs if r.name == name]
      for name in row["runs"]]
  for i, values in enumerate(per_seed):
    assert row["seeds"][i] == 2
    assert row["values"][i] == pytest.approx(np.mean(values))
    assert row["sd"][i] == pytest.approx(np.std(values, ddof=1))
    assert row["deltas"][i] == pytest.approx(np.mean(values) - np.mean(per_seed[0]))
  assert row["tests"][0] is None and row["tests"][2]["seeds"] == 2
  assert row["tests"][2]["samples"] == 200
  markdown = open(os.path.join(root, "results.md"), encoding="utf-8").read()
  assert f"{row['values'][0]:.3f} ± {row['sd'][0]:.3f}" in markdown
  assert f"p={row['tests'][2]['p']:.3f}" in markdown
  # Table 2's other problems were not run: their cells are empty, not an error.
  t2 = {t["id"]: t for t in results["tables"]}["table2"]
  assert all(r["values"][0] is None for r in t2["rows"] if r["problem"] == "exp_fake_copy")
  assert len([c for c in results["dev_curves"]]) == 6


def test_a_run_stopped_early_counts_as_trained(tmp_path):
  config = _config(early_stopping_patience=2)
  run = plan_lib.plan_runs(config)[0]
  folder = _folder(str(tmp_path), run)
  os.makedirs(folder)
  with open(os.path.join(folder, "eval_results.json"), "w", encoding="utf-8") as f:
    json.dump({"step": 4, "problems": {}, "history": [{"step": 4, "problems": {}}]}, f)
  assert not runner.is_trained(str(tmp_path), run, patience=2)
  with open(os.path.join(folder, "best_checkpoint.json"), "w", encoding="utf-8") as f:
    json.dump({"metric": run.best_metric, "evals_without_improvement": 2, "step": 2}, f)
  assert runner.is_trained(str(tmp_path), run, patience=2)
  assert not runner.is_trained(str(tmp_path), run, patience=0)  # No early stopping asked.
  assert not runner.is_trained(str(tmp_path), run, patience=3)


def test_report_of_unfinished_runs_marks_cells_missing(tmp_path):
  config = _config()
  paths = report_lib.report(config, str(tmp_path))
  results = json.loads(open(paths["json"], encoding="utf-8").read())
  assert all(v is None for t in results["tables"] for r in t["rows"] for v in r["values"])
  assert all("not measured" in c for c in results["claims"])
  assert "plot" not in paths
  assert "| exp_fake_parse | log_perplexity ↓ | — | — | — | — | — |" in open(
      paths["markdown"], encoding="utf-8").read()


def test_plan_of_all8_mini_gives_equal_steps_per_problem():
  config = plan_lib.ExperimentConfig(suite="all8_mini", steps=100, seeds=2)
  runs = plan_lib.plan_runs(config)
  assert len(runs) == 2 * (8 + 4)
  assert [r.seed for r in runs] == [1234] * 12 + [1235] * 12  # Seed by seed.
  first = runs[:12]
  names = [r.name for r in first]
  assert "pair_parse_en_mini_image_scenes_mini" in names
  by_name = {r.name: r for r in first}
  for r in first:
    if len(r.problems) == 1:
      assert r.train_steps == 100 and r.best_metric == f"{r.problems[0]}/log_perplexity"
    else:  # Exactly 100 steps on parsing: about 100 per problem, the rest by the sampler.
      assert r.best_metric == "mean/log_perplexity"
      sampler = mixture.MixtureSampler({p: 1.0 for p in r.problems}, r.seed)
      draws = [sampler.problem_at(s) for s in range(r.train_steps)]
      assert draws.count("parse_en_mini") == 100 and draws[-1] == "parse_en_mini"
      assert abs(r.steps_per_problem - 100) < 25
      # The trainer runs the problems in this order (its sampler's order).
      assert registry.expand_problem_names(",".join(r.problems)) == list(r.problems)
  assert by_name["joint"].train_steps == by_name["joint_no_moe"].train_steps
  assert runs[12 + names.index("joint")].train_steps != by_name["joint"].train_steps
  assert by_name["joint_no_moe"].hparams_set == "multimodel_tiny_no_moe"
  assert by_name["joint_no_attention"].hparams_set == "multimodel_tiny_no_attention"
  assert by_name["joint"].eval_every == by_name["joint"].train_steps // config.num_evals
  assert by_name["joint"].folder == "joint/seed1234"
  bindings = plan_lib.gin_bindings(config, by_name["joint"])
  assert f"trainer.TrainerConfig.checkpoint_every = {by_name['joint'].eval_every}" in bindings
  assert plan_lib.run_groups(config)["table3"] == [
      "single_parse_en_mini", "pair_parse_en_mini_image_scenes_mini", "joint"]


def test_tiny_ablations_differ_from_tiny_only_in_the_ablated_part():
  tiny = registry.hparams("multimodel_tiny")
  no_moe = registry.hparams("multimodel_tiny_no_moe")
  no_att = registry.hparams("multimodel_tiny_no_attention")
  assert tiny.moe_encoder_layers and no_moe.moe_encoder_layers == []
  assert no_moe.moe_decoder_layers == []
  assert no_moe.replace(moe_encoder_layers=tiny.moe_encoder_layers,
                        moe_decoder_layers=tiny.moe_decoder_layers) == tiny
  assert tiny.use_attention and not no_att.use_attention
  assert no_att.replace(use_attention=True) == tiny


def test_small_problem_size_is_bound_with_gin():
  config = plan_lib.ExperimentConfig(small_train_examples=1234)
  gin_config.setup(None, (), plan_lib.data_bindings(config))
  try:
    assert registry.problem("parse_en_mini").sizes["train"] == 1234
    assert registry.problem("wmt_ende_mini").sizes["train"] == 20000
  finally:
    gin.clear_config()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"small_problem": "parse_en"}, errors.ConfigError, "small_problem='parse_en' is not in"),
    ({"partner_problem": "parse_en_mini"}, errors.ConfigError, "must differ"),
    ({"steps": 0}, errors.ConfigError, "steps=0"),
    ({"hparams_set": "multimodel_tin"}, errors.UnknownNameError, "multimodel_tiny"),
    ({"suite": "parse_en_mini"}, errors.ConfigError, "at least 2"),
])
def test_bad_config_is_a_clear_error(kwargs, error, match):
  with pytest.raises(error, match=match):
    plan_lib.plan_runs(plan_lib.ExperimentConfig(**kwargs))


def test_mixture_override_and_unknown_run_are_errors(tmp_path):
  with pytest.raises(errors.ConfigError, match="sets mixture"):
    runner.run_experiment(_config(hparams="mixture=proportional"), str(tmp_path), "d", "t",
                          stream=io.StringIO())
  with pytest.raises(errors.ConfigError, match="sets seed"):
    runner.run_experiment(_config(hparams="seed=3"), str(tmp_path), "d", "t",
                          stream=io.StringIO())
  with pytest.raises(errors.UnknownNameError, match="single_exp_fake_parse"):
    runner.run_experiment(_config(), str(tmp_path), "d", "t", only=["single_exp_fake_pars"],
                          stream=io.StringIO())


def test_claims_read_the_numbers_and_tests():
  config = _config(bootstrap_samples=200)
  runs = plan_lib.plan_runs(config)
  problems = ("exp_fake_parse", "exp_fake_label", "exp_fake_copy")

  def info(ppl, spread=0.0):
    # Eight test examples of one token each, whose NLL spread around ppl.
    nll = [ppl + spread * (i % 2 * 2 - 1) for i in range(8)]
    return {1234: {"test": {p: {"metrics": {"log_perplexity": ppl,
                                            "token_accuracy": 1 - ppl / 10},
                                "per_example": {"nll": nll, "tokens": [1.0] * 8,
                                                "correct": [1 - ppl / 10] * 8}}
                            for p in problems},
                   "history": [], "seconds": 1.0, "num_problems": 1, "step": 1}}

  collected = {r.name: info(2.0, 0.5) for r in runs}
  collected["joint"] = info(1.5, 0.5)  # Joint helps everything; ablations worse than joint.
  tables = tables_lib.build_tables(config, runs, collected)
  text = " ".join(tables_lib.claims(config, tables))
  # Every example is 0.5 better: the interval is [-0.5, -0.5].
  assert ("helps the small problem (exp_fake_parse): holds with all problems (Δ 95% "
          "interval [-0.500, -0.500], p=0.000, 1 seed(s)), not shown at this budget") in text
  assert "without it on 3 of 3 problems" in text
  assert "mean +0.050" in text and "significantly worse (95% interval below 0) on 0." in text
  collected["joint"] = info(2.5, 0.5)
  text = " ".join(tables_lib.claims(config, tables_lib.build_tables(config, runs, collected)))
  assert "reversed with all problems" in text and "without it on 0 of 3" in text
  assert "on 2 (exp_fake_label, exp_fake_copy)" in text
  assert tables_lib.verdict(-0.1, {"low": -0.3, "high": 0.1}, True) == (
      "not shown at this budget")
  assert tables_lib.verdict(-0.1, None, True) == "holds"
  assert tables_lib.verdict(0.1, {"low": 0.05, "high": 0.2}, False) == "holds"


def test_dev_curve_turn_up_is_reported():
  config = _config()
  runs = plan_lib.plan_runs(config)
  curve = [(2, 1.0), (4, 0.6), (6, 0.7), (8, 0.9)]
  collected = {"single_exp_fake_parse": {1234: {
      "history": [{"step": s, "problems": {"exp_fake_parse": {"log_perplexity": v}}}
                  for s, v in curve],
      "test": {"exp_fake_parse": {"step": 4}}}}}
  curves = tables_lib.dev_curves(config, runs, collected)
  assert curves == [{"run": "single_exp_fake_parse", "seed": 1234, "best_step": 4,
                     "best": 0.6, "last_step": 8, "last": 0.9, "turns_up": True,
                     "test_step": 4}]
  tables = tables_lib.build_tables(config, runs, {})
  assert ("Overfitting of exp_fake_parse alone (dev log-ppl): seed 1234: turns up after step "
          "4 (0.600, then 0.900 at step 8).") in tables_lib.claims(config, tables, curves)


def test_cli_unknown_flag_and_bad_problem_exit_nonzero(tool, tmp_path):
  result = tool("mm-experiment", "--no_such_flag=1")
  assert result.returncode != 0 and "no_such_flag" in result.stderr
  result = tool("mm-experiment", f"--output_root={tmp_path}", f"--data_dir={tmp_path}",
                "--small_problem=parse_en")
  assert result.returncode != 0 and "small_problem='parse_en'" in result.stderr
  assert "Traceback" not in result.stderr


def test_cli_trains_the_named_run_and_reports(tool, tmp_path):
  """In a fresh process (gin's registry locks at the first parse: import order matters)."""
  plugin = tmp_path / "exp_plugin"
  plugin.mkdir()
  (plugin / "__init__.py").write_text(
      "from t2t_mm.testing import fake_suite\nfake_suite.register()\n")
  root = tmp_path / "exp"
  result = tool("mm-experiment", f"--usr_dir={plugin}", f"--suite={SUITE}", "--steps=3",
                f"--output_root={root}", f"--data_dir={tmp_path / 'data'}",
                "--small_problem=exp_fake_parse", "--partner_problem=exp_fake_label",
                "--hparams_set=exp_fake", "--small_train_examples=40", "--warmup_steps=2",
                "--num_evals=1", "--eval_steps=1", "--decode_examples=4",
                "--runs=single_exp_fake_parse", "--notest_decode")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Table 3: exp_fake_parse alone, with exp_fake_label, and with all 3" in result.stdout
  saved = json.loads((root / "results.json").read_text())
  assert saved["config"]["small_train_examples"] == 40 and saved["config"]["steps"] == 3
  assert saved["config"]["no_moe_hparams_set"] == "exp_fake_no_moe"
  assert {n for n, r in saved["runs"].items() if r["finished"]} == {
      "single_exp_fake_parse/seed1234"}
  assert saved["runs"]["joint/seed1234"]["train_steps"] >= 3
  assert saved["config"]["test_decode"] is False
  tested = saved["runs"]["single_exp_fake_parse/seed1234"]["test_results"]["exp_fake_parse"]
  assert tested["step"] == 3 and "exact_match" not in tested["metrics"]
  assert (tmp_path / "data" / "exp_fake_parse.num_train").read_text() == "40"
