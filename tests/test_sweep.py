"""A real multirun through the installed entry point: joblib launcher with 2 parallel jobs
writing to one SQLite store, grouped under a parent run, with the sweep report; then a resume."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")
from conftest import sweep_runs, tiny_sweep_command  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

from nbw2v.app.sweep import sweep_key  # noqa: E402

EXE = Path(sys.executable).parent / "nbw2v-train"


def _sweep(tmp_path, store, *extra):
    args = tiny_sweep_command(
        tmp_path, store, "logger.experiment=sweep", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *extra
    )
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "compare the runs: " in proc.stdout and "compare the runs: " not in proc.stderr  # a result: stdout
    return proc.stderr + proc.stdout


@pytest.mark.slow
def test_parallel_sweep_is_one_group_with_a_report_and_resumes(tmp_path):
    (tmp_path / "tiny.txt").write_text(
        "\n".join(["the king and the queen rule the land", "water flows in the river to the sea"] * 300) + "\n"
    )
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("king\tqueen\t8\nwater\triver\t7\nsea\tland\t5\nthe\tand\t1\n")
    log = _sweep(tmp_path, store, f"eval.similarity=[{pairs}]")
    assert "2 parallel jobs x 1 thread(s) each" in log
    assert "[job 0] nbw2v: gradient check" in log and "[job 3]" in log  # parallel jobs' lines are labelled
    assert "[job 0] MLflow run sg-ns-" in log and "[job 0]   this run:" not in log  # one line per job's run
    # one sweep-level line per finished job: done of the total, failures, ETA
    done = [line for line in log.splitlines() if line.startswith("nbw2v sweep: ") and " of 4 jobs done" in line]
    assert len(done) == 4 and any(line.startswith("nbw2v sweep: 4 of 4 jobs done (4 finished)") for line in done)
    compare = log.split("compare the runs: ", 1)[1].split()[0]
    client = MlflowClient(store)
    exp = client.get_experiment_by_name("sweep").experiment_id
    parents, children = sweep_runs(client, "sweep")
    assert len(parents) == 1 and len(children) == 4
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    sweep_id = parent.data.tags["nbw2v.sweep_id"]
    # "compare the runs" opens the sweep's own view in chart mode: its children, on the axes it
    # varies (window, K) against the scores, not MLflow's parallel plot of whatever sorts first
    assert compare.endswith(f"compareRunsMode=CHART&viewStateShareKey=nbw2v-sweep-{sweep_id}")
    tags = client.get_experiment(exp).tags
    view = json.loads(tags[f"mlflow.sharedViewState.nbw2v-sweep-{sweep_id}"])
    assert view["searchFilter"] == f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    axes = next(c for c in view["compareRunCharts"] if c["type"] == "PARALLEL")
    assert axes["selectedParams"] == ["model.window", "loss.K"] and axes["selectedMetrics"][-1] == "eval/ws353"
    assert view["compareRunSections"][0]["uuid"] == axes["metricSectionId"]  # the first section
    # the parent's charts: the sweep's progress against the job index
    progress = json.loads(tags[f"mlflow.sharedViewState.nbw2v-run-{parent.info.run_id}"])
    assert progress["compareRunCharts"][0]["selectedMetricKeys"] == ["sweep/job_objective", "sweep/best_so_far"]
    # sweep children print no links, so they get no view of their own
    assert not any(f"nbw2v-run-{c.info.run_id}" in key for c in children for key in tags)
    assert all(c.data.tags["mlflow.parentRunId"] == parent.info.run_id for c in children)
    assert all(c.data.tags["nbw2v.sweep_id"] == sweep_id for c in children)
    assert all(c.info.status == "FINISHED" for c in children)
    grid = {(c.data.params["model.window"], c.data.params["loss.K"]) for c in children}
    assert grid == {("2", "2"), ("2", "5"), ("3", "2"), ("3", "5")}
    for child in children:  # parallel writers lost nothing
        metrics = child.data.metrics
        for key in ("loss/epoch", "gradcheck/max_rel_err", "gradcheck/log10_max_rel_err", "eval/pairs"):
            assert key in metrics, key
        assert len(client.get_metric_history(child.info.run_id, "loss/train")) >= 1
        assert child.data.params["train.threads"] == "0" and child.data.tags["train.threads"] == "1"
    report = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/runs.md", "report/heatmap_ws353.png", "report/heatmap_loss.png"} <= report
    assert "report/scores_vs_dim.png" not in report  # one dimension (8): no one-point plot
    table = (tmp_path / "multirun" / "report" / "runs.md").read_text()
    assert table.count("| FINISHED |") == 4
    # the parent carries its best child's scores under best/ (the top result appears once among the
    # children's metric names) and says which run and config it was
    top = max(c.data.metrics["eval/pairs"] for c in children)
    best = next(c for c in children if c.info.run_id == parent.data.tags["nbw2v.best_run"])
    assert parent.data.metrics["best/eval/pairs"] == best.data.metrics["eval/pairs"] == top
    assert not any(k.startswith("eval/") for k in parent.data.metrics)
    # the sweep's history as curves on the parent: each job's objective and the best so far
    history = client.get_metric_history(parent.info.run_id, "sweep/best_so_far")
    jobs = sorted(client.get_metric_history(parent.info.run_id, "sweep/job_objective"), key=lambda m: m.step)
    assert sorted(m.step for m in history) == [0, 1, 2, 3] and len(jobs) == 4
    running = [max(m.value for m in jobs[: i + 1]) for i in range(4)]
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx(running)
    assert history[-1].value == pytest.approx(top)
    # runs named by their configuration (sweep children by their axes), described and sourced
    assert sorted(c.info.run_name for c in children) == [
        f"sg-ns-w{w}-k{k}-d8-s1-mc1-e1" for w, k in (("2", "2"), ("2", "5"), ("3", "2"), ("3", "5"))
    ]
    assert all(c.data.tags["mlflow.source.name"].startswith("nbw2v-train ") for c in children)
    assert all(round(v, 4) == v for c in children for k, v in c.data.metrics.items() if k.startswith("eval/"))
    assert f"model.window={best.data.params['model.window']}" in parent.data.tags["nbw2v.best_config"]

    # resume: two children "crashed"; the same sweep with logger.skip_finished trains only those
    for child in children[:2]:
        client.set_terminated(child.info.run_id, "FAILED")
    log = _sweep(tmp_path, store, f"eval.similarity=[{pairs}]", "logger.skip_finished=true")
    assert f"resuming sweep {sweep_id}" in log
    assert log.count("skipped: this config already FINISHED") == 2
    runs = client.search_runs([exp], filter_string=f"tags.`nbw2v.sweep_id` = '{sweep_id}'")
    finished = [r for r in runs if r.info.status == "FINISHED" and r.data.tags.get("nbw2v.role") != "sweep"]
    assert len(runs) == 7 and len(finished) == 4  # 1 parent, 2 failed, 2 kept, 2 re-trained


def test_sweep_key_ignores_the_resume_flag_and_hydra_settings():
    a = sweep_key("e", ["model.window=2,3", "loss.K=2,5"])
    assert a == sweep_key(
        "e", ["loss.K=2,5", "model.window=2,3", "logger.skip_finished=true", "hydra.launcher.n_jobs=2"]
    )
    assert a != sweep_key("e", ["model.window=2,3", "loss.K=2,7"])
    assert a != sweep_key("other", ["model.window=2,3", "loss.K=2,5"])


def test_report_command_reads_a_sweep(tmp_path, capsys):
    from nbw2v.app.report import build_report, table

    rows = [
        {
            "run_id": str(i),
            "name": f"r{i}",
            "status": "FINISHED",
            "window": w,
            "K": k,
            "dim": d,
            "final loss": 2.0 + 0.01 * i,
            "gradcheck log10 err": -10.0,
            "WS353": 0.3 + 0.01 * i,
            "SimLex": 0.2,
            "analogy": 0.1,
            "words/s": 1e6,
            "train s": 10.0,
            "params": {
                "model.window": str(w),
                "train.lr": str(0.01 * (1 + i % 2)),
                "logger.run_name": f"r{i}",
                "eval.probe_words": str(["king"] * (i % 2 + 1)),  # what a run shows: never an axis
            },
            "train.lr": 0.01 * (1 + i % 2),
        }
        for i, (w, k, d) in enumerate([(2, 5, 50), (5, 5, 50), (2, 15, 100), (5, 15, 100)])
    ]
    paths = build_report(rows, tmp_path / "rep", title="t")
    names = ["runs.md", "parallel_ws353.png", "heatmap_ws353.png", "heatmap_loss.png", "scores_vs_dim.png"]
    assert [p.name for p in paths] == names
    # which axis moves each score: the spread of the marginal means, the largest in bold
    text = paths[0].read_text()
    importance = text.split("## Which axis moves each score")[1].split("## Runs")[0]
    assert "| score | window | K | dim | train.lr |" in importance
    assert "| WS353 | 0.010 | **0.020** | **0.020** | 0.010 |" in importance
    assert all(p.stat().st_size > 1000 for p in paths[1:])
    text = table(rows)
    assert text.count("| FINISHED |") == 4
    header = text.splitlines()[0]
    assert "| train.lr |" in header and "logger.run_name" not in header  # every swept axis, no noise
    assert "| -10.0 |" in text  # the gradient-check error readable as a power of ten


@pytest.mark.slow
def test_a_sweep_over_the_three_losses_reports_them_side_by_side(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("king\tqueen\t9\nwater\tsea\t7\nking\tsea\t1\nthe\tto\t2\n")
    args = [a for a in tiny_sweep_command(tmp_path, store) if a not in ("model.window=2,3", "loss.K=2,5")]
    proc = subprocess.run(
        [*args, "loss=negative,hs,softmax", f"eval.similarity=[{pairs}]"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    parents, children = sweep_runs(MlflowClient(store), "nbw2v")
    assert sorted(c.data.params["loss.name"] for c in children) == ["hs", "negative", "softmax"]
    assert all(c.info.status == "FINISHED" and c.data.metrics["gradcheck/max_rel_err"] < 1e-6 for c in children)
    table = (tmp_path / "multirun" / "report" / "runs.md").read_text()
    runs = table.split("## Runs", 1)[1]
    assert "| loss.name |" in runs.strip().splitlines()[0]  # a column of its own
    assert "loss.name=hs" in table.split("## Runs", 1)[0]  # and a configuration of its own
    assert all(f"| {name} |" in table for name in ("negative", "hs", "softmax"))


def test_heatmaps_give_every_other_axis_its_own_panel_or_fold_it(tmp_path):
    from nbw2v.app.report import MAX_PANELS, build_report, heatmap_panels

    def row(i, loss, lr, dim=50):
        return {
            "run_id": str(i), "name": f"r{i}", "status": "FINISHED", "window": 5, "K": 5, "dim": dim,
            "final loss": 2.0 + i, "gradcheck log10 err": -10.0, "WS353": 0.1 * i, "SimLex": 0.2,
            "analogy": 0.1, "words/s": 1e6, "train s": 1.0,
            "params": {"loss.name": loss, "train.lr": str(lr), "model.dim": str(dim)},
            "loss.name": loss, "train.lr": lr,  # load_sweep's columns of the swept axes
        }  # fmt: skip

    losses = [row(i, loss, 0.025) for i, loss in enumerate(["negative", "hs", "softmax"])]
    panels, extra, folded = heatmap_panels(losses)  # one cell (window 5, K 5) per loss: three panels
    assert extra == ["loss.name"] and not folded
    assert panels == [(50, ("hs",)), (50, ("negative",)), (50, ("softmax",))]
    many = [row(i, "negative", 0.001 * (i + 1)) for i in range(MAX_PANELS + 1)]  # an Optuna-like lr axis
    panels, extra, folded = heatmap_panels(many)
    assert panels == [(50, ())] and extra == ["train.lr"] and folded
    assert all(p.stat().st_size > 1000 for p in build_report(losses + many, tmp_path / "rep")[1:])


@pytest.mark.slow
def test_report_command_on_a_real_sweep(tmp_path, capsys):
    from nbw2v.app.cli import main

    (tmp_path / "tiny.txt").write_text("\n".join(["a b c d e f g", "h i j k l m n"] * 200) + "\n")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _sweep(tmp_path, store)
    client = MlflowClient(store)
    exp = client.get_experiment_by_name("sweep").experiment_id
    parent = client.search_runs([exp], filter_string="tags.`nbw2v.role` = 'sweep'")[0]
    sweep_id = parent.data.tags["nbw2v.sweep_id"]
    out = tmp_path / "rep"
    argv = ["report", sweep_id, "--tracking-uri", store, "--experiment", "sweep", "--out", str(out)]
    assert main(argv) == 0
    assert capsys.readouterr().out.count("| FINISHED |") == 4
    assert (out / "heatmap_ws353.png").exists()
    assert (
        main(
            [
                "report",
                "--filter",
                "params.`loss.K` = '5'",
                "--tracking-uri",
                store,
                "--experiment",
                "sweep",
                "--out",
                str(out),
                "--no-log",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.count("| FINISHED |") == 2
    assert main(["report", "nosuchsweep", "--tracking-uri", store, "--experiment", "sweep"]) == 1


def test_objective_for_optimising_sweepers():
    from nbw2v.app.run import objective

    assert objective({"eval/ws353": 0.61, "eval/simlex": 0.3}) == 0.61
    assert objective({"eval/pairs": 0.2, "eval/pairs_cov": 1.0, "eval/ws353_cov": 0.0}) == 0.2
    assert objective({"eval/ws353_cov": 0.0}) != objective({"eval/ws353_cov": 0.0})  # NaN


@pytest.mark.slow
def test_submitit_local_launcher_runs_the_sweep_with_the_tasks_cpus(tmp_path):
    """The SLURM path (submitit) with its local executor: same grouping, threads = cpus_per_task."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = tiny_sweep_command(
        tmp_path,
        store,
        "hydra/launcher=submitit_local",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.timeout_min=10",
    )
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 thread(s) per job (the CPUs each job declares)" in proc.stderr
    parents, children = sweep_runs(MlflowClient(store), "nbw2v")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == 4 and all(r.info.status == "FINISHED" for r in children)
    assert all(r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for r in children)
    assert all(r.data.tags["train.threads"] == "1" for r in children)


