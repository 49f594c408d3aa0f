"""Optuna studies as a Hydra sweeper (``hydra/sweeper=nbw2v_optuna``), resumable.

Hydra's own Optuna sweeper (hydra-optuna-sweeper 1.2/1.3) requires Optuna 2, whose database
storage does not work with the SQLAlchemy 2 that MLflow needs; this one drives Optuna >= 4 with
a persistent study, so an interrupted study resumes where it stopped:

* **storage** ``auto`` (default): a SQLite file ``optuna.db`` beside the MLflow store (beside
  ``mlflow.db`` or the ``mlruns/`` folder; in the launch directory for a server store);
  ``null`` keeps the study in memory; any Optuna database URL (without a password: PostgreSQL
  reads ``PGPASSWORD``) shares it.
* **study_name** ``null`` (default): the experiment name and a hash of what defines the study
  (search space, direction, fixed overrides; ``hydra.*`` and ``logger.*`` do not count), so
  rerunning the same command continues the same study and any change starts a new one.
* **resume**: trials an interruption cut (Ctrl-C, SIGTERM, a killed process) are recorded as
  failed and queued again with the same parameters; ``n_trials`` counts the trials that ended
  on their own (completed, or failed by themselves), so a resumed study runs only what is left.
* **params**: ``key: <sweep>`` in Hydra's override syntax: ``choice(25, 50)``, ``a,b,c``,
  ``range(2, 12)``, ``interval(0.01, 0.1)``, ``int(interval(2, 12))``,
  ``tag(log, interval(...))``; a sweep on the command line adds to (or replaces) them and a
  plain ``key=value`` pins a key.
* each trial is one job of the configured launcher (``n_jobs`` at a time, default: the
  launcher's parallel jobs); its value is what the task returns (WordSim353 for nbw2v-train);
  NaN or an exception is a failed trial, the study goes on (unless every trial so far failed).

The Hydra plugin class lives in ``hydra_plugins.nbw2v_optuna_sweeper`` (Hydra only loads
plugins from that namespace) and delegates here, so Hydra's plugin scan imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbw2v.config import ConfigError
from nbw2v.tracking.redact import split_credentials

TARGET = "hydra_plugins.nbw2v_optuna_sweeper.NbW2vOptunaSweeper"
#: a trial queued again after an interruption names the trial it replaces (which does not count)
RETRY_OF = "nbw2v.retry_of"
SAMPLERS = ("tpe", "random")
#: overrides that change how a study runs, not what it is (left out of its default name)
NOT_THE_STUDY = ("hydra.", "hydra/", "logger.", "logger=", "train.resume=")
INSTALL = "pip install 'nbw2v[optuna]' (Optuna >= 4)"


class StudyFailed(RuntimeError):
    """Every trial run so far failed: a problem of the command, not of one configuration."""


@dataclass
class Settings:
    """``hydra.sweeper.*`` of ``conf/hydra/sweeper/nbw2v_optuna.yaml``, checked."""

    direction: str = "maximize"
    study_name: str | None = None
    storage: str | None = "auto"
    n_trials: int = 20
    n_jobs: int | None = None
    sampler: dict[str, Any] = field(default_factory=lambda: {"name": "tpe", "seed": None})
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, node: Any) -> Settings:
        raw = dict(node or {})
        raw.pop("_target_", None)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(
                f"hydra.sweeper.{unknown[0]}: no such setting of the nbw2v_optuna sweeper; "
                f"known: {', '.join(sorted(known))}"
            )
        settings = cls(**{k: _plain(v) for k, v in raw.items()})
        settings.check()
        return settings

    def check(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise ConfigError(f"hydra.sweeper.direction={self.direction}: use maximize or minimize")
        if not isinstance(self.n_trials, int) or self.n_trials < 1:
            raise ConfigError(f"hydra.sweeper.n_trials={self.n_trials}: must be an integer >= 1")
        if self.n_jobs is not None and (not isinstance(self.n_jobs, int) or self.n_jobs < 1):
            raise ConfigError(
                f"hydra.sweeper.n_jobs={self.n_jobs}: must be an integer >= 1, or null (the launcher's jobs)"
            )
        sampler = dict(self.sampler or {})
        name = sampler.get("name", "tpe")
        if name not in SAMPLERS:
            raise ConfigError(f"hydra.sweeper.sampler.name={name}: use one of {', '.join(SAMPLERS)}")
        if set(sampler) - {"name", "seed"}:
            extra = sorted(set(sampler) - {"name", "seed"})[0]
            raise ConfigError(f"hydra.sweeper.sampler.{extra}: no such setting; known: name, seed")
        seed = sampler.get("seed")
        if seed is not None and not isinstance(seed, int):
            raise ConfigError(f"hydra.sweeper.sampler.seed={seed}: must be an integer or null")
        storage = self.storage
        if storage not in (None, "auto") and "://" not in str(storage):
            raise ConfigError(
                f"hydra.sweeper.storage={storage}: use auto (SQLite beside the MLflow store), null (in memory) "
                "or a database URL such as sqlite:///optuna.db"
            )
        if storage not in (None, "auto") and split_credentials(str(storage))[2] is not None:
            raise ConfigError(
                "hydra.sweeper.storage: a password in the URL would be written to multirun.yaml; give the URL "
                "without it and the password through the database's environment (PGPASSWORD for PostgreSQL)"
            )
        if not self.params:
            return
        for key, text in self.params.items():
            distribution(key, text)  # every axis parses, before anything starts


def _plain(value: Any) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


# ---- the search space ----------------------------------------------------------------------------


def distribution(key: str, text: Any):
    """Optuna's distribution for one axis written in Hydra's sweep syntax."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        override = OverridesParser.create().parse_override(f"{key}={text}")
    except Exception as exc:
        raise ConfigError(f"hydra.sweeper.params.{key}={text}: not a sweep Hydra can read ({exc})") from None
    return _to_distribution(key, override)


