"""Hydra plugin: ``hydra/sweeper=nbw2v_optuna`` (installed as ``hydra_plugins.nbw2v_optuna_sweeper``).

Hydra loads plugins only from the ``hydra_plugins`` namespace and imports every module there at
start-up, so this class is a thin shell: the work (and the Optuna import) is in
:mod:`nbw2v.app.optuna_sweeper`, loaded when the sweeper is used.
"""

from typing import Any

from hydra.plugins.sweeper import Sweeper


class NbW2vOptunaSweeper(Sweeper):
    def __init__(self, **settings: Any) -> None:
        self.settings = settings
        self.study = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        from nbw2v.app.optuna_sweeper import StudySweep

        self.study = StudySweep(self.settings)
        self.study.setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.config, self.hydra_context, self.launcher = config, hydra_context, self.study.launcher

    def sweep(self, arguments: list[str]) -> Any:
        return self.study.sweep(arguments)
