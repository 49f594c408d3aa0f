"""nbw2v's Optuna sweeper (hydra/sweeper=nbw2v_optuna): the search space from Hydra's sweep
syntax, the study's name and storage, resume after Ctrl-C and after a killed process, checks
before anything starts."""

import math
import signal
import subprocess
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
from mlflow import MlflowClient  # noqa: E402
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from nbw2v.app.optuna_sweeper import (  # noqa: E402
    RETRY_OF,
    Settings,
    StudySweep,
    counted,
    distribution,
    format_value,
    make_sampler,
    plan,
    requeue,
    study_storage,
)
from nbw2v.config import ConfigError  # noqa: E402

EXE = Path(sys.executable).parent / "nbw2v-train"


# ---- the search space and the study's identity ----------------------------------------------------


def test_hydra_sweep_syntax_becomes_optuna_distributions():
    assert distribution("model.window", "int(interval(2, 12))") == IntDistribution(2, 12)
    assert distribution("train.lr", "tag(log, interval(0.005, 0.1))") == FloatDistribution(0.005, 0.1, log=True)
    assert distribution("model.dim", "choice(25, 50, 100)") == CategoricalDistribution([25, 50, 100])
    assert distribution("loss.K", "range(2, 12, 2)") == IntDistribution(2, 10, step=2)
    assert distribution("model.name", "skipgram,cbow") == CategoricalDistribution(["skipgram", "cbow"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("interval(5, 2)", "start < end"),
        ("tag(log, interval(0, 1))", "start above 0"),
        ("glob(*)", "glob sweeps are not supported"),
        ("interval(1,", "not a sweep Hydra can read"),
    ],
)
def test_bad_axes_are_refused_naming_the_key(text, message):
    with pytest.raises(ConfigError, match=message) as err:
        distribution("model.window", text)
    assert str(err.value).startswith("hydra.sweeper.params.model.window=")


def test_values_round_trip_as_override_text():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for value in (3, 0.05, 1e-05, True, None, "skipgram", "a b", "x,y", "it's"):
        assert parser.parse_override(f"k={format_value(value)}").value() == value, value


def _settings(**kw):
    return Settings(params={"model.window": "int(interval(2, 12))", "loss.K": "choice(5, 10)"}, **kw)


