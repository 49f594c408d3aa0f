"""One bad value never takes a sweep down: every job's config is checked before the parent run
opens (exit 2, one line per bad value, no run), and a job failing at run time is a FAILED child
while the other jobs run and the report is written."""

import os
import subprocess

import pytest
from omegaconf import OmegaConf

from nbw2v.app.sweep_jobs import job_overrides, sweep_overrides

mlflow = pytest.importorskip("mlflow")
from conftest import sweep_runs, tiny_sweep_command  # noqa: E402
from mlflow import MlflowClient  # noqa: E402


def _sweep_config(task, params=None):
    return OmegaConf.create({"hydra": {"sweeper": {"params": params or {}}, "overrides": {"task": list(task)}}})


def test_the_jobs_of_a_grid_and_of_a_search_space():
    config = _sweep_config(["model.window=2,5", "train.epochs=1"], {"loss.K": "2,5", "model.window": "9"})
    assert sweep_overrides(config) == ["loss.K=2,5", "model.window=2,5", "train.epochs=1"]  # the command wins
    assert job_overrides(config) == [
        ["loss.K=2", "model.window=2", "train.epochs=1"],
        ["loss.K=2", "model.window=5", "train.epochs=1"],
        ["loss.K=5", "model.window=2", "train.epochs=1"],
        ["loss.K=5", "model.window=5", "train.epochs=1"],
    ]
    # an Optuna search space: its choices and both ends of each interval
    optuna = _sweep_config([], {"model.window": "int(interval(2, 12))", "train.lr": "tag(log, interval(0.005, 50))"})
    assert job_overrides(optuna) == [
        ["model.window=2", "train.lr=0.005"],
        ["model.window=2", "train.lr=50.0"],
        ["model.window=12", "train.lr=0.005"],
        ["model.window=12", "train.lr=50.0"],
    ]
    # a large grid: each value of each axis once, with the others' first values
    big = _sweep_config(["a=range(0,20)", "b=range(0,20)"])
    jobs = job_overrides(big)
    assert len(jobs) == 39 and ["a=0", "b=19"] in jobs and ["a=19", "b=0"] in jobs


@pytest.mark.slow
def test_a_bad_value_in_a_sweep_is_refused_before_any_run(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = tiny_sweep_command(tmp_path, store, "train.lr=0.025,50", "model.dim=8,0")
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("nbw2v-train: error:")]
    assert len(errors) == 2, proc.stderr  # one line per bad value, not one per job
    assert any("train.lr=50.0: expected a number > 0.0 and <= 10.0" in line for line in errors)
    assert any("model.dim=0:" in line for line in errors)
    assert "Traceback" not in proc.stderr and "Numba kernels ready" not in proc.stderr  # before any work
    assert not (tmp_path / "mlflow.db").exists()  # the store is not even opened
    assert not list((tmp_path / "multirun").rglob("*.yaml"))  # no job started


@pytest.mark.slow
def test_a_job_failing_at_run_time_is_a_failed_child_and_the_sweep_goes_on(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = tiny_sweep_command(tmp_path, store, "logger.experiment=sj")
    args = [a for a in args if a not in ("data.min_count=1", "loss.K=2,5")] + ["data.min_count=1,100000", "loss.K=2"]
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]  # the sweep ran to its end
    client = MlflowClient(store)
    parents, children = sweep_runs(client, "sj")
    assert len(children) == 4 and len(parents) == 1
    failed = [c for c in children if c.info.status == "FAILED"]
    assert len(failed) == 2 and all(c.data.params["data.min_count"] == "100000" for c in failed)
    assert all("min_count" in c.data.tags["nbw2v.error"] for c in failed)  # the reason, on the child
    assert parents[0].info.status == "FAILED" and parents[0].data.tags["nbw2v.sweep_failed"] == "2"
    assert (tmp_path / "multirun" / "report" / "runs.md").exists()
    last = proc.stdout.strip().splitlines()
    summary = next(line for line in last if line.startswith("nbw2v sweep: 4 run(s)"))
    assert "2 FINISHED, 2 FAILED" in summary and "data.min_count=100000" in summary
    assert "Traceback" not in proc.stderr
