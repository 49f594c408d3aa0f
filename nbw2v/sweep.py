"""Sweeps: the Hydra callback that groups a multirun in MLflow and prepares its jobs.

At multirun start (in the launching process, once, before any job):

* the MLflow store and experiment are created here, serially (concurrent creation and schema
  migration race), and a *parent run* is opened with a ``nbw2v.sweep_id`` tag; its id reaches
  the jobs as ``NBW2V_PARENT_RUN_ID`` (not ``MLFLOW_RUN_ID``, with which MLflow would log the
  jobs *into* that run), so each job is a nested child run and the UI shows one group;
* with a parallel launcher (``hydra/launcher=joblib``), each job gets ``cores // n_jobs``
  Numba and BLAS threads (``NBW2V_THREADS_PER_JOB``): jobs x threads <= cores;
* the Numba cache is warmed by one tiny training in this process, so parallel jobs load the
  kernels instead of compiling them concurrently into one cache directory (Numba #4807, #10128).

At multirun end the parent run ends FINISHED if every child finished, else FAILED, with the
sweep report (table and heatmaps, :mod:`nbw2v.report`) as its artifacts. An exit without
``on_multirun_end`` (a crash, Ctrl-C) still ends it (FAILED / KILLED), never left RUNNING.

``logger.skip_finished=true`` resumes a sweep: the parent with the same sweep key (same
experiment and sweep overrides) is reused and children whose exact config already FINISHED
are skipped.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from .tracking import ENV_PARENT, ENV_SWEEP, MlflowTracker, with_retry
from .train import ENV_THREADS


def sweep_key(experiment: str, overrides: list[str]) -> str:
    relevant = sorted(o for o in overrides if not o.startswith(("hydra", "logger.skip_finished")))
    return hashlib.sha256("\n".join([experiment, *relevant]).encode()).hexdigest()[:12]


def parallel_jobs(config: DictConfig) -> int:
    """Jobs running at once on this machine (joblib); 1 for the basic launcher."""
    launcher = config.hydra.launcher
    if "joblib" not in str(launcher.get("_target_", "")):
        return 1
    n_jobs = int(launcher.get("n_jobs", -1) or -1)
    return (os.cpu_count() or 1) if n_jobs < 0 else n_jobs


def cpus_per_job(config: DictConfig) -> int | None:
    """CPUs a cluster launcher gives each job (submitit's cpus_per_task), if it says."""
    launcher = config.hydra.launcher
    if "submitit" in str(launcher.get("_target_", "")) and launcher.get("cpus_per_task"):
        return int(launcher.cpus_per_task)
    return None


def warm_numba_cache() -> float:
    """Compile (or load) the training kernels once, in this process; returns seconds."""
    from .config import Config
    from .progress import SilentProgress
    from .train import train

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "warm.txt"
        corpus.write_text("a b c d e f g h\n" * 200)
        cfg = Config()
        cfg.data.corpus, cfg.data.min_count, cfg.data.sample = str(corpus), 1, 0.0
        cfg.model.dim, cfg.train.epochs, cfg.train.threads = 4, 1, 1
        for arch in ("skipgram", "cbow"):
            cfg.model.arch = arch
            train(cfg, progress=SilentProgress())
    return time.perf_counter() - start


class SweepCallback(Callback):
    def __init__(self) -> None:
        self.tracker: MlflowTracker | None = None
        self.ended = False

    # ---- start ---------------------------------------------------------------------------------

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        jobs = parallel_jobs(config)
        cores = os.cpu_count() or 1
        if cpus_per_job(config) and not config.train.threads:  # SLURM / submitit: the task's CPUs
            os.environ[ENV_THREADS] = str(cpus_per_job(config))
            print(f"nbw2v sweep: {cpus_per_job(config)} thread(s) per job (cpus_per_task)", file=sys.stderr)
        elif jobs > 1 and not config.train.threads:
            threads = max(1, cores // jobs)
            for var in (ENV_THREADS, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = str(threads)
            print(f"nbw2v sweep: {jobs} parallel jobs x {threads} thread(s) each on {cores} cores", file=sys.stderr)
        seconds = warm_numba_cache()
        print(f"nbw2v sweep: Numba kernels ready ({seconds:.1f} s, cached for the jobs)", file=sys.stderr)
        if config.logger.name == "none":
            return
        overrides = list(config.hydra.overrides.task)
        key = sweep_key(config.logger.experiment, overrides)
        tracker = MlflowTracker(config.logger.tracking_uri, config.logger.experiment, flush_every_s=0.0)
        client = tracker.connect()  # creates/migrates the store and the experiment, once
        previous = None
        if config.logger.skip_finished:
            found = with_retry(
                client.search_runs,
                [tracker.experiment_id],
                filter_string=f"tags.`nbw2v.sweep_key` = '{key}' and tags.`nbw2v.role` = 'sweep'",
                max_results=1,
            )
            previous = found[0] if found else None
        if previous is not None:
            tracker.run_id, tracker.run_name = previous.info.run_id, previous.info.run_name
            sweep_id = previous.data.tags["nbw2v.sweep_id"]
            with_retry(client.update_run, tracker.run_id, status="RUNNING")
            print(f"nbw2v sweep: resuming sweep {sweep_id} (parent run {tracker.run_id})", file=sys.stderr)
        else:
            sweep_id = time.strftime("%Y%m%d-%H%M%S-") + key[:6]
            tracker.run_name = f"sweep {sweep_id}"
            tracker.start(tags={"nbw2v.sweep_id": sweep_id, "nbw2v.sweep_key": key, "nbw2v.role": "sweep"})
            tracker.log_text("\n".join(overrides) + "\n", "sweep/overrides.txt")
            tracker.set_tags({"nbw2v.sweep_jobs": str(jobs), "nbw2v.sweep_dir": str(config.hydra.sweep.dir)})
        os.environ[ENV_PARENT] = tracker.run_id
        os.environ[ENV_SWEEP] = sweep_id
        self.tracker = tracker
        atexit.register(self._end_at_exit)
        print(f"nbw2v sweep: {sweep_id}, MLflow parent run {tracker.run_id}", file=sys.stderr)

    # ---- end -----------------------------------------------------------------------------------

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.tracker is None or self.ended:
            return
        from .report import build_report, load_sweep

        tracker = self.tracker
        sweep_id = os.environ.get(ENV_SWEEP, "")
        _, rows = load_sweep(tracker.tracking_uri, tracker.experiment_name, sweep_id)
        statuses = [r["status"] for r in rows]
        status = "FINISHED" if statuses and all(s == "FINISHED" for s in statuses) else "FAILED"
        try:
            out = Path(str(config.hydra.sweep.dir)) / "report"
            paths = build_report(rows, out, title=f"sweep {sweep_id}")
            for path in paths:
                tracker.log_artifact(path, "report")
            print(f"nbw2v sweep: report in {out}", file=sys.stderr)
        finally:
            tracker.set_tags(
                {"nbw2v.sweep_children": str(len(rows)), "nbw2v.sweep_failed": str(statuses.count("FAILED"))}
            )
            tracker.end(status)
            self.ended = True
        print(f"nbw2v sweep: {len(rows)} run(s), {status}\n{tracker.describe()}", file=sys.stderr)

    def _end_at_exit(self) -> None:
        if self.tracker is not None and not self.ended:
            interrupted = isinstance(getattr(sys, "last_value", None), KeyboardInterrupt)
            try:
                self.tracker.end("KILLED" if interrupted else "FAILED")
            except Exception:  # noqa: BLE001  (exiting anyway)
                pass
            self.ended = True