def test_the_default_study_name_follows_what_defines_the_study(tmp_path):
    def name(*args, settings=None):
        return plan(settings or _settings(), list(args), "nbw2v", f"sqlite:///{tmp_path / 'm.db'}", "mlflow").study_name

    base = name("sweep=optuna_ws353", "train.epochs=1")
    assert base.startswith("nbw2v-")
    # how it runs (tracking, resume, launcher) is not what it is
    assert name("train.epochs=1", "sweep=optuna_ws353", "logger.skip_finished=true", "train.resume=auto") == base
    assert name("sweep=optuna_ws353", "train.epochs=1", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2") == base
    # what it is: fixed values, axes, direction
    assert name("sweep=optuna_ws353", "train.epochs=2") != base
    assert name("sweep=optuna_ws353", "train.epochs=1", "model.dim=25,50") != base
    assert name("sweep=optuna_ws353", "train.epochs=1", settings=_settings(direction="minimize")) != base
    assert name("x=1", settings=_settings(study_name="mine")) == "mine"


def test_the_command_line_adds_axes_and_pins_swept_keys(tmp_path):
    the_plan = plan(_settings(), ["model.dim=25,50", "loss.K=7"], "e", "", "none")
    assert set(the_plan.space) == {"model.window", "model.dim"}
    assert the_plan.pinned == ["loss.K"] and the_plan.fixed == ["loss.K=7"]
    with pytest.raises(ConfigError, match="nothing to search"):
        plan(Settings(), ["loss.K=7"], "e", "", "none")


def test_storage_lives_beside_the_mlflow_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    sub = tmp_path / "store"
    assert study_storage("auto", f"sqlite:///{sub / 'mlflow.db'}", "mlflow") == f"sqlite:///{sub / 'optuna.db'}"
    assert study_storage("auto", "", "mlflow") == f"sqlite:///{tmp_path / 'optuna.db'}"  # ./mlflow.db
    assert study_storage("auto", str(sub / "mlruns"), "mlflow") == f"sqlite:///{sub / 'optuna.db'}"
    assert study_storage("auto", "http://host:5000", "mlflow") == f"sqlite:///{tmp_path / 'optuna.db'}"
    assert study_storage("auto", "", "none") == f"sqlite:///{tmp_path / 'optuna.db'}"
    assert study_storage(None, "", "mlflow") is None
    assert study_storage("postgresql://u@db/optuna", "", "mlflow") == "postgresql://u@db/optuna"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_trials": 0}, r"hydra.sweeper.n_trials=0: must be an integer >= 1"),
        ({"n_jobs": 0}, r"hydra.sweeper.n_jobs=0"),
        ({"direction": "up"}, r"hydra.sweeper.direction=up: use maximize or minimize"),
        ({"sampler": {"name": "cmaes"}}, r"hydra.sweeper.sampler.name=cmaes: use one of tpe, random"),
        ({"sampler": {"name": "tpe", "n_startup": 3}}, r"hydra.sweeper.sampler.n_startup: no such setting"),
        ({"storage": "optuna.db"}, r"hydra.sweeper.storage=optuna.db: use auto"),
        ({"storage": "postgresql://me:pw@db/o"}, r"password in the URL would be written"),
        ({"n_trails": 3}, r"hydra.sweeper.n_trails: no such setting of the nbw2v_optuna sweeper"),
    ],
)
def test_bad_settings_are_one_line_naming_the_key(change, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_config({"_target_": "x", "params": {"loss.K": "choice(5, 10)"}, **change})


# ---- resuming ----------------------------------------------------------------------------------


def test_cut_trials_are_queued_again_and_do_not_count():
    study = optuna.create_study(direction="maximize")
    space = {"k": IntDistribution(1, 100)}
    done = study.ask(space)
    study.tell(done, 0.5)
    failed = study.ask(space)
    study.tell(failed, state=TrialState.FAIL)  # failed by itself: counts
    cut = study.ask(space)
    assert requeue(study, [cut]) == 1
    assert counted(study.get_trials()) == 2
    retry = study.ask(space)  # the queue comes first, with the same parameters
    assert retry.params == cut.params and retry.user_attrs[RETRY_OF] == cut.number
    assert StudySweep.overrides(plan_with({"k": space["k"]}), retry)[-1] == "train.resume=auto"
    assert "train.resume=auto" not in StudySweep.overrides(plan_with(space), study.ask(space))
    study.tell(retry, 0.7)
    assert counted(study.get_trials()) == 3


def plan_with(space):
    from nbw2v.app.optuna_sweeper import Plan

    return Plan(space=space, fixed=["train.epochs=1"], study_name="s", storage=None)


def test_a_resumed_seeded_study_does_not_replay_its_first_draws():
    space = {"x": FloatDistribution(0, 1)}

    def draws(offset, n=5):
        study = optuna.create_study(sampler=make_sampler({"name": "tpe", "seed": 3}, offset))
        return [study.ask(space).params["x"] for _ in range(n)]

    assert draws(0) == draws(0)  # reproducible
    assert not set(draws(0)) & set(draws(5))  # a rerun after 5 trials draws new points
    assert isinstance(make_sampler({"name": "random", "seed": None}, 2), optuna.samplers.RandomSampler)


# ---- the real thing --------------------------------------------------------------------------------


@pytest.fixture
def study_command(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join(["the king and the queen rule", "water flows to the sea"] * 3000))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("king\tqueen\t9\nwater\tsea\t7\nking\tsea\t1\nthe\tto\t2\n")
    return [
        str(EXE),
        "--multirun",
        "sweep=optuna_ws353",
        "hydra.sweeper.n_trials=3",
        "model.dim=choice(8,16)",  # an axis from the command line replaces the preset's
        f"data.corpus={corpus}",
        "data.min_count=1",
        "train.epochs=3",
        "train.chunk_words=100",
        "train.report_every_s=0",
        "train=deterministic",
        f"eval.similarity=[{pairs}]",
        "eval.analogies=",
        "logger.log_model=false",  # the MLflow model has its own test
        f"logger.tracking_uri=sqlite:///{tmp_path / 'm.db'}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        f"train.checkpoint_dir={tmp_path / 'ckpt'}",
    ]


def _interrupt_in_second_trial(cmd, tmp_path, sig):
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=tmp_path)
    for line in proc.stderr:
        if line.startswith("[job 1]") and "epoch 2/3" in line:
            proc.send_signal(sig)
            break
    rest = proc.stderr.read()
    return proc.wait(timeout=120), rest


def _study(tmp_path):
    [summary] = optuna.get_all_study_summaries(f"sqlite:///{tmp_path / 'optuna.db'}")
    return optuna.load_study(study_name=summary.study_name, storage=f"sqlite:///{tmp_path / 'optuna.db'}")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])  # SIGTERM's path is SIGINT's (test_reliability)
