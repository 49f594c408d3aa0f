"""``nbw2v-train``: the Hydra application (one run, or ``--multirun`` sweeps).

Thin on purpose: compose the config (typed by the dataclasses of :mod:`nbw2v.config`,
registered as ``base_config``), turn it into a ``Config``, and call
:func:`nbw2v.app.run.run_experiment`. Bad values end with one clear line and exit code 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Ray's driver folds lines that differ only in numbers into "[repeated Nx across cluster]": the
# jobs' lines of a Ray sweep ("[job 0] nbw2v: trained ...", "[job 1] ...") are exactly that, and
# came out merged under one job's label or seemingly twice. Read by Ray when it is imported (by
# Hydra's plugin discovery, before any nbw2v code runs again): set here. Your own setting wins.
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

import hydra  # noqa: E402
from hydra.core.config_store import ConfigStore  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from nbw2v.config import Config  # noqa: E402
from nbw2v.paths import PACKAGE_DIR  # noqa: E402


def find_conf_dir() -> Path:
    """The Hydra config tree: ``nbw2v/conf`` inside an installed wheel, ``conf/`` at the top of
    a repository checkout (editable install)."""
    here = PACKAGE_DIR
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    return here / "conf"


CONF_DIR = find_conf_dir()

ConfigStore.instance().store(name="base_config", node=Config)


def to_config(dcfg: DictConfig) -> Config:
    """The composed DictConfig as a ``Config`` dataclass (``???`` values raise). Keys the
    schema does not know are refused, also when added with ``+`` (Hydra's advice for a typo)."""
    _check_known_keys(dcfg, Config(), "")
    return OmegaConf.to_object(dcfg)


def _check_known_keys(node, schema, prefix: str) -> None:
    import dataclasses
    import difflib

    from nbw2v.config import ConfigError

    fields = {f.name: getattr(schema, f.name) for f in dataclasses.fields(schema)}
    for key in node.keys():
        if key == "hydra":
            continue
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean {prefix}{close[0]}?" if close else f"; known keys: {', '.join(fields)}"
            raise ConfigError(f"{prefix}{key}: no such setting{hint}")
        child = node[key]
        if dataclasses.is_dataclass(fields[key]) and isinstance(child, DictConfig):
            _check_known_keys(child, fields[key], f"{prefix}{key}.")


def verbose() -> bool:
    """Tracebacks for known failures only when asked (HYDRA_FULL_ERROR=1 or NBW2V_VERBOSE=1)."""
    return any(os.environ.get(v, "0") not in ("", "0") for v in ("HYDRA_FULL_ERROR", "NBW2V_VERBOSE"))


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _app(dcfg: DictConfig) -> float | None:
    from nbw2v.app.run import objective, run_experiment
    from nbw2v.tracking.liveness import is_sigterm, mark_interrupted, release_interrupts
    from nbw2v.training.train import TrainingDiverged

    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        release_interrupts()  # one that came while Hydra composed the config is raised here
        _redact_composed(dcfg)
        cfg = to_config(dcfg)
        overrides = list(HydraConfig.get().overrides.task)
        from nbw2v.progress import Progress

        label = f"job {HydraConfig.get().job.num}" if multirun else ""  # parallel jobs interleave lines
        progress = Progress(label=label)
        _, metrics = run_experiment(
            cfg, resolved_config=OmegaConf.to_yaml(dcfg), overrides=overrides, progress=progress
        )
    except (ValueError, TrainingDiverged) as exc:  # config, corpus, checkpoint, store errors; divergence
        if multirun:
            # one job of a sweep: a result, not a crash (its run is FAILED with the reason; a Ray
            # worker is not retried for a deterministic error), and the other jobs run
            print(f"[job {HydraConfig.get().job.num}] nbw2v-train: failed: {exc}", file=sys.stderr)
            return float("nan")
        if isinstance(exc, TrainingDiverged):
            _fail(f"failed: {exc}", 1)
        _drop_empty_run_dir()
        _fail(f"error: {exc}", 2)
    except KeyboardInterrupt as exc:  # Ctrl-C / SIGTERM in any phase: the run is KILLED, work kept
        sigterm = is_sigterm(exc)
        mark_interrupted("SIGTERM" if sigterm else "SIGINT")
        _fail(str(exc) or "interrupted", 143 if sigterm else 130)
    return objective(metrics)


def _drop_empty_run_dir() -> None:
    """A run refused before doing anything leaves no ``outputs/<date>/<time>/`` holding only
    Hydra's copy of the config it refused."""
    import shutil

    out = Path(HydraConfig.get().runtime.output_dir)
    if out.is_dir() and {p.name for p in out.iterdir()} <= {".hydra"}:
        shutil.rmtree(out, ignore_errors=True)
        for folder in (out.parent, out.parent.parent):  # outputs/<date>/, outputs/: only if now empty
            try:
                folder.rmdir()
            except OSError:
                break


def _fail(message: str, code: int) -> None:
    """One line naming the cause and the fix; the traceback only when verbose."""
    print(f"nbw2v-train: {message}", file=sys.stderr)
    if verbose():
        raise
    raise SystemExit(code) from None


def _redact_composed(dcfg: DictConfig) -> None:
    """Credentials in a tracking URI that came from a config file (not the command line, which
    main() already cleaned): move them to the environment and rewrite Hydra's saved copies."""
    from nbw2v.tracking.redact import HINT, move_credentials_to_env, redact

    uri = str(dcfg.logger.tracking_uri or "")
    clean, moved = move_credentials_to_env(uri)
    if not moved:
        return
    print(f"nbw2v-train: WARNING: {HINT}; moved them there for this run", file=sys.stderr)
    dcfg.logger.tracking_uri = clean
    output = Path(HydraConfig.get().runtime.output_dir) / str(HydraConfig.get().output_subdir or ".hydra")
    for saved in output.glob("*.yaml") if output.is_dir() else ():
        saved.write_text(redact(saved.read_text()))


def main() -> None:
    from nbw2v.tracking.liveness import hold_interrupts, release_interrupts, sigterm_raises
    from nbw2v.tracking.redact import HINT, clean_argv

    if not CONF_DIR.is_dir():
        sys.exit(f"nbw2v-train: the config directory {CONF_DIR} is missing: a broken install? Reinstall nbw2v")
    # credentials out of the overrides before Hydra writes them to .hydra/ and multirun.yaml
    sys.argv[1:], moved = clean_argv(sys.argv[1:])
    if moved:
        print(f"nbw2v-train: WARNING: {HINT}; moved them there for this run", file=sys.stderr)
    check_output_folder(sys.argv[1:])
    register_plugins()
    with sigterm_raises():  # SIGTERM in any phase (also a sweep's launcher) ends runs, never RUNNING
        hold_interrupts()  # while Hydra composes the config; released by the task or the sweep's start
        try:
            _app()
        finally:
            release_interrupts(deliver=False)  # (a config error ended it before either)


def check_output_folder(argv: list[str]) -> None:
    """Hydra writes each run's folder (``outputs/<date>/<time>``, ``multirun/...`` under the
    working directory, or ``hydra.run.dir`` / ``hydra.sweep.dir``) before anything else: where
    that cannot be written, one line naming the folder and the setting, exit 2 (Hydra's own is a
    chained OSError traceback)."""
    multirun = any(a in ("-m", "--multirun") for a in argv)
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    given = next((a.split("=", 1)[1].strip("'\"") for a in argv if a.startswith(f"{key}=")), "")
    folder = Path(given).expanduser() if given else Path.cwd()
    folder = folder if folder.is_absolute() else Path.cwd() / folder
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    if not os.access(existing, os.W_OK):
        print(
            f"nbw2v-train: error: cannot write the run's output folder in {existing} (read-only for this process): "
            f"run from a writable folder or set {key}=/writable/path",
            file=sys.stderr,
        )
        raise SystemExit(2)


def register_plugins() -> None:
    """nbw2v's Hydra sweeper (``hydra/sweeper=nbw2v_optuna``) and launchers (``hydra/launcher=
    nbw2v_ray``, ``nbw2v_slurm``, and the submitit ones swapped in by the sweep): a wheel installs them in the
    ``hydra_plugins`` folder Hydra scans; an editable install maps it from ``nbw2v/hydra_plugins``,
    which the scan does not see, so it is registered here."""
    from hydra.core.plugins import Plugins

    try:
        from hydra_plugins.nbw2v_optuna_sweeper import NbW2vOptunaSweeper
        from hydra_plugins.nbw2v_ray_launcher import NbW2vRayLauncher
        from hydra_plugins.nbw2v_submitit_launcher import NbW2vLocalLauncher, NbW2vSlurmLauncher
    except ImportError:  # a source tree run without installing: no plugins
        return
    for plugin in (NbW2vOptunaSweeper, NbW2vRayLauncher, NbW2vLocalLauncher, NbW2vSlurmLauncher):
        Plugins.instance().register(plugin)


if __name__ == "__main__":
    main()
