"""``hydra/launcher=nbw2v_slurm`` (and ``submitit_slurm`` / ``submitit_local``, which the sweep
swaps for these): hydra-submitit-launcher, except that neither a refused submission nor one
lost job ends the sweep with a traceback.

hydra-submitit-launcher submits the jobs as one array and then reads each job's result in turn;
``sbatch`` refusing the array (a wrong partition, account or QOS) raises submitit's
``FailedJobError`` with the parent run open and empty, and a job killed before it returned
(``kill -9``, out of memory, a node lost, its time limit) raises ``UncompletedJobError`` from the
first read: no report, no closing line, the other jobs' results unread. Here:

* a refused submission is one line naming sbatch's message and the settings to check; the parent
  ends FAILED with that reason (:func:`nbw2v.app.sweep.end_sweep_early`), exit 1;
* a job without a result is one line and a NaN result (the sweep goes on); its run, left RUNNING
  by the dead process, is closed KILLED at the sweep's end, and the report and the last line
  cover every job (:func:`nbw2v.app.sweep_jobs.lost_result` builds the result).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra.core.utils import JobReturn
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher, SlurmLauncher
from omegaconf import OmegaConf


class _CollectEvery:
    _EXECUTOR: str

    def _executor(self):
        """submitit's executor for this launcher's settings: the shared queue settings under their
        own names, the executor's own ones prefixed with its name (``slurm_partition``)."""
        import submitit

        params = dict(self.params)
        own = {f"{self._EXECUTOR}_{k}": params.pop(k) for k in ("max_num_timeout",) if k in params}
        executor = submitit.AutoExecutor(cluster=self._EXECUTOR, folder=params.pop("submitit_folder"), **own)
        shared = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{k if k in shared else f"{self._EXECUTOR}_{k}": v for k, v in params.items()})
        return executor

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        import submitit
        from hydra.core.singleton import Singleton
        from hydra.core.utils import setup_globals

        assert self.config is not None and self.hydra_context is not None
        setup_globals()
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if self.config.hydra.sweep.get("mode") is not None:  # hydra.sweep.mode, as the stock launcher honours it
            sweep_dir.chmod(int(str(self.config.hydra.sweep.mode), 8))
        nums = [initial_job_idx + offset for offset in range(len(job_overrides))]
        state = Singleton.get_state()
        columns = (
            [list(over) for over in job_overrides],
            ["hydra.sweep.dir"] * len(nums),
            nums,
            [f"job_id_for_{num}" for num in nums],
            [state] * len(nums),
        )  # map_array's arguments: one list per parameter of the stock launcher's __call__
        try:
            jobs = self._executor().map_array(self, *columns)
        except (submitit.core.utils.FailedJobError, submitit.core.utils.FailedSubmissionError) as exc:
            refused(self._EXECUTOR, exc, [list(o) for o in job_overrides])
        return [self._collect(num, list(over), job) for num, over, job in zip(nums, job_overrides, jobs, strict=True)]

    def _collect(self, num: int, overrides: list[str], job) -> JobReturn:
        from nbw2v.app.sweep_jobs import lost_result

        try:
            return job.results()[0]
        except Exception as exc:  # noqa: BLE001  (UncompletedJobError: killed, out of memory, timed out)
            job_config = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
            what = "ended without a result (killed, out of memory, timed out)"
            return lost_result(num, overrides, job_config, what, exc)


def refused(executor: str, exc: Exception, jobs: list[list[str]]) -> None:
    """The scheduler refused the jobs: the sweep ends here with one line naming its message (which
    submitit printed above), its parent FAILED with the reason; exit 1."""
    from nbw2v.app.sweep import end_sweep_early, varying_overrides

    why = " ".join(str(exc).split())[:300] or type(exc).__name__
    what = "sbatch refused the sweep's jobs" if executor == "slurm" else "submitit could not start the sweep's jobs"
    advice = (
        "Check hydra.launcher.partition (sinfo lists them), account, qos and the limits asked for, then rerun"
        if executor == "slurm"
        else "Rerun once the cause is fixed"
    )
    end_sweep_early(f"{what}: {why}", varying_overrides(jobs), advice=advice)
    raise SystemExit(1)


class LocalJobs(_CollectEvery, LocalLauncher):
    pass


class SlurmJobs(_CollectEvery, SlurmLauncher):
    pass
