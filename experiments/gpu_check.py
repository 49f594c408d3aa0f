"""GPU check, sized for a short lease (under 5 minutes on one H200-class GPU).

    PYTHONPATH=. python3 experiments/gpu_check.py [--corpus .gpu-data/refcorpus.txt.gz] [--out DIR]
    NUMBA_ENABLE_CUDASIM=1 python experiments/gpu_check.py --smoke      # the same steps, tiny, no GPU

Needs numpy, numba and numba-cuda (CuPy optional, for cuBLAS); no MLflow, no Hydra: it runs with
what a GPU machine's image has. Copy the benchmark corpus into the ignored folder .gpu-data/
(``mkdir -p .gpu-data && cp ../shared/corpora/refcorpus.txt.gz .gpu-data/``) so it travels with
the working tree. Steps:

(a) agreement: the CUDA kernels against the CPU kernels on random problems, float32 and float64
    (batched softmax with each matrix-product backend; shared-negative windows);
(b) training: skip-gram with shared negatives on the corpus at the standard setting (K=5, window 5,
    dim 100, min_count 5, sample 1e-3, lr 0.025, 5 epochs) with ``train.device=cuda`` and, for the
    quality reference, on the CPU with every core; words/s, WS353/SimLex/analogies of both;
(c) naive softmax throughput at V=10k and 50k (d=100, float32): pairs/s of the whole batched
    kernel against the cuBLAS rate of its three matrix products alone on the same shapes, and
    of the plain-kernel backend.

Writes gpu_check.json and gpu_check.md to --out (default experiments/reports/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import nbw2v  # noqa: E402, F401  (thread-pool defaults before NumPy loads OpenBLAS)
from nbw2v.app.run import cpu_name  # noqa: E402
from nbw2v.gpu.device import gpu_status, require_gpu  # noqa: E402

CORPORA = [ROOT / ".gpu-data" / "refcorpus.txt.gz", ROOT.parent / "shared" / "corpora" / "refcorpus.txt.gz"]
EVAL_KEYS = ("eval/ws353", "eval/simlex", "eval/analogy")
SETTING = {"K": 5, "window": 5, "dim": 100, "min_count": 5, "sample": 1e-3, "lr": 0.025, "epochs": 5}


def _rel_err(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.abs(got - want)) / max(1e-300, float(np.max(np.abs(want)))))


def check_agreement(smoke: bool, threads: int) -> dict:
    """(a): max relative errors of the GPU kernels against the CPU kernels."""
    from nbw2v import losses as cpu
    from nbw2v.gpu import losses as gpu

    rng = np.random.default_rng(7)
    out: dict = {}
    n_pairs, n_words, dim = (3, 7, 4) if smoke else (64, 2000, 50)
    backends = ["kernel"] + (["cublas"] if gpu.matmul_backend("auto") == "cublas" else [])
    for dtype, tol in ((np.float32, 1e-4), (np.float64, 1e-10)):
        name = np.dtype(dtype).name
        X = rng.standard_normal((n_pairs, dim)).astype(dtype) * 0.3
        U = rng.standard_normal((n_words, dim)).astype(dtype) * 0.3
        o = rng.integers(0, n_words, n_pairs)
        want = (np.empty(n_pairs), np.empty((n_pairs, dim), dtype), np.empty((n_words, dim), dtype))
        cpu.softmax_batch_loss_grad(X, o, U, *want)
        for backend in backends:
            got = (np.empty(n_pairs), np.empty((n_pairs, dim), dtype), np.empty((n_words, dim), dtype))
            gpu.softmax_batch_loss_grad(X, o, U, *got, matmul=backend, threads=threads)
            err = max(_rel_err(g, w) for g, w in zip(got, want, strict=True))
            out[f"softmax_{backend}_{name}"] = {"max_rel_err": err, "ok": err < tol}
        n_win, n_ctx, m, d2, v2 = (3, 4, 3, 4, 9) if smoke else (512, 10, 6, 100, 5000)
        Xv = rng.standard_normal((v2, d2)).astype(dtype) * 0.3
        Yv = rng.standard_normal((v2, d2)).astype(dtype) * 0.3
        ctx, tgt = rng.integers(0, v2, (n_win, n_ctx)), rng.integers(0, v2, (n_win, m))
        g_in, g_out, losses = np.empty((n_win, n_ctx, d2), dtype), np.empty((n_win, m, d2), dtype), np.empty(n_win)
        gpu.shared_neg_windows_loss_grad(ctx, np.full(n_win, n_ctx), tgt, Xv, Yv, g_in, g_out, losses, threads)
        err = 0.0
        for b in range(n_win):
            w_in, w_out = np.empty((n_ctx, d2)), np.empty((m, d2))
            w_loss = cpu.shared_neg_window_loss_grad(ctx[b], tgt[b], Xv.astype(np.float64), Yv.astype(np.float64),
                                                     w_in, w_out)  # fmt: skip
            err = max(err, _rel_err(losses[b], w_loss), _rel_err(g_in[b], w_in), _rel_err(g_out[b], w_out))
        out[f"shared_neg_{name}"] = {"max_rel_err": err, "ok": err < tol}
    return out


def _config(corpus: str, epochs: int, device: str, smoke: bool):
    from nbw2v.config import Config

    cfg = Config()
    cfg.data.corpus, cfg.data.cache = corpus, False
    cfg.data.min_count = 1 if smoke else SETTING["min_count"]
    cfg.data.sample = SETTING["sample"]
    cfg.model.dim = 8 if smoke else SETTING["dim"]
    cfg.model.window, cfg.loss.K = SETTING["window"], SETTING["K"]
    cfg.train.lr, cfg.train.epochs, cfg.train.device = SETTING["lr"], epochs, device
    cfg.train.report_every_s = 1e9
    cfg.train.checkpoint_every_s = 0.0
    cfg.train.checkpoint_dir = str(Path(os.environ.get("TMPDIR", "/tmp")) / "nbw2v-gpu-check")
    if smoke:
        cfg.train.chunk_words = cfg.train.gpu_chunk_words = 100
    return cfg


def check_training(corpus: str, epochs: int, smoke: bool) -> dict:
    """(b): the GPU trainer and the CPU trainer on the same prepared corpus."""
    from nbw2v.evaluation.evaluate import evaluate_configured, results_to_metrics
    from nbw2v.progress import SilentProgress
    from nbw2v.training.train import build_vocab_and_corpus, train

    prepared = build_vocab_and_corpus(_config(corpus, epochs, "cpu", smoke))
    out: dict = {"corpus": corpus, "raw_words": prepared[2]["raw_words"], "vocab_size": len(prepared[0])}
    for device in ("cuda", "cpu"):
        cfg = _config(corpus, epochs, device, smoke)
        emb = train(cfg, progress=SilentProgress(), prepared=prepared)
        s = emb.stats
        analogies = "" if smoke else "google"
        out[device] = {
            "words_per_sec": s["words_per_sec"],
            "train_seconds": s["train_seconds"],
            "compile_seconds": s["compile_seconds"],
            "final_loss": s["epoch_losses"][-1],
            "threads": s["threads"],
            **results_to_metrics(evaluate_configured(emb, analogies=analogies)),
        }
    ws = "eval/ws353"
    out["speedup_gpu_over_cpu"] = out["cuda"]["words_per_sec"] / out["cpu"]["words_per_sec"]
    if ws in out["cuda"] and ws in out["cpu"]:
        out["ws353_gpu_minus_cpu"] = out["cuda"][ws] - out["cpu"][ws]
    return out


def _timed(fn, min_time: float) -> float:
    """Seconds per call (best of rounds of calls filling min_time), GPU synchronised."""
    from numba import cuda

    fn()
    cuda.synchronize()
    best = float("inf")
    for _ in range(3):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            cuda.synchronize()
            elapsed = time.perf_counter() - start
            if elapsed >= min_time / 3:
                break
        best = min(best, elapsed / calls)
    return best


def _three_gemms(X, U, S, gx, gu, backend):
    from nbw2v.gpu import losses as gpu

    def run():
        gpu._gemm(X, U, S, False, True, backend)
        gpu._gemm(S, U, gx, False, False, backend)
        gpu._gemm(S, X, gu, True, False, backend)

    return run


def _batched_softmax(X, o, U, losses, gx, gu, S, backend, threads):
    from nbw2v.gpu import losses as gpu

    return lambda: gpu.softmax_batch_loss_grad(X, o, U, losses, gx, gu, S, matmul=backend, threads=threads)


def _row_pass(S, o, losses, batch, block):
    from nbw2v.gpu import kernels

    return lambda: kernels.softmax_rows[batch, block](S, o, losses)


def check_softmax_speed(smoke: bool, threads: int) -> dict:
    """(c): pairs/s of the batched softmax vs the rate of its three GEMMs alone."""
    from numba import cuda

    from nbw2v.gpu import kernels
    from nbw2v.gpu import losses as gpu

    rng = np.random.default_rng(3)
    batch, dim, sizes, min_time = (4, 4, (16,), 0.0) if smoke else (4096, 100, (10_000, 50_000), 1.0)
    out: dict = {"batch": batch, "dim": dim}
    for n_words in sizes:
        X = cuda.to_device((rng.standard_normal((batch, dim)) * 0.1).astype(np.float32))
        U = cuda.to_device((rng.standard_normal((n_words, dim)) * 0.1).astype(np.float32))
        o = cuda.to_device(rng.integers(0, n_words, batch))
        S = cuda.device_array((batch, n_words), np.float32)
        losses, gx, gu = (
            cuda.device_array(batch),
            cuda.device_array((batch, dim), np.float32),
            cuda.device_array((n_words, dim), np.float32),
        )
        row = {}
        for backend in ["kernel"] + (["cublas"] if gpu.matmul_backend("auto") == "cublas" else []):
            gemms = _three_gemms(X, U, S, gx, gu, backend)
            full = _batched_softmax(X, o, U, losses, gx, gu, S, backend, threads)
            t_gemm, t_full = _timed(gemms, min_time), _timed(full, min_time)
            flops = 3 * 2.0 * batch * n_words * dim
            row[backend] = {
                "gemm_pairs_per_sec": batch / t_gemm,
                "softmax_pairs_per_sec": batch / t_full,
                "fraction_of_gemm": t_gemm / t_full,
                "gemm_tflops": flops / t_gemm / 1e12,
            }
        block = threads or kernels.round_threads(n_words // 4)
        row["row_pass_seconds"] = _timed(_row_pass(S, o, losses, batch, block), min_time)
        out[f"V={n_words}"] = row
    return out


def markdown(report: dict) -> str:
    lines = [
        "# GPU check",
        "",
        f"- Device: {report['device']}",
        f"- Host: {report['host']}",
        f"- Command: `{report['command']}`; total {report['total_seconds']:.0f} s",
        "",
        "## (a) GPU kernels vs CPU kernels (max relative error)",
        "",
        "| check | max rel. error | ok |",
        "|---|---:|---|",
    ]
    for name, row in report["agreement"].items():
        lines.append(f"| {name} | {row['max_rel_err']:.2e} | {'yes' if row['ok'] else 'NO'} |")
    t = report["training"]
    lines += [
        "",
        f"## (b) Skip-gram, shared negatives: {t['raw_words']:,.0f} words, vocabulary {t['vocab_size']:,}",
        "",
        "| trainer | words/s | train s | compile s | WS353 | SimLex | analogies |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for device in ("cuda", "cpu"):
        r = t[device]
        label = "GPU" if device == "cuda" else f"CPU ({r['threads']} threads)"
        lines.append(
            f"| {label} | {r['words_per_sec']:,.0f} | {r['train_seconds']:.2f} | {r['compile_seconds']:.1f} | "
            + " | ".join(f"{r.get(k, float('nan')):.3f}" for k in EVAL_KEYS)
            + " |"
        )
    lines += [
        "",
        f"GPU / CPU: {t['speedup_gpu_over_cpu']:.2f}x; "
        f"WS353 GPU - CPU: {t.get('ws353_gpu_minus_cpu', float('nan')):+.3f}",
        "(targets: >= 10M words/s, WS353 within 0.02)",
        "",
        f"## (c) Naive softmax, batch {report['softmax']['batch']}, d={report['softmax']['dim']}, float32",
        "",
        "| V | backend | softmax pairs/s | its 3 GEMMs alone, pairs/s | fraction | GEMM TFLOP/s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for key, row in report["softmax"].items():
        if not key.startswith("V="):
            continue
        for backend in ("cublas", "kernel"):
            if backend in row:
                r = row[backend]
                lines.append(
                    f"| {key[2:]} | {backend} | {r['softmax_pairs_per_sec']:,.0f} | {r['gemm_pairs_per_sec']:,.0f} | "
                    f"{r['fraction_of_gemm']:.0%} | {r['gemm_tflops']:.1f} |"
                )
    lines += ["", "(target: cuBLAS backend >= 70% of its GEMM rate)", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="", help="default: .gpu-data/refcorpus.txt.gz, else ../shared/corpora")
    parser.add_argument("--epochs", type=int, default=SETTING["epochs"])
    parser.add_argument("--out", default=str(HERE / "reports"))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (the CUDA simulator in the tests)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    device = require_gpu("experiments/gpu_check.py")
    corpus = args.corpus or next((str(p) for p in CORPORA if p.exists()), "")
    if args.smoke and not args.corpus:
        words = "the king and the queen rule water flows to the sea".split()
        path = Path(args.out) / "gpu_check_smoke.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        text_rng = np.random.default_rng(1)
        path.write_text("\n".join(" ".join(text_rng.choice(words, 6)) for _ in range(20)) + "\n")
        corpus = str(path)
    if not corpus or not Path(corpus).exists():
        parser.error(f"--corpus: no corpus at {args.corpus or ' or '.join(map(str, CORPORA))}")
    threads = 32 if args.smoke else 0
    report: dict = {
        "device": device,
        "host": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": "python experiments/gpu_check.py" + (" --smoke" if args.smoke else ""),
    }
    print(f"gpu_check: {device}", flush=True)
    report["agreement"] = check_agreement(args.smoke, threads)
    print(f"gpu_check: (a) agreement {json.dumps(report['agreement'])}", flush=True)
    report["softmax"] = check_softmax_speed(args.smoke, threads)
    print(f"gpu_check: (c) softmax {json.dumps(report['softmax'])}", flush=True)
    report["training"] = check_training(corpus, 1 if args.smoke else args.epochs, args.smoke)
    print(f"gpu_check: (b) training {json.dumps(report['training'])}", flush=True)
    report["total_seconds"] = time.perf_counter() - start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "gpu_check.md").write_text(markdown(report))
    print(markdown(report))
    ok = all(r["ok"] for r in report["agreement"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    ok, why = gpu_status()
    if not ok:
        sys.exit(f"gpu_check: no usable GPU: {why}")
    raise SystemExit(main())
