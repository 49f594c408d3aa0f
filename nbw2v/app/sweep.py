"""Sweeps: the Hydra callback that groups a multirun in MLflow and prepares its jobs.

At multirun start (in the launching process, once, before any job):

* the MLflow store and experiment are created here, serially (concurrent creation and schema
  migration race), and a *parent run* is opened with a ``nbw2v.sweep_id`` tag; its id reaches
  the jobs as ``NBW2V_PARENT_RUN_ID`` (not ``MLFLOW_RUN_ID``, with which MLflow would log the
  jobs *into* that run), so each job is a nested child run and the UI shows one group;
* with a parallel launcher (``hydra/launcher=joblib``), each job gets ``cores // n_jobs``
  Numba and BLAS threads (``NBW2V_THREADS_PER_JOB``): jobs x threads <= cores; with a cluster
  launcher, the CPUs each job declares (submitit's ``cpus_per_task``, Ray's ``num_cpus``);
* with hydra-ray-launcher, Ray is connected here with a ``runtime_env`` carrying these variables
  and the launch directory to the jobs (Ray workers inherit neither from this process);
* the Numba cache is warmed by one tiny training in this process, so parallel jobs load the
  kernels instead of compiling them concurrently into one cache directory (Numba #4807, #10128).

At multirun end the parent run ends FINISHED if every child finished, else FAILED, with the
sweep report (table and heatmaps, :mod:`nbw2v.app.report`) as its artifacts. An exit without
``on_multirun_end`` (a crash, Ctrl-C) still ends it (FAILED / KILLED), never left RUNNING.

``logger.skip_finished=true`` resumes a sweep: the parent with the same sweep key (same
experiment and sweep overrides) is reused and children whose exact config already FINISHED
are skipped.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from nbw2v.app.launchers import check_ray_address, check_ray_fit, check_slurm
from nbw2v.tracking.tracker import ENV_PARENT, ENV_SWEEP, MlflowTracker
from nbw2v.training.train import ENV_THREADS


def sweep_key(experiment: str, overrides: list[str]) -> str:
    relevant = sorted(o for o in overrides if not o.startswith(("hydra", "logger.skip_finished", "train.resume=")))
    return hashlib.sha256("\n".join([experiment, *relevant]).encode()).hexdigest()[:12]


#: the sweep's job count and start time, for each job's progress line (set by the sweep's driver)
ENV_TOTAL, ENV_START = "NBW2V_SWEEP_TOTAL", "NBW2V_SWEEP_START"


def count_jobs(config: DictConfig, study=None) -> int | None:
    """How many jobs the sweep launches: the product of the sweep overrides' value counts (the
    command's and ``hydra.sweeper.params``'), or the study's ``n_trials``; None when unknown."""
    if study is not None:
        trials = config.hydra.sweeper.get("n_trials")
        return int(trials) if trials else None
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from nbw2v.app.sweep_jobs import sweep_overrides

    try:
        parsed = OverridesParser.create().parse_overrides(sweep_overrides(config))
    except Exception:  # noqa: BLE001  (Hydra reports a bad override itself)
        return None
    total = 1
    for override in parsed:
        if override.is_sweep_override():
            total *= len(list(override.sweep_string_iterator()))
    return total


def progress_line(counts: dict[str, int], total: int | None, started: float | None, now: float) -> str:
    """``nbw2v sweep: 5 of 27 jobs done (4 finished, 1 failed), 2 running, ETA 0:03:10``."""
    from nbw2v.progress import format_eta

    done = counts.get("FINISHED", 0) + counts.get("FAILED", 0) + counts.get("KILLED", 0)
    parts = [f"{counts.get('FINISHED', 0)} finished"]
    parts += [f"{counts[s]} {s.lower()}" for s in ("FAILED", "KILLED") if counts.get(s)]
    text = f"nbw2v sweep: {done}{f' of {total}' if total else ''} jobs done ({', '.join(parts)})"
    if counts.get("RUNNING"):
        text += f", {counts['RUNNING']} running"
    if total and started and 0 < done < total:
        text += f", ETA {format_eta((now - started) / done * (total - done))}"
    return text


def parallel_jobs(config: DictConfig) -> int:
    """Jobs running at once on this machine (joblib); 1 for the basic launcher."""
    launcher = config.hydra.launcher
    if "joblib" not in str(launcher.get("_target_", "")):
        return 1
    n_jobs = int(launcher.get("n_jobs", -1) or -1)
    return (os.cpu_count() or 1) if n_jobs < 0 else n_jobs


def is_ray(config: DictConfig) -> bool:
    """hydra-ray-launcher's RayLauncher, or nbw2v's (``hydra/launcher=nbw2v_ray``)."""
    return str(config.hydra.launcher.get("_target_", "")).endswith("RayLauncher")


