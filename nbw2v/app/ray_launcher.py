"""``hydra/launcher=nbw2v_ray`` (its Hydra class: ``hydra_plugins.nbw2v_ray_launcher``):
hydra-ray-launcher, except that one job never ends the sweep.

hydra-ray-launcher collects the jobs' results one by one with ``ray.get``; the first job whose
worker was lost (killed, out of memory, a node gone, retries used up) raises there, and the
driver dies with Ray's traceback: no report, no closing line, the parent left to ``atexit``, and
the results of the other jobs unread. Here every job's result is collected; a job whose worker
was lost is one line and a NaN result (an Optuna trial then counts as failed), its run (left
RUNNING by the dead process) is closed KILLED at the sweep's end with the reason, and the sweep
ends as any other: report, best run, the summary line naming what did not finish.

A lost head (its GCS gone: ``kill -9``, a restarted node) is watched for while the jobs run: when
the GCS has not answered for ``HEAD_LOST_S`` (Ray itself ends the driver at 60 s, without its
exit handlers), the sweep ends at once: the parent FAILED with the reason, a line naming what
finished and what did not, and how to rerun only the rest.

A job's own errors never get here: the job returns them as a failed result
(:mod:`nbw2v.app.hydra_app`), so Ray does not retry a deterministic error.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from hydra.core.utils import JobReturn
from hydra_plugins.hydra_ray_launcher.ray_launcher import RayLauncher
from omegaconf import open_dict

from nbw2v.app.sweep_jobs import lost_result


class RayJobs(RayLauncher):
    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        import ray
        from hydra.core.singleton import Singleton
        from hydra.core.utils import setup_globals
        from hydra_plugins.hydra_ray_launcher._launcher_util import launch_job_on_ray, start_ray

        assert self.config is not None and self.hydra_context is not None and self.task_function is not None
        setup_globals()
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        start_ray(self.ray_cfg.init)  # connected already by the sweep's callback: reused
        submitted = []
        for offset, overrides in enumerate(job_overrides):
            num = initial_job_idx + offset
            job_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(job_config):
                job_config.hydra.job.id = f"job_id_for_{num}"
                job_config.hydra.job.num = num
            ref = launch_job_on_ray(
                self.hydra_context, self.ray_cfg.remote, job_config, self.task_function, Singleton.get_state()
            )
            submitted.append((num, list(overrides), job_config, ref))
        try:
            return self._collect_all(submitted, ray)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (nbw2v's handler raises Terminated)
            stop_jobs([ref for *_, ref in submitted], exc, ray)
        except HeadLost as lost:
            head_lost(lost, [(over, ref in lost.pending) for _num, over, _cfg, ref in submitted])

    def _collect_all(self, submitted: list, ray) -> list[JobReturn]:
        """Every job's result, in order, as they end; the head is probed while none ends."""
        pending = {ref: index for index, (*_, ref) in enumerate(submitted)}
        results: dict[int, JobReturn] = {}
        watch = HeadWatch(ray.get_runtime_context().gcs_address)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
            for ref in ready:
                index = pending.pop(ref)
                num, overrides, job_config, _ = submitted[index]
                results[index] = self._collect(num, overrides, job_config, ref, ray)
            if not ready and not watch.alive():
                raise HeadLost(watch.address, watch.silent_s(), set(pending))
        return [results[index] for index in range(len(submitted))]

    @staticmethod
    def _collect(num: int, overrides: list[str], job_config, ref, ray) -> JobReturn:
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as exc:
            what = (
                "raised an unexpected error"  # its run is FAILED with the traceback (error.txt)
                if isinstance(exc, ray.exceptions.RayTaskError)
                else "lost its Ray worker (killed, out of memory or its node gone, retries used up)"
            )
            return lost_result(num, overrides, job_config, what, exc)


#: seconds between probes of the head while no job ends; how long its GCS may be silent
POLL_S = 2.0
HEAD_LOST_S = float(os.environ.get("NBW2V_RAY_HEAD_LOST_S", "20"))


class HeadLost(Exception):
    def __init__(self, address: str, silent_s: float, pending: set):
        super().__init__(address)
        self.address, self.silent_s, self.pending = address, silent_s, pending


class HeadWatch:
    """Is the head's GCS (``host:port``) still there? A TCP connection to it, at most every
    ``POLL_S``; lost once it has not answered for ``HEAD_LOST_S``."""

    def __init__(self, address: str, lost_after_s: float = HEAD_LOST_S):
        self.address, self.lost_after_s = address, lost_after_s
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        self.last_ok = time.monotonic()

    def silent_s(self) -> float:
        return time.monotonic() - self.last_ok

    def alive(self) -> bool:
        try:
            socket.create_connection((self.host, self.port), timeout=1.0).close()
            self.last_ok = time.monotonic()
        except OSError:
            pass
        return self.silent_s() < self.lost_after_s


def head_lost(lost: HeadLost, jobs: list[tuple[list[str], bool]]) -> None:
    """End the sweep now (:func:`nbw2v.app.sweep.end_sweep_early`), naming the jobs that did not
    return by the overrides that differ between the sweep's jobs, and leave at once: Ray's own exit
    handlers would wait for the lost GCS."""
    from nbw2v.app.sweep import end_sweep_early, varying_overrides

    reason = f"the Ray head at {lost.address} was lost (its GCS has not answered for {lost.silent_s:.0f} s)"
    names = varying_overrides([over for over, _ in jobs])  # (overrides, did not return)
    try:
        end_sweep_early(reason, [name for name, (_, pending) in zip(names, jobs, strict=True) if pending])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


#: how long the driver waits for interrupted jobs to write their checkpoints and close their runs
STOP_GRACE_S = 120.0


def stop_jobs(refs: list, exc: KeyboardInterrupt, ray) -> None:
    """The driver was interrupted: forward it to every job (``ray.cancel`` raises
    KeyboardInterrupt in a running job, which then writes its checkpoint and ends its run KILLED;
    a job not started yet never starts), wait for them (a second Ctrl-C stops waiting), and
    exit 130 (SIGINT) / 143 (SIGTERM) with one line. The parent run ends KILLED at exit."""
    from nbw2v.tracking.liveness import INTERRUPTED, is_sigterm, mark_interrupted

    # nbw2v's SIGTERM handler raises Terminated and records it; ray.get re-raises a plain
    # KeyboardInterrupt, so the record says which signal it was
    sigterm = is_sigterm(exc) or INTERRUPTED["signal"] == "SIGTERM"
    name = "SIGTERM" if sigterm else "SIGINT"
    mark_interrupted(name)
    print(f"nbw2v sweep: {name}: stopping the running jobs (each saves a checkpoint, ends KILLED) ...", file=sys.stderr)
    for ref in refs:
        try:
            ray.cancel(ref)
        except Exception:  # noqa: BLE001  (finished already)
            pass
    try:
        ray.wait(refs, num_returns=len(refs), timeout=STOP_GRACE_S)
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
        pass
    print(
        f"nbw2v sweep: interrupted by {name}: the jobs that were running ended KILLED with their checkpoints; rerun "
        "the same command with train.resume=auto logger.skip_finished=true to continue where it stopped",
        file=sys.stderr,
    )
    raise SystemExit(143 if sigterm else 130)