def _to_distribution(key: str, override):
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    value = override.value()
    where = f"hydra.sweeper.params.{key}={override.input_line.split('=', 1)[-1]}"
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        low, high = value.start, value.end
        if not low < high:
            raise ConfigError(f"{where}: the interval must have start < end")
        if log and low <= 0:
            raise ConfigError(f"{where}: a log interval must start above 0")
        if isinstance(low, int) and isinstance(high, int):
            return IntDistribution(low, high, log=log)
        return FloatDistribution(float(low), float(high), log=log)
    if isinstance(value, RangeSweep):
        values = list(override.sweep_iterator())
        if not values:
            raise ConfigError(f"{where}: the range is empty")
        if all(isinstance(v, int) for v in values) and len(values) > 1:
            return IntDistribution(min(values), max(values), step=abs(int(value.step)))
        return CategoricalDistribution(values)
    if isinstance(value, ChoiceSweep):
        values = list(override.sweep_iterator())
        bad = [v for v in values if not (v is None or isinstance(v, bool | int | float | str))]
        if bad:
            raise ConfigError(f"{where}: choices must be numbers, strings, booleans or null, not {bad[0]!r}")
        return CategoricalDistribution(values)
    raise ConfigError(f"{where}: use choice(...), a,b,c, range(...) or interval(...) (glob sweeps are not supported)")