def is_slurm(config: DictConfig) -> bool:
    return "SlurmLauncher" in str(config.hydra.launcher.get("_target_", ""))


def cpus_per_job(config: DictConfig) -> int | None:
    """CPUs a cluster launcher gives each job (submitit's cpus_per_task, Ray's remote num_cpus)."""
    launcher = config.hydra.launcher
    if "submitit" in str(launcher.get("_target_", "")) and launcher.get("cpus_per_task"):
        return int(launcher.cpus_per_task)
    if is_ray(config):
        cpus = (launcher.get("ray") or {}).get("remote", {}).get("num_cpus")
        return max(1, int(cpus)) if cpus else None
    return None


# Forwarded to Ray jobs: Ray workers are started by the cluster's raylets, not by this process,
# so they inherit neither its environment nor its working directory.
FORWARD_PREFIXES = ("NBW2V_", "MLFLOW_", "NUMBA_", "OMP_", "OPENBLAS_", "MKL_")
ENV_LAUNCH_DIR = "NBW2V_LAUNCH_DIR"


def ray_worker_setup() -> None:
    """Run by Ray in each worker process before any job: work in the directory the sweep was
    launched from, where it exists (one machine, or a shared file system), so relative paths
    (corpus, ./mlflow.db, multirun/) mean what they mean for the local launchers."""
    launch_dir = os.environ.get(ENV_LAUNCH_DIR, "")
    if launch_dir and os.path.isdir(launch_dir):
        os.chdir(launch_dir)


#: the stock cluster launchers and nbw2v's, which collect every job's result (a lost job or a
#: refused submission ends with one line, not the sweep's traceback)
COLLECTING = {
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher": (
        "hydra_plugins.nbw2v_submitit_launcher.NbW2vSlurmLauncher"
    ),
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher": (
        "hydra_plugins.nbw2v_submitit_launcher.NbW2vLocalLauncher"
    ),
    "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher": "hydra_plugins.nbw2v_ray_launcher.NbW2vRayLauncher",
}


def collect_every_job(config: DictConfig) -> None:
    """``hydra/launcher=submitit_slurm``, ``submitit_local`` or ``ray``: swapped for nbw2v's own
    (the same settings; Hydra makes the launcher after this callback's start)."""
    from omegaconf import open_dict, read_write

    target = str(config.hydra.launcher.get("_target_", ""))
    if target in COLLECTING:
        with read_write(config.hydra), open_dict(config.hydra.launcher):
            config.hydra.launcher._target_ = COLLECTING[target]


def check_launcher(config: DictConfig) -> None:
    """The cluster launcher's preflight (:mod:`nbw2v.app.launchers`): before any run is opened."""
    if is_slurm(config):
        check_slurm(launcher=str((config.hydra.runtime.get("choices") or {}).get("hydra/launcher") or "nbw2v_slurm"))
    if is_ray(config):
        check_ray_address(str((config.hydra.launcher.ray.init or {}).get("address") or ""))
        check_ray_resources(config)


def check_ray_resources(config: DictConfig) -> None:
    """A short connection before the parent run opens: can any node of the cluster run a job
    (:func:`nbw2v.app.launchers.check_ray_fit`)?"""
    import ray
    from omegaconf import OmegaConf

    init = OmegaConf.to_container(config.hydra.launcher.ray.init, resolve=True) or {}
    try:
        with nbw2v_signal_handlers():
            ray.init(address=init.get("address"), log_to_driver=False, logging_level="ERROR")
        nodes = ray.nodes()
    except (ConnectionError, ValueError) as exc:
        raise SystemExit(_ray_unreachable(init, exc)) from None
    finally:
        if ray.is_initialized():
            ray.shutdown()
    check_ray_fit(cpus_per_job(config), nodes)


