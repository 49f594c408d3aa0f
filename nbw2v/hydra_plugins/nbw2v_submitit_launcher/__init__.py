"""Hydra plugins: ``hydra/launcher=nbw2v_slurm`` and the swapped-in ``submitit_slurm`` /
``submitit_local`` (installed as ``hydra_plugins.nbw2v_submitit_launcher``).

Thin shells that import nothing of submitit at Hydra's start-up scan: the work is in
:mod:`nbw2v.app.submitit_launcher`, loaded when the launcher is used.
"""

from typing import Any

from hydra.plugins.launcher import Launcher


class _Shell(Launcher):
    kind = ""

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.jobs = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        from nbw2v.app import submitit_launcher

        self.jobs = getattr(submitit_launcher, self.kind)(**self.params)
        self.jobs.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def launch(self, job_overrides, initial_job_idx):
        return self.jobs.launch(job_overrides, initial_job_idx)


class NbW2vSlurmLauncher(_Shell):
    kind = "SlurmJobs"


class NbW2vLocalLauncher(_Shell):
    kind = "LocalJobs"
