"""The GPU side without a GPU: kernels and trainer on Numba's CUDA simulator, PTX compilation for
sm_90, the clear error of ``train.device=cuda`` without a GPU, the config checks, and the import
hygiene that lets the GPU check run where MLflow and Hydra are not installed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbw2v.config import Config, ConfigError, validate

TESTS = Path(__file__).parent
BIN = Path(sys.executable).parent
numba_cuda = pytest.importorskip("numba_cuda", reason="numba-cuda not installed (pip install 'nbw2v[cuda]')")


def _real_gpu() -> bool:
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "") not in ("", "0"):
        return False
    from nbw2v.gpu.device import gpu_status

    return gpu_status()[0]


def _run(args, env=None, timeout=900):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=TESTS.parent, env=env)


@pytest.mark.slow
def test_gpu_kernels_and_trainer_on_the_cuda_simulator():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    proc = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TESTS / "gpu_cases.py")], env)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "8 passed" in proc.stdout.splitlines()[-1]


@pytest.mark.skipif(not _real_gpu(), reason="no CUDA GPU here (the simulator run covers the same cases)")
def test_gpu_kernels_and_trainer_on_the_gpu():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    proc = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TESTS / "gpu_cases.py")], env)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


def test_gpu_kernels_compile_to_ptx_for_sm90():
    proc = _run([sys.executable, str(TESTS / "gpu_ptx.py")], timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    if proc.stdout.startswith("SKIP"):
        pytest.skip(proc.stdout.strip())
    assert proc.stdout.count("bytes of PTX") == 7


@pytest.mark.skipif(_real_gpu(), reason="a GPU is present")
def test_device_cuda_without_a_gpu_is_a_clear_error_before_any_work(tmp_path, monkeypatch):
    from nbw2v.gpu.device import GpuUnavailable
    from nbw2v.training import train as train_module

    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM", raising=False)
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n")
    cfg = Config()
    cfg.data.corpus, cfg.train.device = str(corpus), "cuda"

    def no_read(*args, **kwargs):
        raise AssertionError("the corpus was read before the GPU check")

    monkeypatch.setattr(train_module, "build_vocab_and_corpus", no_read)
    with pytest.raises(GpuUnavailable, match=r"train.device=cuda: no usable GPU: .*train.device=cpu"):
        train_module.train(cfg)


@pytest.mark.skipif(_real_gpu(), reason="a GPU is present")
def test_nbw2v_train_device_cuda_without_a_gpu_exits_2_with_the_reason(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    store = tmp_path / "mlflow.db"
    args = ["train.device=cuda", f"logger.tracking_uri=sqlite:///{store}", f"hydra.run.dir={tmp_path}"]
    proc = _run([str(BIN / "nbw2v-train"), *args], env)
    assert proc.returncode == 2
    assert "nbw2v-train: error: train.device=cuda: no usable GPU" in proc.stderr
    assert "Traceback" not in proc.stderr and "corpus words" not in proc.stderr  # nothing read
    assert not store.exists()  # no MLflow run was opened


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"loss.name": "softmax"}, "loss.name=softmax: the GPU trainer has no softmax loss yet"),
        ({"loss.name": "hs"}, "loss.name=hs: the GPU trainer has no hs loss yet"),
        ({"model.arch": "cbow"}, "model.arch=cbow"),
        ({"train.shared_negatives": False}, "train.shared_negatives=False"),
        ({"train.deterministic": True}, "train.deterministic=true: CPU only"),
        ({"model.window": 65}, "model.window=65: the GPU trainer takes windows up to 64"),
        ({"loss.K": 128}, "loss.K=128: the GPU trainer takes up to 127 negatives"),
        ({"model.dim": 1000}, "model.dim=1000: with model.window=5 and loss.K=5 a GPU block stages 62 KB"),
        ({"train.device": "gpu"}, "train.device='gpu': expected one of cpu, cuda"),
    ],
)
def test_cuda_settings_are_checked_with_the_config(overrides, message):
    cfg = Config()
    cfg.train.device = "cuda"
    for key, value in overrides.items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(cfg)


def test_kernel_and_trainer_modules_import_only_numpy_and_numba():
    code = (
        "import sys, nbw2v, nbw2v.training.train, nbw2v.losses, nbw2v.gradcheck, nbw2v.evaluation.evaluate, "
        "nbw2v.gpu.kernels, nbw2v.gpu.losses, nbw2v.gpu.trainer\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'mlflow', 'hydra', 'omegaconf', 'matplotlib'})\n"
        "print(bad)"
    )
    proc = _run([sys.executable, "-c", code], {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[]"


@pytest.mark.slow
def test_gpu_check_script_runs_its_steps_on_the_simulator(tmp_path):
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    proc = _run([sys.executable, str(TESTS.parent / "experiments" / "gpu_check.py"), "--smoke", "--out", str(tmp_path)],
                env, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    import json

    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["device"].startswith("Numba CUDA simulator")
    assert report["agreement"] and all(r["ok"] for r in report["agreement"].values())
    assert report["training"]["cuda"]["words_per_sec"] > 0 and report["training"]["cpu"]["words_per_sec"] > 0
    assert report["softmax"]["V=16"]["kernel"]["softmax_pairs_per_sec"] > 0
    assert "## (b) Skip-gram" in (tmp_path / "gpu_check.md").read_text()


def test_gpu_check_without_a_gpu_says_so():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    if _real_gpu():
        pytest.skip("a GPU is present")
    proc = _run([sys.executable, str(TESTS.parent / "experiments" / "gpu_check.py")], env, timeout=300)
    assert proc.returncode == 1 and "gpu_check: no usable GPU: no CUDA GPU or driver found" in proc.stderr