@contextlib.contextmanager
def nbw2v_signal_handlers():
    """Keep nbw2v's SIGINT/SIGTERM handlers across ``ray.init``, which puts its own in place (on
    SIGTERM the driver then exits FAILED at once, or Ray's C++ handler aborts it with 134): with
    nbw2v's, a signal stops the jobs with their checkpoints (:mod:`nbw2v.app.ray_launcher`)."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


def _ray_unreachable(init: dict, exc: Exception) -> str:
    return (
        f"nbw2v sweep: cannot reach the Ray cluster at hydra.launcher.ray.init.address={init.get('address')} "
        f"({str(exc).splitlines()[0]}); start it with `ray start --head` or set RAY_ADDRESS=host:port"
    )


def connect_ray(config: DictConfig) -> None:
    """Connect to Ray before hydra-ray-launcher does, with a runtime_env that gives every job
    this process's nbw2v/MLflow/thread variables and launch directory (the launcher then reuses
    the connection). A cluster that cannot be reached is one clear error."""
    import ray
    from omegaconf import OmegaConf

    init = OmegaConf.to_container(config.hydra.launcher.ray.init, resolve=True) or {}
    runtime_env = dict(init.pop("runtime_env", None) or {})
    env_vars = {k: v for k, v in os.environ.items() if k.startswith(FORWARD_PREFIXES)}
    env_vars[ENV_LAUNCH_DIR] = os.getcwd()
    env_vars.update(runtime_env.get("env_vars") or {})  # the user's own runtime_env wins
    runtime_env["env_vars"] = env_vars
    runtime_env.setdefault("worker_process_setup_hook", "nbw2v.app.sweep.ray_worker_setup")
    if ray.is_initialized():
        ray.shutdown()
    try:
        with nbw2v_signal_handlers():
            ray.init(**init, runtime_env=runtime_env, log_to_driver=True)
    except (ConnectionError, ValueError) as exc:
        raise SystemExit(_ray_unreachable(init, exc)) from None
    resources = ray.cluster_resources()
    print(f"nbw2v sweep: Ray cluster with {resources.get('CPU', 0):g} CPU(s)", file=sys.stderr)


def warm_numba_cache() -> float:
    """Compile (or load) the training kernels once, in this process; returns seconds."""
    from nbw2v.config import Config
    from nbw2v.progress import SilentProgress
    from nbw2v.training.train import train

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "warm.txt"
        corpus.write_text("a b c d e f g h\n" * 200)
        cfg = Config()
        cfg.data.corpus, cfg.data.min_count, cfg.data.sample = str(corpus), 1, 0.0
        cfg.model.dim, cfg.train.epochs, cfg.train.threads = 4, 1, 1
        cfg.train.checkpoint_dir, cfg.data.cache = str(Path(tmp) / "checkpoints"), False
        for arch in ("skipgram", "cbow"):
            cfg.model.arch = arch
            train(cfg, progress=SilentProgress())
    return time.perf_counter() - start


def latest_attempts(rows: list[dict]) -> list[dict]:
    """The last run of each configuration: a run cut short and later resumed (or rerun) does
    not count against the sweep once its configuration FINISHED."""
    latest: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: r.get("start") or 0):
        latest[row.get("config_hash") or row["run_id"]] = row
    return list(latest.values())


#: how to make a job whose worker dies run again
RETRY_HINT = "hydra.launcher.ray.remote.max_retries=1 (Ray), hydra.launcher.max_num_timeout (SLURM)"
#: exit code of a sweep whose jobs ran but whose tracking is (partly) in journals, not in MLflow
EXIT_JOURNALED = 3


def conclude_sweep(tracker: MlflowTracker, rows: list[dict], out: Path, sweep_id: str, total: int = 0) -> str:
    """The end of a sweep on its (open) parent run: lost attempts closed, the report built into
    ``out`` and logged, the best child's scores and config on the parent, the counts as tags.
    Returns the parent's status (FINISHED when every configuration's latest run FINISHED and,
    for a grid of ``total`` jobs, every configuration has a run)."""
    from nbw2v.app.report import attach_predictions, build_report

    for line in close_lost_attempts(tracker.tracking_uri, rows):
        print(f"nbw2v sweep: {line}", file=sys.stderr)
    statuses = [r["status"] for r in latest_attempts(rows)]
    try:
        try:  # per-item predictions: the report's seed- and item-aware comparison with the best
            attach_predictions(rows, tracker.tracking_uri)
        except Exception as exc:  # noqa: BLE001  (the report falls back to the logged scores)
            print(f"nbw2v sweep: per-item predictions not read ({type(exc).__name__}: {exc})", file=sys.stderr)
        for path in build_report(rows, out, title=f"sweep {sweep_id}"):
            tracker.log_artifact(path, "report")
        print(f"nbw2v sweep: report in {out}", file=sys.stderr)
        best = log_best(tracker, rows)
        if best:
            print(f"nbw2v sweep: best {best}", file=sys.stderr)
    finally:
        tracker.set_tags({"nbw2v.sweep_children": str(len(rows)), "nbw2v.sweep_failed": str(statuses.count("FAILED"))})
    missing = max(0, total - len(statuses)) if total else 0
    if missing:
        named = never_ran(out, rows)
        which = f": {', '.join(named[:8])}{' ...' if len(named) > 8 else ''}" if named else ""
        tracker.set_tags({"nbw2v.sweep_missing": str(missing), "nbw2v.sweep_missing_jobs": which[2:][:500]})
        print(
            f"nbw2v sweep: {missing} of its {total} configurations never ran (no run in the store){which}; the sweep "
            "is incomplete: rerun the same command with logger.skip_finished=true to run only those",
            file=sys.stderr,
        )
    return "FINISHED" if statuses and not missing and all(s == "FINISHED" for s in statuses) else "FAILED"


def log_best(tracker: MlflowTracker, rows: list[dict]) -> str:
    """The best FINISHED child by the sweep's objective (WordSim353, else the first
    similarity score) on the parent: its scores under ``best/<the children's metric name>``
    (the runs table then shows the top result once, in the child's row; the parent's copy
    does not sort among the children), and which config it was."""
    import math

    from nbw2v.app.run import objective

    scored = [(objective(r["metrics"]), r) for r in rows if r["status"] == "FINISHED"]
    scored = [(v, r) for v, r in scored if not math.isnan(v)]
    if not scored:
        return ""
    value, best = max(scored, key=lambda item: item[0])
    log_progress_curves(tracker, rows)
    keep = ("eval/", "loss/epoch", "gradcheck/log10_max_rel_err", "gradcheck/max_rel_err")
    tracker.log_metrics({f"best/{k}": v for k, v in best["metrics"].items() if k.startswith(keep)})
    params = best["params"]
    axes = job_axes(params, rows)
    chosen = " ".join(f"{a}={params[a]}" for a in axes)
    tracker.set_tags({"nbw2v.best_run": best["run_id"], "nbw2v.best_config": chosen})
    # the best child's settings under the same names: the parent's row in the runs table reads
    # as "best config -> its scores" beside its children
    tracker.log_params({a: params[a] for a in axes})
    tracker.flush()
    return f"{value:.3f}: {chosen} (run {best['name']})"


def log_progress_curves(tracker: MlflowTracker, rows: list[dict]) -> None:
    """The sweep's history on the parent, as Optuna's history plot reads: each finished job's
    objective (``sweep/job_objective``) and the best so far (``sweep/best_so_far``) against the
    job's index in start order (the parent's model-metrics tab then shows two curves)."""
    import math

    from nbw2v.app.run import objective

    best = -math.inf
    done = [r for r in sorted(rows, key=lambda r: r.get("start") or 0) if r["status"] == "FINISHED"]
    for index, row in enumerate(done):
        value = objective(row["metrics"])
        if math.isnan(value):
            continue
        best = max(best, value)
        tracker.log_metrics({"sweep/job_objective": value, "sweep/best_so_far": best}, step=index)


def finish_replayed_sweep(tracking_uri: str, experiment: str, sweep_id: str, out: Path, end_ms: int | None) -> str:
    """After ``nbw2v replay`` sent a sweep's journals: conclude it as its end would have (report,
    best run, status from the children), keeping the parent's original end time. Returns the status."""
    from mlflow import MlflowClient

    from nbw2v.app.report import load_sweep

    tracker = MlflowTracker(tracking_uri, experiment, flush_every_s=0.0)
    if not tracker.reopen({"nbw2v.sweep_id": sweep_id, "nbw2v.role": "sweep"}):
        raise ValueError(f"sweep {sweep_id}: no parent run in {tracker.tracking_uri} (replay its journal first)")
    end_ms = end_ms or tracker.reopened_end_time  # ended in MLflow before (no journal of its end): that time
    sweep_dir = Path(tracker.reopened_tags.get("nbw2v.sweep_dir") or "")
    if str(sweep_dir) not in ("", ".") and sweep_dir.is_dir():  # its output directory, where its end puts it
        out = sweep_dir / "report"
    _, rows = load_sweep(tracker.tracking_uri, experiment, sweep_id)
    status = "FAILED"
    try:
        total = int(tracker.reopened_tags.get("nbw2v.sweep_total") or 0)
        status = conclude_sweep(tracker, rows, out, sweep_id, total)
        tracker.set_tags({"nbw2v.sweep_note": "tracking replayed from journals"})
        tracker.flush()
    finally:
        MlflowClient(tracker.tracking_uri).set_terminated(tracker.run_id, status=status, end_time=end_ms)
    return status


