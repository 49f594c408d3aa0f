"""One registry of losses (nbw2v/losses/registry.py): every entry is complete, and everything
that lists losses lists exactly the registered ones."""

from pathlib import Path

import numpy as np
import pytest

import nbw2v
from nbw2v import api, config, gradcheck, reference
from nbw2v.losses import registry

ROOT = Path(__file__).resolve().parent.parent


def test_every_loss_has_every_part():
    assert registry.names() == ("negative", "hs", "softmax")
    for spec in registry.LOSSES.values():
        for part in (spec.pair, spec.window, spec.batch):
            assert hasattr(part, "py_func") or callable(part), (spec.name, part)  # Numba kernels
        assert spec.reference.__module__ == reference.__name__
        assert callable(getattr(nbw2v, spec.api)) and getattr(nbw2v, spec.api) is getattr(api, spec.api)
        assert set(spec.archs) <= set(config.ARCHS) and spec.archs
        assert set(spec.devices) <= set(config.DEVICES) and "cpu" in spec.devices
        assert spec.runner in ("hogwild", "batched") and spec.extra in ("", "neg_indices", "tree")
        assert spec.name in gradcheck._PAIR_CHECKS
        assert spec.per_word_bytes(1000, 50, 64) >= 0
        assert spec.title


def test_config_api_cli_gradcheck_and_presets_list_exactly_the_registered_losses():
    from nbw2v.app.cli import build_parser

    names = set(registry.names())
    assert set(config.LOSSES) == names
    assert set(gradcheck._PAIR_CHECKS) == names
    assert {k.split("/")[0] for k in nbw2v.gradcheck_all()} == names
    train = next(a for a in build_parser()._subparsers._group_actions[0].choices["train"]._actions if a.dest == "loss")
    assert set(train.choices) == names
    presets = {p.stem: p.read_text() for p in (ROOT / "conf" / "loss").glob("*.yaml")}
    assert {text.split("name:", 1)[1].split()[0] for text in presets.values()} == names
    with pytest.raises(ValueError, match="loss: unknown loss 'glove'; expected one of 'negative', 'hs', 'softmax'"):
        registry.get("glove")


def test_the_trainer_dispatches_through_the_registry(tmp_path):
    """Each registered loss trains through the runner and targets its entry names."""
    from nbw2v.config import Config
    from nbw2v.progress import SilentProgress
    from nbw2v.training.train import train

    corpus = tmp_path / "c.txt"
    corpus.write_text("the king and the queen rule the land\nwater flows in the river to the sea\n" * 100)
    for name in registry.names():
        cfg = Config()
        cfg.data.corpus, cfg.data.min_count, cfg.data.sample = str(corpus), 1, 0.0
        cfg.model.dim, cfg.train.epochs, cfg.loss.name = 8, 1, name
        emb = train(cfg, progress=SilentProgress())
        assert np.isfinite(emb.vectors).all() and emb.stats["epoch_losses"][0] > 0, name


def _imported_modules(path: Path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_training_and_gpu_never_import_each_other_and_the_config_no_device_module():
    """Issue 30.6: the runner is chosen by name through the registry (runner_class), the device
    check too (device_description); the limits the config checks live beside it (nbw2v.limits)."""
    package = Path(nbw2v.__file__).parent
    for folder, other in (("training", "nbw2v.gpu"), ("gpu", "nbw2v.training")):
        for path in (package / folder).glob("*.py"):
            bad = {m for m in _imported_modules(path) if m == other or m.startswith(other + ".")}
            assert not bad, f"{path.name} imports {bad}"
    assert not {m for m in _imported_modules(package / "config.py") if m.startswith("nbw2v.gpu")}
    assert registry.runner_class("negative").__module__ == "nbw2v.training.runners"
    assert registry.runner_class("softmax").__name__ == "SoftmaxRunner"
    with pytest.raises(ValueError, match="no trainer for train.device=cuda"):
        registry.runner_class("hs", "cuda")
    assert registry.device_description("cpu") == ""