def test_an_interrupted_study_resumes_where_it_stopped(study_command, tmp_path, sig):
    code, rest = _interrupt_in_second_trial(study_command, tmp_path, sig)
    assert code == {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -9}[sig], rest[-2000:]
    if sig != signal.SIGKILL:
        assert "cut short are queued again" in rest and "rerun the same command" in rest
    study = _study(tmp_path)
    assert [t.state for t in study.trials][0] == TrialState.COMPLETE
    cut = study.trials[1]
    assert cut.state == (TrialState.RUNNING if sig == signal.SIGKILL else TrialState.FAIL)

    proc = subprocess.run(study_command, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stderr + proc.stdout  # Hydra's "Launching ..." lines are on stdout
    assert "1 of 3 trials done" in log
    assert "train.resume=auto" in log  # the cut trial continues its checkpoint (Ctrl-C saved one)
    if sig != signal.SIGKILL:
        assert "resuming from" in log
    else:  # the killed attempt's run is not left RUNNING
        assert "1 run(s) of a killed earlier attempt closed as KILLED" in log
    study = _study(tmp_path)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) == 3 and states.count(TrialState.RUNNING) == 0
    retry = next(t for t in study.trials if t.user_attrs.get(RETRY_OF) == cut.number)
    assert retry.params == cut.params and retry.state == TrialState.COMPLETE
    best = study.best_trial
    assert f"Best value: {best.value:.6g} (trial {best.number}" in log
    results = (tmp_path / "multirun" / "optimization_results.yaml").read_text()
    assert f"best_trial: {best.number}" in results and "trials_counted: 3" in results
    # one MLflow parent gathers the trials of both invocations; it ends FINISHED (the cut run
    # was resumed to completion), each trial's run is tagged with the study
    client = MlflowClient(f"sqlite:///{tmp_path / 'm.db'}")
    runs = client.search_runs([client.get_experiment_by_name("nbw2v").experiment_id])
    parents = [r for r in runs if r.data.tags.get("nbw2v.role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("nbw2v.role") != "sweep"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.tags["nbw2v.optuna_study"] == study.study_name
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert all(c.data.tags["nbw2v.optuna_study"] == study.study_name for c in children)
    finished = [c for c in children if c.info.status == "FINISHED"]
    assert len(finished) == 3 and sorted(c.info.status for c in children) == ["FINISHED"] * 3 + ["KILLED"]
    values = sorted(c.data.metrics["eval/pairs"] for c in finished)
    assert values == pytest.approx(sorted(t.value for t in study.trials if t.state == TrialState.COMPLETE))
    # a complete study says how to continue it instead of running more
    again = subprocess.run(study_command, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert again.returncode == 0 and "already has its 3 trials; raise hydra.sweeper.n_trials" in again.stderr


@pytest.mark.slow
def test_bad_sweeper_settings_fail_before_the_sweep_starts(study_command, tmp_path):
    proc = subprocess.run(
        [*study_command, "hydra.sweeper.n_trials=0"], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "nbw2v-train: error: hydra.sweeper.n_trials=0: must be an integer >= 1"
    )
    assert not (tmp_path / "m.db").exists() and not (tmp_path / "optuna.db").exists()


@pytest.mark.slow
def test_a_study_runs_in_one_process_at_a_time(study_command, tmp_path):
    from filelock import FileLock

    from nbw2v.app.optuna_sweeper import _lock_path

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"  # auto: beside the MLflow store m.db
    assert _lock_path(storage, "mine") != _lock_path(storage, "other")
    with FileLock(str(_lock_path(storage, "mine"))):  # held, as a running sweep of the study does
        proc = subprocess.run(
            [*study_command, "hydra.sweeper.study_name=mine"], capture_output=True, text=True, cwd=tmp_path, timeout=300
        )
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("nbw2v-train: error: study mine is being run by another process (lock ")
    assert not (tmp_path / "m.db").exists()  # refused before the sweep's MLflow run


def test_failed_and_nan_trials_fail_without_stopping_the_study():
    class Result:  # a Hydra JobReturn: return_value raises what the job raised
        def __init__(self, value):
            self.value = value

        @property
        def return_value(self):
            if isinstance(self.value, Exception):
                raise self.value
            return self.value

    sweep = StudySweep({})
    sweep.settings = Settings()
    study = optuna.create_study(direction="maximize")
    space = {"k": IntDistribution(1, 9)}
    failures = []
    told = [sweep._tell(study, study.ask(space), Result(v), failures) for v in (ValueError("boom"), math.nan, 0.25)]
    assert told == [False, False, True]
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]
    assert "ValueError: boom" in failures[0] and "no objective value (nan)" in failures[1]