def job_axes(params: dict, rows: list[dict]) -> list[str]:
    """The sweep's axes a child's params have: window, K, dim first, then the other swept keys."""
    from nbw2v.app.report import swept_axes

    return [k for k in dict.fromkeys(("model.window", "loss.K", "model.dim", *swept_axes(rows))) if k in params]


def publish_sweep_views(tracker, rows: list[dict], sweep_id: str) -> str:
    """The sweep's views in the MLflow UI (:mod:`nbw2v.tracking.ui_views`): its runs on its own
    axes (the "compare the runs" link, returned) and the parent's progress charts."""
    from nbw2v.app.report import varying_axes
    from nbw2v.tracking import ui_views

    axes = varying_axes(rows) or list(ui_views.AXES)
    tracker.publish_view(ui_views.sweep_view_key(sweep_id), ui_views.scores_view(axes, tracker.run_id))
    tracker.publish_view(ui_views.run_view_key(tracker.run_id), ui_views.sweep_parent_view(tracker.run_id))
    return ui_views.ui_links(tracker.ui_base(), tracker.experiment_id, sweep_id=sweep_id)["compare"]


def summary_line(rows: list[dict], status: str, total: int | None = None) -> str:
    """The sweep's last word: ``nbw2v sweep: 4 run(s), FAILED: 2 FINISHED, 2 FAILED; not
    finished: model.window=2 data.min_count=100000 (FAILED: ...); ...``, counting each
    configuration's latest attempt, plus the jobs that opened no run (Optuna: trials)."""
    latest = latest_attempts(rows)
    counts = Counter(r["status"] for r in latest)
    order = ("FINISHED", "FAILED", "KILLED", "RUNNING")
    text = f"nbw2v sweep: {len(rows)} run(s), {status}: " + ", ".join(
        f"{counts[s]} {s}" for s in sorted(counts, key=lambda s: order.index(s) if s in order else len(order))
    )
    if total and total > len(latest):
        text += f"; {total - len(latest)} job(s) opened no run (their lines above say why)"
    groups: dict[tuple[str, str], list[str]] = {}  # the same reason said once
    for r in (r for r in latest if r["status"] != "FINISHED"):
        groups.setdefault((r["status"], _short(r.get("error")) or "no reason recorded"), []).append(
            describe_job(r, rows)
        )
    if groups:
        parts = [
            f"{', '.join(jobs[:5])}{' ...' if len(jobs) > 5 else ''} ({st}: {why})"
            for (st, why), jobs in groups.items()
        ]
        text += "; not finished: " + "; ".join(parts[:5]) + ("; ..." if len(parts) > 5 else "")
    return text