def format_value(value: Any) -> str:
    """A parameter value as an override's right-hand side."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if isinstance(value, str) and (not text or any(c in text for c in " ,=()[]{}'\"\\:$")):
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return text


@dataclass
class Plan:
    """What a study runs: the axes, the overrides every trial shares, where the study lives."""

    space: dict[str, Any]
    fixed: list[str]
    study_name: str
    storage: str | None
    pinned: list[str] = field(default_factory=list)


def plan(settings: Settings, arguments: list[str], experiment: str, tracking_uri: str, logger_name: str) -> Plan:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    space = {key: distribution(key, text) for key, text in settings.params.items()}
    fixed, pinned = [], []
    for override in OverridesParser.create().parse_overrides(arguments):
        key = override.get_key_element()
        if override.is_sweep_override():
            space[key] = _to_distribution(key, override)
        else:
            fixed.append(override.input_line)
            if key in space:  # a plain key=value on the command line pins a swept key
                del space[key]
                pinned.append(key)
    if not space:
        raise ConfigError(
            "the nbw2v_optuna sweeper has nothing to search: give hydra.sweeper.params (e.g. sweep=optuna_ws353) "
            "or a sweep on the command line such as model.window='int(interval(2,12))'"
        )
    return Plan(
        space,
        fixed,
        settings.study_name or default_study_name(settings, space, fixed, experiment),
        study_storage(settings.storage, tracking_uri, logger_name),
        pinned,
    )


def default_study_name(settings: Settings, space: dict[str, Any], fixed: list[str], experiment: str) -> str:
    """Stable across reruns of one command; changes with anything that changes the study."""
    relevant = sorted(o for o in fixed if not o.lstrip("+~").startswith(NOT_THE_STUDY))
    axes = sorted(f"{k}={v!r}" for k, v in space.items())
    text = "\n".join([settings.direction, *axes, "--", *relevant])
    return f"{experiment}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def study_storage(setting: str | None, tracking_uri: str, logger_name: str) -> str | None:
    """``auto``: ``optuna.db`` beside the MLflow store (SQLite file or ``mlruns/`` folder), else
    in the current directory; ``None``: in memory; anything else as given."""
    if setting is None:
        return None
    if setting != "auto":
        return str(setting)
    from urllib.parse import unquote, urlsplit

    from nbw2v.tracking.tracker import resolve_tracking_uri, sqlite_path

    folder = Path.cwd()
    if logger_name != "none":
        uri = resolve_tracking_uri(tracking_uri)
        db = sqlite_path(uri)
        if db is not None and str(db) not in ("", ":memory:"):
            folder = db.parent
        elif uri.startswith("file:"):
            folder = Path(unquote(urlsplit(uri).path)).parent
    return f"sqlite:///{folder.resolve() / 'optuna.db'}"


def require_optuna() -> None:
    try:
        import optuna
    except ImportError:
        raise ConfigError(f"hydra/sweeper=nbw2v_optuna needs Optuna: {INSTALL}") from None
    major = int(optuna.__version__.split(".")[0])
    if major < 4:
        raise ConfigError(f"hydra/sweeper=nbw2v_optuna needs Optuna >= 4 (found {optuna.__version__}): {INSTALL}")


def check_config(config: Any) -> Plan | None:
    """The study a composed multirun config describes, every setting checked (``None`` for
    another sweeper): run before the sweep's MLflow run is opened or any kernel compiled."""
    node = config.hydra.get("sweeper")
    if node is None or str(node.get("_target_", "")) != TARGET:
        return None
    require_optuna()
    settings = Settings.from_config(node)
    the_plan = plan_for(settings, config, list(config.hydra.overrides.task))
    study_lock(the_plan).release()  # busy: say so now, before a parent run is opened
    return the_plan


def plan_for(settings: Settings, config: Any, arguments: list[str]) -> Plan:
    logger = config.logger
    return plan(settings, arguments, str(logger.experiment), str(logger.tracking_uri or ""), str(logger.name))


# ---- the study -----------------------------------------------------------------------------------


