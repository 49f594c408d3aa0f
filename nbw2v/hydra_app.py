"""``nbw2v-train``: the Hydra application (one run, or ``--multirun`` sweeps).

Thin on purpose: compose the config (typed by the dataclasses of :mod:`nbw2v.config`,
registered as ``base_config``), turn it into a ``Config``, and call
:func:`nbw2v.run.run_experiment`. Bad values end with one clear line and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from .config import Config

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

ConfigStore.instance().store(name="base_config", node=Config)


def to_config(dcfg: DictConfig) -> Config:
    """The composed DictConfig as a ``Config`` dataclass (``???`` values raise)."""
    return OmegaConf.to_object(dcfg)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _app(dcfg: DictConfig) -> float | None:
    from .corpus import CorpusError
    from .run import run_experiment

    try:
        cfg = to_config(dcfg)
        overrides = list(HydraConfig.get().overrides.task)
        _, metrics = run_experiment(cfg, resolved_config=OmegaConf.to_yaml(dcfg), overrides=overrides)
    except (ValueError, CorpusError) as exc:  # ConfigError, CorpusError, store errors: one clear line
        print(f"nbw2v-train: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt as exc:  # Ctrl-C / SIGTERM: the run is KILLED, the checkpoint kept
        print(f"nbw2v-train: {exc or 'interrupted'}", file=sys.stderr)
        raise SystemExit(130) from None
    return objective(metrics)


def objective(metrics: dict[str, float]) -> float:
    """The value optimising sweepers (Optuna) maximise: WordSim353 Spearman, else the first
    similarity score computed, else NaN (a trial Optuna records as failed, not a crash)."""
    if "eval/wordsim353_spearman" in metrics:
        return float(metrics["eval/wordsim353_spearman"])
    scores = [v for k, v in metrics.items() if k.endswith("_spearman")]
    return float(scores[0]) if scores else float("nan")


def main() -> None:
    if not CONF_DIR.is_dir():
        sys.exit(f"nbw2v-train: the config directory {CONF_DIR} is missing (install nbw2v from its repository)")
    _app()


if __name__ == "__main__":
    main()