def _short(text: str | None, limit: int = 160) -> str:
    text = (text or "").splitlines()[0] if text else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_job(row: dict, rows: list[dict]) -> str:
    """A child run by the values of the sweep's axes (the overrides that made its job)."""
    from nbw2v.app.report import varying_axes

    params = row.get("params", {})
    varying = [k for k in varying_axes(rows) if k in params] or job_axes(params, rows)
    return " ".join(f"{k}={row['params'][k]}" for k in varying) or row["run_id"]


def close_lost_attempts(tracking_uri: str, rows: list[dict]) -> list[str]:
    """Once every job of the sweep has returned, a child still RUNNING belongs to an attempt
    whose process died without closing it (a killed Ray worker, an OOM kill, a lost node): it
    is closed KILLED with that reason (in ``rows`` too). Returns one line per such job, saying
    whether a retry of its configuration finished."""
    from nbw2v.tracking.tracker import close_runs

    lost = [r for r in rows if r["status"] == "RUNNING"]
    if not lost:
        return []
    reason = "its job's process ended without closing the run (worker killed, out of memory, node lost)"
    # ended when its process was last heard of (its heartbeat), not now
    close_runs([(r["run_id"], reason, r.get("heartbeat_ms")) for r in lost], tracking_uri)
    finished = {r.get("config_hash") for r in rows if r["status"] == "FINISHED"}
    attempts = Counter(r.get("config_hash") or r["run_id"] for r in rows)
    lines = []
    for row in lost:
        row["status"], row["error"] = "KILLED", reason
        tries = attempts[row.get("config_hash") or row["run_id"]]
        if row.get("config_hash") in finished:
            outcome = "a retry of the same configuration FINISHED"
        elif tries > 1:
            outcome = f"all {tries} attempts of this configuration died (retries used up)"
        else:
            outcome = f"not retried ({RETRY_HINT})"
        lines.append(f"job {describe_job(row, rows)} (run {row['run_id']}): {reason}; closed KILLED; {outcome}")
    return lines


#: in a sweep's output directory: each job of a grid, its configuration hash -> its sweep values
#: (names the configurations that never ran, also when the sweep is concluded by a replay)
JOBS_FILE = "jobs.json"