def make_sampler(sampler: dict[str, Any] | None, offset: int):
    """The configured sampler; a seed is advanced by ``offset`` (the trials a resumed study
    already has), so reruns are reproducible without repeating the first run's draws."""
    import optuna

    sampler = dict(sampler or {})
    seed = sampler.get("seed")
    seed = None if seed is None else int(seed) + offset
    if sampler.get("name", "tpe") == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _lock_path(storage: str | None, study_name: str) -> Path:
    """One lock per study (in the temporary directory: nothing left beside the user's files)."""
    digest = hashlib.sha256(f"{storage}\n{study_name}".encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"nbw2v-optuna-{digest}.lock"


def study_lock(the_plan: Plan):
    """The study's lock, held (one process runs a study at a time), or a clear error."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(_lock_path(the_plan.storage, the_plan.study_name)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConfigError(
            f"study {the_plan.study_name} is being run by another process (lock {lock.lock_file}); wait for it, "
            "or start another study with hydra.sweeper.study_name=NAME"
        ) from None
    return lock


def counted(trials) -> int:
    """Trials that count toward n_trials: ended on their own (not cut by an interruption)."""
    from optuna.trial import TrialState

    replaced = {t.user_attrs.get(RETRY_OF) for t in trials if RETRY_OF in t.user_attrs}
    return sum(
        1
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        or (t.state == TrialState.FAIL and t.number not in replaced)
    )


def requeue(study, trials) -> int:
    """Trials an interruption cut: failed, and queued again with the same parameters."""
    from optuna.trial import TrialState

    count = 0
    for trial in trials:
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
        count += 1
    return count


class StudySweep:
    """The sweeper's work; ``hydra_plugins.nbw2v_optuna_sweeper`` holds the Hydra-facing class."""

    def __init__(self, raw_settings: dict[str, Any]) -> None:
        self.raw_settings = raw_settings
        self.config = self.hydra_context = self.launcher = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        from hydra.core.plugins import Plugins

        require_optuna()
        self.settings = Settings.from_config(self.raw_settings)
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def _say(self, text: str) -> None:
        print(f"nbw2v optuna: {text}", file=sys.stderr, flush=True)

    def sweep(self, arguments: list[str]) -> Any:
        try:
            return self._sweep(arguments)
        except (ConfigError, StudyFailed) as exc:  # one line, no traceback
            print(f"nbw2v-train: error: {exc}", file=sys.stderr)
            raise SystemExit(2 if isinstance(exc, ConfigError) else 1) from None

    def _sweep(self, arguments: list[str]) -> Any:
        import optuna

        from nbw2v.app.sweep import parallel_jobs
        from nbw2v.tracking.liveness import interrupts_deferred
        from nbw2v.tracking.redact import redact

        config, settings = self.config, self.settings
        the_plan = plan_for(settings, config, list(arguments))
        n_jobs = settings.n_jobs or parallel_jobs(config)
        lock = study_lock(the_plan)
        try:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            study = optuna.create_study(
                study_name=the_plan.study_name,
                storage=the_plan.storage,
                sampler=make_sampler(settings.sampler, 0),
                direction=settings.direction,
                load_if_exists=True,
            )
            earlier = len(study.get_trials(deepcopy=False))
            if earlier:  # a resumed, seeded study must not replay the points its first run drew
                study.sampler = make_sampler(settings.sampler, earlier)
            if study.direction.name.lower() != settings.direction:
                raise ConfigError(
                    f"hydra.sweeper.direction={settings.direction}: study {the_plan.study_name} in "
                    f"{redact(the_plan.storage)} was created to {study.direction.name.lower()}; "
                    "choose another hydra.sweeper.study_name"
                )
            where = redact(the_plan.storage) if the_plan.storage else "memory (storage=null: not resumable)"
            stale = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            if stale:  # cut by a killed process: we hold the study's lock, so nobody else runs them
                with interrupts_deferred():
                    requeue(study, stale)
            done = counted(study.get_trials(deepcopy=False))
            left = settings.n_trials - done
            if the_plan.pinned:
                self._say(f"pinned by the command line (not searched): {', '.join(the_plan.pinned)}")
            self._say(
                f"study {the_plan.study_name} in {where}: {done} of {settings.n_trials} trials done"
                + (f", {len(stale)} cut short re-queued" if stale else "")
                + f"; {max(left, 0)} to run, {n_jobs} at a time; axes: {', '.join(the_plan.space)}"
            )
            if left <= 0:
                self._say(
                    f"study {the_plan.study_name} already has its {settings.n_trials} trials; raise "
                    "hydra.sweeper.n_trials to continue it, or give hydra.sweeper.study_name=NEW for a new one"
                )
            from nbw2v.tracking.tracker import ENV_STUDY

            os.environ[ENV_STUDY] = the_plan.study_name
            returns = self._run(study, the_plan, left, n_jobs)
            self._report(study, the_plan, where)
            return returns
        finally:
            lock.release()

    def _run(self, study, the_plan: Plan, left: int, n_jobs: int) -> list:
        from nbw2v.tracking.liveness import interrupts_deferred

        returns, job, failures, completed = [], 0, [], 0
        while left > 0:
            batch = [study.ask(the_plan.space) for _ in range(min(n_jobs, left))]
            lines = [self.overrides(the_plan, trial) for trial in batch]
            try:
                self.validate_batch(lines)
                results = self.launcher.launch(lines, initial_job_idx=job)
            except BaseException:
                with interrupts_deferred():
                    cut = requeue(study, batch)
                self._say(
                    f"stopped: {cut} trial(s) cut short are queued again (they continue from their checkpoints); "
                    "the study keeps every finished trial: rerun the same command to resume it"
                )
                raise
            for trial, result in zip(batch, results, strict=True):
                ok = self._tell(study, trial, result, failures)
                completed += ok
            returns.append(results)
            job += len(batch)
            left -= len(batch)
            if not completed and (len(failures) >= 3 or left <= 0):
                raise StudyFailed(
                    f"the {len(failures)} trial(s) run so far all failed, e.g. {failures[0]}; fix it and rerun the "
                    "same command (the study resumes)"
                )
        return returns

    @staticmethod
    def overrides(the_plan: Plan, trial) -> list[str]:
        """A trial's command line; a trial cut short earlier continues from its checkpoint."""
        line = [*the_plan.fixed, *(f"{k}={format_value(v)}" for k, v in trial.params.items())]
        if RETRY_OF in trial.user_attrs and not any(o.lstrip("+~").startswith("train.resume=") for o in line):
            line.append("train.resume=auto")
        return line

    def validate_batch(self, lines: list[list[str]]) -> None:
        for overrides in lines:
            loader = self.hydra_context.config_loader
            loader.load_sweep_config(master_config=self.config, sweep_overrides=list(overrides))

    def _tell(self, study, trial, result, failures: list[str]) -> bool:
        from optuna.trial import TrialState

        params = " ".join(f"{k}={format_value(v)}" for k, v in trial.params.items())
        try:
            value = result.return_value
        except Exception as exc:  # the job raised: a failed trial, the study goes on
            study.tell(trial, state=TrialState.FAIL)
            failures.append(f"trial {trial.number} ({params}): {type(exc).__name__}: {exc}")
            self._say(f"trial {trial.number} failed: {type(exc).__name__}: {exc}")
            return False
        if value is None or not isinstance(value, int | float) or not math.isfinite(value):
            study.tell(trial, state=TrialState.FAIL)
            failures.append(f"trial {trial.number} ({params}): no objective value ({value})")
            self._say(f"trial {trial.number}: no objective value ({value}: diverged, or no similarity pair covered)")
            return False
        study.tell(trial, float(value))
        best = study.best_trial
        self._say(f"trial {trial.number}: {value:.4f} ({params}); best {best.value:.4f} (trial {best.number})")
        return True

    def _report(self, study, the_plan: Plan, where: str) -> None:
        from omegaconf import OmegaConf
        from optuna.trial import TrialState

        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            self._say(f"study {the_plan.study_name}: no completed trial yet")
            return
        best = study.best_trial
        params = {k: best.params[k] for k in sorted(best.params)}
        study_name = the_plan.study_name
        print(f"Best value: {best.value:.6g} (trial {best.number} of study {study_name}, {where})", file=sys.stderr)
        print(f"Best params: {' '.join(f'{k}={format_value(v)}' for k, v in params.items())}", file=sys.stderr)
        out = Path(str(self.config.hydra.sweep.dir))
        out.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(
            OmegaConf.create(
                {
                    "study_name": the_plan.study_name,
                    "storage": where,
                    "direction": self.settings.direction,
                    "trials_counted": counted(study.get_trials(deepcopy=False)),
                    "best_trial": best.number,
                    "best_value": float(best.value),
                    "best_params": params,
                }
            ),
            out / "optimization_results.yaml",
        )
