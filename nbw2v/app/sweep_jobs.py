"""A sweep's jobs before any of them runs: the overrides of each job, and every job's config
composed and validated before the parent run opens, whatever the launcher.

Without this, a typo in one sweep value (``train.lr=0.025,0.05,50``) surfaces only when its job
starts: the basic launcher stops the sweep there, a Ray worker crashes and is retried, and the
jobs after it never run. Here each distinct bad value is one line and the sweep exits 2 before
the parent run, a compile or a job.

The grid is what Hydra's basic sweeper launches: the product of the sweep overrides (the
command's and ``hydra.sweeper.params``). An Optuna study's search space is checked at its
choices and at both ends of each interval.
"""

from __future__ import annotations

import itertools
import math
import sys

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig, open_dict

#: beyond this many jobs, each value of each axis is checked once (with the others' first
#: values) rather than every combination
FULL_GRID_LIMIT = 200


def sweep_overrides(config: DictConfig) -> list[str]:
    """Every override of the sweep as ``key=value`` text: ``hydra.sweeper.params`` first, the
    command's replacing a key it sets too."""
    lines = {k: f"{k}={v}" for k, v in dict(config.hydra.sweeper.get("params") or {}).items()}
    for item in config.hydra.overrides.task:
        lines[str(item).split("=", 1)[0]] = str(item)
    return list(lines.values())


def _values(override) -> list[str]:
    """The ``key=value`` texts an override stands for: each value of a discrete sweep, both
    ends of an interval (an Optuna search space), the override itself otherwise."""
    key = override.get_key_element()
    if not override.is_sweep_override():
        return [f"{key}={override.get_value_element_as_str()}"]
    if override.is_discrete_sweep():
        return [f"{key}={v}" for v in override.sweep_string_iterator()]
    sweep = override.value()  # an IntervalSweep: int(interval(2, 12)) keeps int ends
    return [f"{key}={sweep.start}", f"{key}={sweep.end}"]


def _axes(config: DictConfig) -> list[list[str]]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return [_values(o) for o in OverridesParser.create().parse_overrides(sweep_overrides(config))]


def job_overrides(config: DictConfig, limit: int = FULL_GRID_LIMIT, axes=None) -> list[list[str]]:
    """The override lists to check: every job of the grid when it has at most ``limit`` jobs,
    else each value of each axis once (``axes``: the sweep's, when parsed already). Raises
    Hydra's parser error for a malformed override."""
    axes = _axes(config) if axes is None else axes
    if math.prod(len(a) for a in axes) <= limit:
        return [list(job) for job in itertools.product(*axes)]
    jobs = []
    for i, axis in enumerate(axes):
        for value in axis[1:] if i else axis:
            jobs.append([value if j == i else other[0] for j, other in enumerate(axes)])
    return jobs


def check_jobs(config: DictConfig, local: bool = True) -> tuple[list[str], dict[str, str]]:
    """(one line per distinct problem of the sweep's jobs, empty when every job's config is
    valid; each job of a grid by its configuration hash -> its sweep values, empty for a study
    or a grid over ``FULL_GRID_LIMIT`` jobs): each job composed as its launcher will (Hydra's
    config loader) and validated by :func:`nbw2v.config.validate`; ``local=False`` (a cluster
    launcher) leaves out what only the node running a job can judge (its core count)."""
    from hydra.core.global_hydra import GlobalHydra

    from nbw2v.app.hydra_app import to_config
    from nbw2v.app.run import config_hash
    from nbw2v.config import validate

    try:
        axes = _axes(config)
        jobs = job_overrides(config, axes=axes)
    except Exception as exc:  # noqa: BLE001  (Hydra refuses a malformed override itself)
        return [_first_line(exc)], {}
    grid = len(jobs) == math.prod(len(a) for a in axes) and "optuna" not in str(config.hydra.sweeper.get("_target_"))
    varying = [i for i, axis in enumerate(axes) if len(axis) > 1]
    loader = GlobalHydra.instance().config_loader()
    problems: dict[str, str] = {}
    names: dict[str, str] = {}
    for job in jobs:
        try:
            composed = loader.load_sweep_config(config, job)
            with open_dict(composed):
                del composed["hydra"]
            cfg = to_config(composed)
            validate(cfg, local=local)
            if grid:
                names[config_hash(cfg)] = " ".join(job[i] for i in varying) or " ".join(job)
        except Exception as exc:  # noqa: BLE001  (ConfigError, OmegaConf's and Hydra's errors)
            problems.setdefault(_first_line(exc), " ".join(job))
    return list(problems), names


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def lost_result(num: int, overrides: list[str], job_config, what: str, exc: Exception) -> JobReturn:
    """A job that returned no result (``what`` happened to it): one line, and a result the
    sweepers read (NaN; an Optuna trial then counts as failed) rather than an exception that ends
    them. Its run, if the job opened one, is closed at the sweep's end."""
    why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    line = f"[job {num}] nbw2v sweep: the job {what}: {type(exc).__name__}: {why[:200]}; the sweep goes on"
    print(line, file=sys.stderr)
    return JobReturn(
        overrides=overrides,
        cfg=job_config,
        hydra_cfg=job_config,
        working_dir=str(job_config.hydra.sweep.dir),
        task_name=str(job_config.hydra.job.name),
        status=JobStatus.COMPLETED,
        _return_value=float("nan"),
    )
