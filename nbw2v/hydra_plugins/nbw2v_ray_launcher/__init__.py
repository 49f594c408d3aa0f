"""Hydra plugin: ``hydra/launcher=nbw2v_ray`` (installed as ``hydra_plugins.nbw2v_ray_launcher``).

Hydra loads plugins only from the ``hydra_plugins`` namespace and imports every module there at
start-up, so this class is a thin shell that imports nothing of Ray: the work is in
:mod:`nbw2v.app.ray_launcher`, loaded when the launcher is used.
"""

from typing import Any

from hydra.plugins.launcher import Launcher


class NbW2vRayLauncher(Launcher):
    def __init__(self, ray: Any) -> None:
        self.ray = ray
        self.jobs = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        from nbw2v.app.ray_launcher import RayJobs

        self.jobs = RayJobs(self.ray)
        self.jobs.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def launch(self, job_overrides, initial_job_idx):
        return self.jobs.launch(job_overrides, initial_job_idx)
