"""nbw2v as an installed package: a wheel built from this repository, installed into a fresh
venv, runs ``nbw2v-train`` (one run, a 2-job multirun, a user config directory) from another
directory, with nothing of the repository on its path."""

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("nbw2v-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # the dependencies (numpy, numba, mlflow, hydra, ...) come from this environment as a plain
    # path: its .pth files (the editable install of the repository among them) are not processed
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "deps-from-dev-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / "nbw2v-train"), *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


@pytest.mark.slow
def test_the_wheel_runs_from_any_directory(installed, tmp_path):
    where = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import nbw2v.app.hydra_app as h; print(h.__file__); print(h.CONF_DIR)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout.split()
    assert all(str(installed) in p for p in where), where  # the package and its configs, not the repo
    corpus = tmp_path / "c.txt"
    corpus.write_text("the king and the queen rule\nwater flows to the sea\n" * 300)
    common = [
        f"data.corpus={corpus}",
        "data.min_count=1",
        "model.dim=8",
        "train.epochs=1",
        "eval.analogies=",
        f"logger.tracking_uri=sqlite:///{tmp_path / 'm.db'}",
    ]
    one = _run(installed, tmp_path, *common)
    assert one.returncode == 0, one.stderr[-3000:]
    assert "MLflow run" in one.stdout
    sweep = _run(installed, tmp_path, "--multirun", *common, "model.window=2,3")
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    assert "2 run(s), FINISHED" in sweep.stdout

    # a user config directory adds a group option (and can override the packaged ones)
    mine = tmp_path / "myconf" / "model"
    mine.mkdir(parents=True)
    (mine / "tiny.yaml").write_text("arch: skipgram\ndim: 4\nwindow: 1\n")
    user = _run(installed, tmp_path, "--config-dir", str(tmp_path / "myconf"), "model=tiny", "--cfg", "job")
    assert user.returncode == 0, user.stderr[-3000:]
    assert "dim: 4" in user.stdout and "window: 1" in user.stdout

    # the Optuna sweeper ships as a Hydra plugin that Hydra's own scan finds in the installed
    # package, and a study runs from there (its storage beside the MLflow store)
    scan = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "from hydra.core.plugins import Plugins; from hydra.plugins.sweeper import Sweeper; import sys;"
            "[print(c.__module__, sys.modules[c.__module__].__file__) for c in Plugins.instance().discover(Sweeper)]",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout
    found = dict(line.split() for line in scan.splitlines())
    assert str(installed) in found["hydra_plugins.nbw2v_optuna_sweeper"], scan
    pytest.importorskip("optuna")
    (tmp_path / "pairs.tsv").write_text("king\tqueen\t9\nwater\tsea\t7\nking\tsea\t1\n")
    scored = [*common, f"eval.similarity=[{tmp_path / 'pairs.tsv'}]"]
    study = _run(installed, tmp_path, "--multirun", *scored, "sweep=optuna_ws353", "hydra.sweeper.n_trials=1")
    assert study.returncode == 0, study.stderr[-3000:]
    assert "Best value:" in study.stderr and (tmp_path / "optuna.db").is_file()