def check_every_job(config: DictConfig) -> dict[str, str]:
    """Every job's config composed and validated before anything starts: one line per bad
    value (naming a job that has it) and exit 2, no run opened, no job launched. Returns each
    job of a grid by its configuration hash (:func:`nbw2v.app.sweep_jobs.check_jobs`)."""
    from nbw2v.app.sweep_jobs import check_jobs

    # a cluster job's cores are its node's, not this machine's
    local = not (is_ray(config) or is_slurm(config))
    problems, names = check_jobs(config, local=local)
    for problem in problems:
        print(f"nbw2v-train: error: {problem}", file=sys.stderr)
    if problems:
        print(
            f"nbw2v-train: the sweep was not started ({len(problems)} bad value(s) above): fix them and rerun",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if names and not str(config.train.get("resume") or ""):
        check_no_interrupted_jobs(Path(str(config.train.checkpoint_dir)), names)
    return names


def check_no_interrupted_jobs(checkpoint_dir: Path, names: dict[str, str]) -> None:
    """A sweep rerun without ``train.resume`` whose jobs left checkpoints (an interrupted
    sweep): each such job would refuse to overwrite its checkpoint, one by one, after the jobs
    before it retrained. Refused before anything starts, naming the jobs and the fix."""
    held = [name for digest, name in names.items() if list(checkpoint_dir.glob(f"nbw2v-{digest}*.npz"))]
    if held:
        print(
            f"nbw2v-train: error: {len(held)} job(s) of this sweep have an interrupted run's checkpoint in "
            f"{checkpoint_dir} ({', '.join(held[:5])}{' ...' if len(held) > 5 else ''}): rerun with "
            "train.resume=auto logger.skip_finished=true to continue the sweep, or delete those checkpoints to "
            "start it over",
            file=sys.stderr,
        )
        raise SystemExit(2)


def never_ran(out: Path, rows: list[dict]) -> list[str]:
    """The configurations of the grid with no run among ``rows`` (by their sweep values), from
    the ``JOBS_FILE`` beside the report folder ``out``; empty when that file is not there."""
    import json

    try:
        names = json.loads((out.parent / JOBS_FILE).read_text())
    except (OSError, ValueError):
        return []
    seen = {r.get("config_hash") for r in rows}
    return [name for digest, name in names.items() if digest not in seen]


def check_sweeper(config: DictConfig):
    """The nbw2v_optuna sweeper's study (its settings and Optuna itself checked; ``None`` for
    another sweeper): one line and exit 2 if wrong."""
    from nbw2v.app.optuna_sweeper import check_config
    from nbw2v.config import ConfigError

    try:
        return check_config(config)
    except ConfigError as exc:
        print(f"nbw2v-train: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


#: the sweep this process drives, for a launcher that must end it early (:func:`end_sweep_early`)
ACTIVE: list[SweepCallback] = []


RERUN_REST = "When the cluster is back, rerun the same command with logger.skip_finished=true to run only those"


def end_sweep_early(reason: str, not_run: list[str], advice: str = RERUN_REST) -> None:
    """The launcher cannot go on (a lost Ray head, a refused submission: :mod:`nbw2v.app.ray_launcher`,
    :mod:`nbw2v.app.submitit_launcher`): end the sweep of this process with what the store holds,
    its parent FAILED with ``reason``."""
    if ACTIVE:
        ACTIVE[-1].end_early(reason, not_run, advice)


def varying_overrides(jobs: list[list[str]]) -> list[str]:
    """Each job by the overrides that differ between the jobs (all of its own when alone)."""
    every = [set(over) for over in jobs]
    varying = set().union(*every) - set.intersection(*every) if len(every) > 1 else set()
    return [" ".join(o for o in over if o in varying) or " ".join(over) for over in jobs]


class SweepCallback(Callback):
    def __init__(self) -> None:
        self.tracker: MlflowTracker | None = None
        self.ended = False
        self.study = None
        self.job_names: dict[str, str] = {}
        self.sweep_dir = Path("multirun")

    def __getstate__(self) -> dict[str, Any]:
        # Ray pickles Hydra's callbacks into each job; the parent run stays with the launcher
        return {"tracker": None, "ended": True, "study": None, "job_names": {}, "sweep_dir": self.sweep_dir}

    # ---- start ---------------------------------------------------------------------------------

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from nbw2v.tracking.liveness import release_interrupts

        release_interrupts()  # held while Hydra composed the config (nbw2v.app.hydra_app.main)
        collect_every_job(config)
        study = self.study = check_sweeper(config)  # before the parent run is opened or a kernel compiled
        self.job_names = check_every_job(config)
        check_launcher(config)
        jobs = parallel_jobs(config)
        cores = os.cpu_count() or 1
        threads, declared = None, cpus_per_job(config)
        if declared and not config.train.threads:  # SLURM / Ray: the CPUs a job declares
            threads = declared
            print(f"nbw2v sweep: {threads} thread(s) per job (the CPUs each job declares)", file=sys.stderr)
        elif jobs > 1 and not config.train.threads:
            threads = max(1, cores // jobs)
            print(f"nbw2v sweep: {jobs} parallel jobs x {threads} thread(s) each on {cores} cores", file=sys.stderr)
        if threads:
            for var in (ENV_THREADS, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = str(threads)
        seconds = warm_numba_cache()
        print(f"nbw2v sweep: Numba kernels ready ({seconds:.1f} s, cached for the jobs)", file=sys.stderr)
        if config.logger.name != "none":
            self._start_parent(config, jobs, study)
        if is_ray(config):
            connect_ray(config)

    def _start_parent(self, config: DictConfig, jobs: int, study=None) -> None:
        """Open the parent run, or reuse the earlier one: with ``logger.skip_finished`` (same
        sweep key) and for a resumed Optuna study kept in a database (same study name), so one
        parent gathers every trial of the study."""
        overrides = list(config.hydra.overrides.task)
        key = sweep_key(config.logger.experiment, overrides)
        tracker = MlflowTracker(
            config.logger.tracking_uri,
            config.logger.experiment,
            flush_every_s=0.0,
            journal_dir=str(config.logger.get("journal_dir") or ""),
            role="sweep",
        )
        tracker.connect()  # creates/migrates the store and the experiment, once
        lookup = {}
        if study is not None and study.storage:
            lookup = {"nbw2v.optuna_study": study.study_name}
        elif config.logger.skip_finished:
            lookup = {"nbw2v.sweep_key": key}
        if lookup and tracker.reopen({**lookup, "nbw2v.role": "sweep"}):
            sweep_id = tracker.reopened_tags["nbw2v.sweep_id"]
            print(f"nbw2v sweep: resuming sweep {sweep_id} (parent run {tracker.run_id})", file=sys.stderr)
            self._close_dead_children(tracker)
        else:
            sweep_id = time.strftime("%Y%m%d-%H%M%S-") + key[:6]
            tracker.run_name = f"sweep {sweep_id}"
            tracker.start(tags={"nbw2v.sweep_id": sweep_id, "nbw2v.sweep_key": key, "nbw2v.role": "sweep"})
            tracker.log_text("\n".join(overrides) + "\n", "sweep/overrides.txt")
            out = Path(str(config.hydra.sweep.dir)).resolve()  # absolute: a replay from elsewhere finds it
            tracker.set_tags({"nbw2v.sweep_jobs": str(jobs), "nbw2v.sweep_dir": str(out)})
            if study is not None:
                tracker.set_tags({"nbw2v.optuna_study": study.study_name})
        os.environ[ENV_PARENT] = tracker.run_id
        os.environ[ENV_SWEEP] = sweep_id
        total = count_jobs(config, study)
        if total:
            os.environ[ENV_TOTAL] = str(total)
            if study is None:  # a grid: configurations that never ran make the sweep incomplete
                tracker.set_tags({"nbw2v.sweep_total": str(total)})
        os.environ[ENV_START] = str(time.time())
        if not config.logger.tracking_uri:  # the store this process resolved, for jobs elsewhere
            os.environ.setdefault("MLFLOW_TRACKING_URI", tracker.tracking_uri)
        self.tracker = tracker
        self.sweep_dir = Path(str(config.hydra.sweep.dir))
        if self.job_names:
            import json

            self.sweep_dir.mkdir(parents=True, exist_ok=True)
            (self.sweep_dir / JOBS_FILE).write_text(json.dumps(self.job_names, indent=1))
        ACTIVE.append(self)
        atexit.register(self._end_at_exit)
        print(f"nbw2v sweep: {sweep_id}, MLflow parent run {tracker.run_id}", file=sys.stderr)

    @staticmethod
    def _close_dead_children(tracker: MlflowTracker, at_exit: bool = False) -> None:
        """Children left RUNNING by a process that is gone end KILLED: at a resumed sweep's start
        (an earlier, killed invocation's), or when this sweep's driver exits without its end (a
        job's worker died and no retry was left: each named by its axes)."""
        from nbw2v.tracking.tracker import close_runs, running_runs

        dead = [
            (r["run_id"], r["stale"])
            for r in running_runs(tracker.tracking_uri, tracker.experiment_name)
            if r["parent"] == tracker.run_id and r["stale"]
        ]
        if not dead:
            return
        close_runs(dead, tracker.tracking_uri)
        if not at_exit:
            print(f"nbw2v sweep: {len(dead)} run(s) of a killed earlier attempt closed as KILLED", file=sys.stderr)
            return
        from nbw2v.app.report import load_sweep

        rows = load_sweep(tracker.tracking_uri, tracker.experiment_name, os.environ.get(ENV_SWEEP, ""))[1]
        named = {r["run_id"]: describe_job(r, rows) for r in rows}
        for run_id, reason in dead:
            print(
                f"nbw2v sweep: job {named.get(run_id, run_id)} (run {run_id}): {reason}; closed KILLED. The sweep "
                f"stopped: retry a job whose worker dies with {RETRY_HINT}",
                file=sys.stderr,
            )

    # ---- end -----------------------------------------------------------------------------------

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.tracker is None or self.ended:
            return
        from nbw2v.app.report import load_sweep
        from nbw2v.tracking.journal import OFFLINE_DIR, find_journals

        tracker = self.tracker
        sweep_id = os.environ.get(ENV_SWEEP, "")
        journal_root = Path(str(config.logger.get("journal_dir") or "") or OFFLINE_DIR).resolve()
        rows, failure = None, ""
        try:
            _, rows = load_sweep(tracker.tracking_uri, tracker.experiment_name, sweep_id)
        except Exception as exc:  # noqa: BLE001  (the store is down: the jobs journaled)
            failure = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        journaled = find_journals(journal_root, sweep_id)
        if rows is None or journaled or tracker.journal is not None:
            self._end_journaled(tracker, journal_root, sweep_id, failure)
            return
        status = "FAILED"
        try:
            total = int(os.environ.get(ENV_TOTAL) or 0) if self.study is None else 0
            status = conclude_sweep(tracker, rows, Path(str(config.hydra.sweep.dir)) / "report", sweep_id, total)
        finally:
            tracker.end(status)
            self.ended = True
        compare = publish_sweep_views(tracker, rows, sweep_id)
        total = os.environ.get(ENV_TOTAL)
        print(
            f"{summary_line(rows, status, int(total) if total else None)}\n{tracker.describe()}\n"
            f"  compare the runs: {compare}",
            file=sys.stdout,  # the sweep's result: its run and links
        )

    def end_early(self, reason: str, not_run: list[str], advice: str = RERUN_REST) -> None:
        """The sweep cannot go on (its cluster is gone): the runs left RUNNING closed KILLED, the
        report of what finished, the parent FAILED with ``reason`` (``nbw2v.sweep_error``), and
        one line naming what finished, what did not (``not_run``: those jobs' axes) and how to
        run only the rest."""
        if self.tracker is None or self.ended:
            return
        from nbw2v.app.report import load_sweep

        tracker, sweep_id = self.tracker, os.environ.get(ENV_SWEEP, "")
        rows: list[dict] = []
        try:
            _, rows = load_sweep(tracker.tracking_uri, tracker.experiment_name, sweep_id)
            tracker.set_tags({"nbw2v.sweep_error": reason[:500]})
            conclude_sweep(tracker, rows, self.sweep_dir / "report", sweep_id)
        except Exception as exc:  # noqa: BLE001  (the store too: the parent still ends below)
            print(f"nbw2v sweep: the report was not built ({type(exc).__name__}: {exc})", file=sys.stderr)
        finally:
            tracker.end("FAILED")
            self.ended = True
        # by the grid's own sweep values where known (as the launcher names the jobs that did not
        # return), else by the axes the runs in the store differ in
        finished = [
            self.job_names.get(r.get("config_hash") or "") or describe_job(r, rows)
            for r in latest_attempts(rows)
            if r["status"] == "FINISHED"
        ]
        not_run = [name for name in not_run if name not in finished]  # its result was lost, not its run
        listed = ", ".join(finished[:8]) + (" ..." if len(finished) > 8 else "")
        rest = ", ".join(not_run[:8]) + (" ..." if len(not_run) > 8 else "")
        print(
            f"nbw2v sweep: {reason}; parent run {tracker.run_id} closed FAILED. {len(finished)} configuration(s) "
            f"finished{': ' + listed if finished else ''}; {len(not_run)} did not{': ' + rest if not_run else ''}. "
            f"{advice}",
            file=sys.stderr,
        )

    def _end_journaled(self, tracker: MlflowTracker, root: Path, sweep_id: str, failure: str) -> None:
        """The store failed during the sweep: its runs' tracking is in journals under ``root``
        (the parent's too once it ends here). Say so, how to send them all, and exit 3."""
        from nbw2v.tracking.journal import find_journals

        tracker.set_tags({"nbw2v.sweep_note": f"tracking journaled under {root}: replay with nbw2v replay {root}"})
        tracker.end("FAILED")  # the status is decided again when the journals are replayed
        self.ended = True
        journals = find_journals(root, sweep_id)  # counted once the parent's own journal is closed
        parent = tracker.journal is not None
        children = len(journals) - (1 if parent else 0)
        why = f" ({failure})" if failure else ""
        print(
            f"nbw2v sweep: the MLflow store {tracker.tracking_uri} failed during the sweep{why}; the jobs went on and "
            f"{children} job run(s){' and the parent run' if parent else ''} journaled their tracking under {root} "
            f"({len(journals)} journal(s)). When the store is back, send the whole sweep (children, then the parent "
            f"with its report): nbw2v replay {root}",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_JOURNALED)

    def _end_at_exit(self) -> None:
        if self.tracker is not None and not self.ended:
            from nbw2v.tracking.liveness import INTERRUPTED

            interrupted = bool(INTERRUPTED["signal"]) or isinstance(getattr(sys, "last_value", None), KeyboardInterrupt)
            try:
                self._close_dead_children(self.tracker, at_exit=True)  # jobs whose process died
                self.tracker.end("KILLED" if interrupted else "FAILED")
            except Exception:  # noqa: BLE001  (exiting anyway)
                pass
            self.ended = True