def test_slurm_profile_composes():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    from hydra import compose, initialize_config_dir

    from nbw2v.app.hydra_app import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["hydra/launcher=nbw2v_slurm"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher") and cfg.hydra.launcher.cpus_per_task == 4


def test_the_sweep_counts_its_jobs_and_says_how_far_it_is():
    from omegaconf import OmegaConf

    from nbw2v.app.sweep import count_jobs, progress_line

    config = OmegaConf.create(
        {"hydra": {"sweeper": {"params": {"model.window": "2,5,10", "loss.K": "2,5"}}, "overrides": {"task": []}}}
    )
    assert count_jobs(config) == 6
    config.hydra.overrides.task = ["model.window=2,5", "seed=1,2,3", "train.epochs=3"]  # the command wins
    assert count_jobs(config) == 2 * 2 * 3
    assert count_jobs(OmegaConf.create({"hydra": {"sweeper": {"n_trials": 7}}}), study=object()) == 7
    line = progress_line({"FINISHED": 4, "FAILED": 1, "RUNNING": 2}, 27, 100.0, 150.0)
    assert (
        line == "nbw2v sweep: 5 of 27 jobs done (4 finished, 1 failed), 2 running, ETA 0:03:40"
    )  # 50 s / 5 jobs x 22 left
    assert progress_line({"FINISHED": 3}, None, None, 1.0) == "nbw2v sweep: 3 jobs done (3 finished)"


def test_seeds_are_pooled_per_configuration_and_ties_with_the_best_are_named(tmp_path):
    from nbw2v.app.report import build_report, config_label, pooled_configs

    def row(i, window, seed, ws, ci=None):
        metrics = {"eval/ws353_lo": ci[0], "eval/ws353_up": ci[1]} if ci else {}
        return {
            "run_id": str(i), "name": f"r{i}", "status": "FINISHED", "window": window, "K": 5, "dim": 50,
            "final loss": 2.0, "gradcheck log10 err": -10.0, "WS353": ws, "SimLex": 0.2, "analogy": 0.1,
            "words/s": 1e6, "train s": 1.0, "metrics": metrics,
            "params": {"model.window": str(window), "seed": str(seed), "model.dim": "50"},
        }  # fmt: skip

    # window 5 clearly best over 3 seeds; window 3 close to it; window 2 far below
    cells = [(w, base, s) for w, base in ((5, 0.60), (3, 0.598), (2, 0.40)) for s in (1, 2, 3)]
    rows = [row(i, w, s, base + 0.002 * s) for i, (w, base, s) in enumerate(cells)]
    configs = pooled_configs(rows)
    assert [c["key"][0] for c in configs] == [5, 3, 2] and all(c["n"] == 3 for c in configs)
    assert configs[0]["test"] == "best" and configs[1]["tied"] and "Welch" in configs[1]["test"]
    assert not configs[2]["tied"]
    assert configs[0]["mean"] == pytest.approx(0.604) and configs[0]["sd"] == pytest.approx(0.002)
    text = build_report(rows, tmp_path / "rep")[0].read_text()
    assert "Best: window 5, K 5, dim 50 (WS353 0.604)" in text
    assert "Not distinguishable from it at 95%: window 3, K 5, dim 50." in text
    assert "| seed |" in text and "| seed |" not in text.split("## Runs")[0]  # seeds: a column, not an axis
    assert "Welch's t-test" in text and "a screen, not a test" not in text  # the test used, and only it
    # single runs: their bootstrap intervals, compared by overlap (named as such)
    single = [row(0, 5, 1, 0.60, (0.55, 0.65)), row(1, 3, 1, 0.50, (0.40, 0.56)), row(2, 2, 1, 0.30, (0.2, 0.4))]
    configs = pooled_configs(single)
    assert [c["tied"] for c in configs] == [True, True, False]
    assert configs[1]["test"] == "95% intervals overlap" and configs[2]["test"] == "95% intervals apart"
    losses = [row(i, 5, 1, 0.6 - 0.1 * i, (0.5, 0.7)) for i in range(3)]
    for r, name in zip(losses, ("negative", "hs", "softmax"), strict=True):
        r["params"]["loss.name"] = name
    labels = sorted(config_label(c) for c in pooled_configs(losses))
    assert labels == [
        "window 5, K 5, dim 50, loss.name=negative",
        "window 5, dim 50, loss.name=hs",  # K does not apply to these two
        "window 5, dim 50, loss.name=softmax",
    ]
    text = build_report(single, tmp_path / "single")[0].read_text()
    assert "a screen, not a test" in text and "Welch" not in text
    assert "| window 3, K 5, dim 50 | 1 | 0.500 | - | [0.400, 0.560] |" in text  # no sd from one seed


@pytest.mark.slow
def test_a_2x2_sweep_with_2_seeds_reports_4_configurations(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    import itertools
    import json

    import numpy as np

    words = "the king and queen rule water flows to sea".split()
    scores = np.random.default_rng(0).uniform(0, 10, 36)
    combos = itertools.combinations(words, 2)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{a}\t{b}\t{s:.1f}\n" for (a, b), s in zip(combos, scores, strict=True)))
    proc = subprocess.run(
        [*tiny_sweep_command(tmp_path, store), "seed=1,2", f"eval.similarity=[{pairs}]", "logger.save_vectors=none"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = (tmp_path / "multirun" / "report" / "runs.md").read_text()
    assert text.startswith("# sweep") and "8 run(s)" in text
    configs = text.split("## Configurations")[1].split("\n## ")[0]
    assert configs.count("| window ") == 4 and configs.count("| 2 |") == 4  # 4 configurations x 2 seeds
    assert "Best: window " in configs
    # the best and the ties come from the seed- and item-aware comparison, Holm-adjusted
    assert configs.count("seeds + items, p") == 3 and "Holm-adjusted together" in configs
    # sweep children saved no vectors, yet compare: a cell by its axes (both seeds), and two runs
    client = MlflowClient(store)
    _, children = sweep_runs(client, "nbw2v")
    assert not client.list_artifacts(children[0].info.run_id, "vectors")
    sweep_id = children[0].data.tags["nbw2v.sweep_id"]
    nbw2v = str(Path(sys.executable).parent / "nbw2v")
    base = [nbw2v, "compare", "--tracking-uri", store, "--sweep", sweep_id]
    proc = subprocess.run([*base, "window=2,K=2", "window=3,K=5", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    (row,) = out["differences"]
    assert row["name"] == "pairs" and row["n_a"] == row["n_b"] == 2 and row["seeds_included"]
    assert len(out["runs_a"]) == 2
    one, other = children[0].info.run_id, children[1].info.run_id
    proc = subprocess.run([*base, one, other], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Seed noise is NOT included" in proc.stdout and "seed sd (store)" in proc.stdout
    proc = subprocess.run([*base, "window=2", "window=3,K=5"], capture_output=True, text=True)
    assert proc.returncode == 2 and "matches 2 configurations (loss.K in {2, 5})" in proc.stderr


def test_a_lost_attempt_is_closed_and_a_finished_retry_counts(tmp_path):
    """A job whose worker died (kill -9 of a Ray worker) leaves its child RUNNING; once the jobs
    have returned, the sweep closes it KILLED, names the job by its axes, and the configuration
    counts as finished when a retry of it FINISHED."""
    from nbw2v.app.report import load_sweep
    from nbw2v.app.sweep import close_lost_attempts, latest_attempts

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    exp = client.create_experiment("lost")
    tags = {"nbw2v.sweep_id": "s1"}

    def child(window, status, config_hash):
        run = client.create_run(exp, tags={**tags, "nbw2v.config_hash": config_hash})
        client.log_param(run.info.run_id, "model.window", window)
        client.log_param(run.info.run_id, "loss.K", 5)
        if status != "RUNNING":
            client.set_terminated(run.info.run_id, status)
        return run.info.run_id

    killed = child(2, "RUNNING", "h2")  # the attempt whose worker was killed
    child(2, "FINISHED", "h2")  # its retry
    child(3, "FINISHED", "h3")
    orphan = child(5, "RUNNING", "h5")  # lost, never retried
    _, rows = load_sweep(uri, "lost", "s1")
    lines = close_lost_attempts(uri, rows)
    assert len(lines) == 2
    by_run = {line.split("(run ")[1].split(")")[0]: line for line in lines}
    assert (
        by_run[killed].startswith("job model.window=2 ")
        and "a retry of the same configuration FINISHED" in by_run[killed]
    )
    assert "model.window=5" in by_run[orphan] and "max_retries=1" in by_run[orphan]
    assert client.get_run(killed).info.status == "KILLED" and client.get_run(orphan).info.status == "KILLED"
    assert "worker killed" in client.get_run(killed).data.tags["nbw2v.error"]
    statuses = {r["config_hash"]: r["status"] for r in latest_attempts(rows)}
    assert statuses == {"h2": "FINISHED", "h3": "FINISHED", "h5": "KILLED"}
    assert close_lost_attempts(uri, load_sweep(uri, "lost", "s1")[1]) == []  # nothing left RUNNING


def test_a_driver_exiting_without_the_sweeps_end_names_and_closes_its_dead_jobs(tmp_path, monkeypatch, capsys):
    """No retries left (a Ray worker killed, max_retries 0): the launcher raises and the driver
    exits without on_multirun_end; its exit handler closes the children whose process is gone,
    each named by its axes with the way to retry, and ends the parent FAILED."""
    import socket

    from nbw2v.app.sweep import SweepCallback
    from nbw2v.tracking.tracker import ENV_SWEEP, MlflowTracker

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv(ENV_SWEEP, "s2")
    parent = MlflowTracker(uri, "exit", flush_every_s=0.0)
    parent.start(tags={"nbw2v.sweep_id": "s2", "nbw2v.role": "sweep"})
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    client = MlflowClient(uri)
    child = client.create_run(
        parent.experiment_id,
        tags={
            "nbw2v.sweep_id": "s2",
            "mlflow.parentRunId": parent.run_id,
            "nbw2v.process": f"{socket.gethostname()}:{gone.pid}:",
        },
    ).info.run_id
    client.log_param(child, "model.window", 3)
    callback = SweepCallback()
    callback.tracker = parent
    callback._end_at_exit()
    err = capsys.readouterr().err
    assert f"job model.window=3 (run {child}): its process" in err and "max_retries=1" in err
    assert client.get_run(child).info.status == "KILLED"
    assert client.get_run(parent.run_id).info.status == "FAILED"
