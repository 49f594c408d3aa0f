"""Config composition with hydra.compose: defaults, groups, presets and bad overrides."""

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from nbw2v.app.hydra_app import CONF_DIR, to_config
from nbw2v.config import Config, ConfigError, validate


def _compose(*overrides):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_default_config_is_the_typed_schema():
    cfg = to_config(_compose())
    assert isinstance(cfg, Config)
    assert (cfg.data.corpus, cfg.model.arch, cfg.loss.name, cfg.logger.name) == (
        "bundled",
        "skipgram",
        "negative",
        "mlflow",
    )
    assert (cfg.model.window, cfg.loss.K, cfg.model.dim) == (5, 5, 100)
    validate(cfg)


def test_the_yaml_defaults_agree_with_the_dataclasses():
    """conf/ restates the defaults for readers; the dataclasses are the source: composing the
    default config gives exactly ``Config()``, and presets repeat no default differently."""
    from nbw2v.config import CBOW_LR, ModelConfig

    assert to_config(_compose()) == Config()
    cbow = to_config(_compose("model=cbow"))
    assert cbow.train.lr == CBOW_LR and (cbow.model.dim, cbow.model.window) == (ModelConfig().dim, ModelConfig().window)
    for loss in ("negative", "hs", "softmax"):
        composed = to_config(_compose(f"loss={loss}")).loss
        assert (composed.K, composed.ns_exponent, composed.neg_collision) == (5, 0.75, "skip"), loss


def test_sweep_axes_are_short_keys():
    cfg = to_config(_compose("model.window=10", "loss.K=15", "model.dim=300"))
    assert (cfg.model.window, cfg.loss.K, cfg.model.dim) == (10, 15, 300)


def test_groups_and_presets():
    cbow = to_config(_compose("model=cbow"))
    assert cbow.model.arch == "cbow" and cbow.train.lr == 0.05
    quick = to_config(_compose("experiment=quick"))
    assert quick.train.epochs == 1 and quick.model.dim == 50
    bench = to_config(_compose("experiment=benchmark"))
    assert bench.data.corpus.endswith("refcorpus.txt.gz")
    assert to_config(_compose("logger=none")).logger.name == "none"
    assert to_config(_compose("train=deterministic")).train.deterministic is True
    assert to_config(_compose("eval=full")).eval.per_epoch is True


def test_typo_in_a_key_fails_at_composition():
    with pytest.raises(ConfigCompositionException, match="windw"):
        _compose("model.windw=3")


def test_wrong_type_fails_at_composition():
    with pytest.raises((ConfigCompositionException, ValidationError)):
        _compose("model.window=abc")


def test_out_of_range_values_fail_validation_with_the_key():
    with pytest.raises(ConfigError, match=r"loss.K=0"):
        validate(to_config(_compose("loss.K=0")))
    with pytest.raises(ConfigError, match="data.corpus is not set"):
        validate(to_config(_compose("data.corpus=")))
    with pytest.raises(ConfigError, match="logger.save_vectors='pickle'"):
        validate(to_config(_compose("logger.save_vectors=pickle")))
    with pytest.raises(ConfigError, match="eval.similarity"):
        validate(to_config(_compose("eval.similarity=[nosuchfile.tsv]")))


@pytest.mark.parametrize(
    "override,message",
    [("+model.windw=3", "model.windw: no such setting; did you mean model.window?"), ("+foo=1", "foo: no such")],
)
def test_unknown_keys_are_refused_even_when_appended(override, message):
    with pytest.raises(ConfigError, match=message):
        to_config(_compose(override))


def test_sweep_is_an_ordinary_optional_group():
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["sweep=window_k_dim"], return_hydra_config=True)
    assert cfg.hydra.sweeper.params["model.window"] == "2,5,10"
    assert to_config(_compose("sweep=window_k_dim")).train.epochs == 3
