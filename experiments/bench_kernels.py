"""Kernel benchmark: nbw2v's Numba kernels against their peers, measured in the same run.

    python experiments/bench_kernels.py [--quick] [--out experiments/reports]

Writes ``bench_kernels.md`` and ``bench_kernels.json``. For each setting and thread count
(Numba threads and BLAS threads set alike) it reports pairs/s of

* the naive softmax, batched (V = 10k and 50k, d = 100, B = 256): nbw2v's kernel, a batched
  NumPy implementation of the same math (three matrix products), PyTorch CPU autograd when
  ``torch`` is importable, and the roofline: NumPy's float32 GEMM rate on the same three
  shapes, converted to pairs/s at 6 V d flops per pair;
* negative sampling, batched (K = 5 and 15, d = 100 and 300, V = 50k): nbw2v's kernel and a
  batched NumPy implementation (gather, einsum, sigmoid);

plus one call of the per-pair API at every size from the CS224N toy problem (V = 5, d = 3) to V =
50,000, d = 300 against the NumPy formulas, and the cold JIT compile time (empty cache) and the
warm start-up time of a second process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# isort: off
import nbw2v  # noqa: F401  (before NumPy loads OpenBLAS: nbw2v sets the thread-pool defaults)

# isort: on
import numba
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from nbw2v._jit import thread_env_report
from nbw2v.app.run import cpu_name
from nbw2v.losses import neg_batch_loss_grad, softmax_batch_loss_grad

try:
    import torch
except ImportError:  # optional peer
    torch = None

BATCH, DIM = 256, 100
#: Negative-sampling pairs per call: a call on 256 pairs lasts ~100 us, the same order as
#: waking a sleeping thread pool, so thread scaling is measured on larger batches.
NEG_BATCH = 4096


def rate(fn, items: int, min_time: float, rounds: int = 5) -> float:
    """Items per second: the median over ``rounds`` of repeated calls lasting ``min_time`` each."""
    fn()  # warm-up (compile, first-touch allocations)
    results = []
    for _ in range(rounds):
        reps, start = 0, time.perf_counter()
        while True:
            fn()
            reps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        results.append(reps * items / elapsed)
    return statistics.median(results)


# ---- peers -------------------------------------------------------------------------------------


def numpy_softmax_batch(X, o, U):
    S = X @ U.T
    S -= S.max(axis=1, keepdims=True)
    np.exp(S, out=S)
    S /= S.sum(axis=1, keepdims=True)
    losses = -np.log(S[np.arange(len(o)), o])
    S[np.arange(len(o)), o] -= 1.0
    return losses, S @ U, S.T @ X


def gemm_only(X, U, S):
    """The three matrix products of the softmax, nothing else: the roofline."""
    return X @ U.T, S @ U, S.T @ X


def numpy_neg_batch(X, o, U, negs):
    rows = np.concatenate([o[:, None], negs], axis=1)  # (B, K+1)
    Y = U[rows]  # (B, K+1, d)
    scores = np.einsum("bkd,bd->bk", Y, X)
    labels = np.zeros_like(scores)
    labels[:, 0] = 1.0
    sign = 1.0 - 2.0 * labels  # -1 for the outside word, +1 for negatives
    losses = np.logaddexp(0.0, sign * scores).sum(axis=1)
    coef = 1.0 / (1.0 + np.exp(-scores)) - labels
    grad_x = np.einsum("bk,bkd->bd", coef, Y)
    grad_rows = coef[:, :, None] * X[:, None, :]
    return losses, grad_x, grad_rows


def torch_softmax_batch(X, o, U):
    X = X.detach().requires_grad_(True)
    U = U.detach().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(X @ U.T, o, reduction="sum")
    loss.backward()
    return loss, X.grad, U.grad


# ---- measurements ------------------------------------------------------------------------------


def bench_softmax(n_words: int, threads: int, min_time: float, rng) -> dict:
    X = (rng.standard_normal((BATCH, DIM)) * 0.1).astype(np.float32)
    U = (rng.standard_normal((n_words, DIM)) * 0.1).astype(np.float32)
    o = rng.integers(0, n_words, BATCH)
    S = rng.standard_normal((BATCH, n_words)).astype(np.float32)
    losses = np.empty(BATCH)
    gX, gU, work = np.empty_like(X), np.empty_like(U), np.empty((BATCH, n_words), np.float32)
    flops = 6.0 * n_words * DIM * BATCH
    row = {"loss": "softmax", "V": n_words, "d": DIM, "batch": BATCH, "threads": threads}
    row["gemm_pairs_s"] = rate(lambda: gemm_only(X, U, S), BATCH, min_time)
    row["gemm_gflops"] = row["gemm_pairs_s"] * flops / BATCH / 1e9
    row["nbw2v_pairs_s"] = rate(lambda: softmax_batch_loss_grad(X, o, U, losses, gX, gU, work), BATCH, min_time)
    row["numpy_pairs_s"] = rate(lambda: numpy_softmax_batch(X, o, U), BATCH, min_time)
    if torch is not None:
        tX, tU, to = torch.from_numpy(X), torch.from_numpy(U), torch.from_numpy(o)
        row["torch_pairs_s"] = rate(lambda: torch_softmax_batch(tX, to, tU), BATCH, min_time)
    row["nbw2v_vs_gemm"] = row["nbw2v_pairs_s"] / row["gemm_pairs_s"]
    row["nbw2v_vs_numpy"] = row["nbw2v_pairs_s"] / row["numpy_pairs_s"]
    if "torch_pairs_s" in row:
        row["nbw2v_vs_torch"] = row["nbw2v_pairs_s"] / row["torch_pairs_s"]
    return row


def bench_negative(n_neg: int, dim: int, threads: int, min_time: float, rng, n_words=50_000) -> dict:
    B = NEG_BATCH
    X = (rng.standard_normal((B, dim)) * 0.1).astype(np.float32)
    U = (rng.standard_normal((n_words, dim)) * 0.1).astype(np.float32)
    o = rng.integers(0, n_words, B)
    negs = rng.integers(0, n_words, (B, n_neg))
    losses, gX = np.empty(B), np.empty_like(X)
    rows = np.empty((B, n_neg + 1, dim), np.float32)
    row = {"loss": "negative", "V": n_words, "d": dim, "K": n_neg, "batch": B, "threads": threads}
    row["nbw2v_pairs_s"] = rate(lambda: neg_batch_loss_grad(X, o, U, negs, losses, gX, rows), B, min_time)
    row["numpy_pairs_s"] = rate(lambda: numpy_neg_batch(X, o, U, negs), B, min_time)
    row["nbw2v_pairs_s_per_thread"] = row["nbw2v_pairs_s"] / threads
    row["nbw2v_vs_numpy"] = row["nbw2v_pairs_s"] / row["numpy_pairs_s"]
    return row


STARTUP = r"""
import time
t0 = time.perf_counter()
import numpy as np
import nbw2v
t1 = time.perf_counter()
rng = np.random.default_rng(0)
U = rng.standard_normal((1000, 16)).astype(np.float32)
X = rng.standard_normal((8, 16)).astype(np.float32)
negs = rng.integers(0, 1000, (8, 5))
nbw2v.naive_softmax_loss_and_grad(X[0], 3, U)
nbw2v.neg_sampling_loss_and_grad(X[0], 3, U, negs[0])
nbw2v.skipgram(0, [1, 2], U, U, "negative", negs[:2])
nbw2v.naive_softmax_loss_and_grad_batch(X, np.arange(8), U)
nbw2v.neg_sampling_loss_and_grad_batch(X, np.arange(8), U, negs)
t2 = time.perf_counter()
print(f"{t1 - t0} {t2 - t1} {t2 - t0}")
"""


#: (V, d) of the per-call table: the CS224N toy problem up to a 50k-word vocabulary
PER_CALL_SIZES = ((5, 3), (100, 10), (2_000, 50), (10_000, 100), (50_000, 300))


def numpy_softmax_pair(v, o, U):
    """The naive softmax of one pair by the NumPy formulas (a student's vectorised version)."""
    s = U @ v
    e = np.exp(s - s.max())
    p = e / e.sum()
    loss = -np.log(p[o])
    p[o] -= 1.0
    return loss, U.T @ p, np.outer(p, v)


def numpy_neg_pair(v, o, U, negs):
    """Negative sampling of one pair by the NumPy formulas, the dense (V, d) gradient returned."""
    sig_o = 1.0 / (1.0 + np.exp(-(U[o] @ v)))
    sig_n = 1.0 / (1.0 + np.exp(U[negs] @ v))
    grad_U = np.zeros_like(U)
    grad_U[o] += (sig_o - 1.0) * v
    np.add.at(grad_U, negs, np.outer(1.0 - sig_n, v))
    return -np.log(sig_o) - np.log(sig_n).sum(), (sig_o - 1.0) * U[o] + (1.0 - sig_n) @ U[negs], grad_U


def _per_call_row(n_words: int, dim: int, min_time: float, rng) -> dict:
    U = rng.standard_normal((n_words, dim)) * 0.1
    v = rng.standard_normal(dim) * 0.1
    negs = rng.integers(0, n_words, 10)
    X, o = v[None, :].copy(), np.array([1])
    calls = {
        "softmax_nbw2v_us": lambda: nbw2v.naive_softmax_loss_and_grad(v, 1, U),
        "softmax_numpy_us": lambda: numpy_softmax_pair(v, 1, U),
        "softmax_batched_us": lambda: nbw2v.naive_softmax_loss_and_grad_batch(X, o, U),
        "negative_nbw2v_us": lambda: nbw2v.neg_sampling_loss_and_grad(v, 1, U, negs),
        "negative_numpy_us": lambda: numpy_neg_pair(v, 1, U, negs),
    }
    times = {key: 1e6 / rate(call, 1, min_time) for key, call in calls.items()}
    return {"V": n_words, "d": dim, "threads": numba.get_num_threads(), **times}


def bench_per_call(min_time: float, rng) -> list[dict]:
    """Microseconds per call of the per-pair API at the default thread count (float64, as the
    assignment's arrays): nbw2v against the NumPy formulas, and the batched kernel given one pair."""
    rows = []
    for n_words, dim in PER_CALL_SIZES:
        rows.append(_per_call_row(n_words, dim, min_time, rng))
        print(json.dumps(rows[-1]), flush=True)
    return rows


#: the course API's sizes: the per-call sizes and the assignment-scale V = 20,000, d = 100
COURSE_SIZES = tuple(sorted({*PER_CALL_SIZES, (20_000, 100)}))
#: outside words of the skip-gram window measured (the issue's case: 10)
COURSE_WINDOW = 10


class _Dataset:
    """The assignment's dataset interface: ``sampleTokenIdx()`` from a seeded generator."""

    def __init__(self, n_words: int, seed: int = 0):
        self.n_words, self.rng = n_words, random.Random(seed)

    def sampleTokenIdx(self) -> int:  # noqa: N802  (the assignment's name)
        return self.rng.randrange(self.n_words)


def numpy_skipgram(c, outside, C, U, dataset, pair):
    """The assignment's skipgram loop in NumPy: one dense (V, d) gradient per outside word."""
    loss, grad_c, grad_u = 0.0, np.zeros(C.shape), np.zeros(U.shape)
    for o in outside:
        pair_loss, g_c, g_u = pair(C[c], o, U, dataset)
        loss += pair_loss
        grad_c[c] += g_c
        grad_u += g_u
    return loss, grad_c, grad_u


def _course_row(n_words: int, dim: int, min_time: float, rng) -> dict:
    from nbw2v import cs224n

    U, C = rng.standard_normal((n_words, dim)) * 0.1, rng.standard_normal((n_words, dim)) * 0.1
    v, ds = C[0], _Dataset(n_words)
    words = {f"w{i}": i for i in range(n_words)}
    window = [f"w{(7 * i + 1) % n_words}" for i in range(COURSE_WINDOW)]
    ids = [words[w] for w in window]

    def np_neg(v, o, U, dataset):
        return numpy_neg_pair(v, o, U, np.array(cs224n.getNegativeSamples(o, dataset, 10)))

    def np_softmax(v, o, U, dataset):
        return numpy_softmax_pair(v, o, U)

    calls = {
        "neg_nbw2v_us": lambda: cs224n.negSamplingLossAndGradient(v, 1, U, ds),
        "neg_numpy_us": lambda: np_neg(v, 1, U, ds),
        "softmax_nbw2v_us": lambda: cs224n.naiveSoftmaxLossAndGradient(v, 1, U, ds),
        "softmax_numpy_us": lambda: np_softmax(v, 1, U, ds),
        "sg_neg_nbw2v_us": lambda: cs224n.skipgram("w0", 5, window, words, C, U, ds, cs224n.negSamplingLossAndGradient),
        "sg_neg_numpy_us": lambda: numpy_skipgram(0, ids, C, U, ds, np_neg),
    }
    if n_words * dim <= 2_000_000:  # the NumPy loop's ten dense (V, d) outer products: seconds beyond
        calls["sg_softmax_nbw2v_us"] = lambda: cs224n.skipgram(
            "w0", 5, window, words, C, U, ds, cs224n.naiveSoftmaxLossAndGradient
        )
        calls["sg_softmax_numpy_us"] = lambda: numpy_skipgram(0, ids, C, U, ds, np_softmax)
    times = {key: 1e6 / rate(call, 1, min_time) for key, call in calls.items()}
    return {"V": n_words, "d": dim, "threads": numba.get_num_threads(), **times}


def bench_course(min_time: float, rng) -> list[dict]:
    """Microseconds per call of ``nbw2v.cs224n`` (the assignment's names, float64, K = 10, the
    dataset's sampling included on both sides) against the same functions written in NumPy."""
    rows = []
    for n_words, dim in COURSE_SIZES:
        rows.append(_course_row(n_words, dim, min_time, rng))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def course_markdown(rows: list[dict]) -> list[str]:
    lines = [
        "## The course API (`nbw2v.cs224n`) against NumPy",
        "",
        "Microseconds per call, float64, K = 10 negatives drawn through the dataset's",
        f"`sampleTokenIdx()` on both sides, a skip-gram window of {COURSE_WINDOW} outside words; NumPy",
        "side: the same functions written with NumPy (the assignment's loop for `skipgram`).",
        "",
        "| V | d | negSampling nbw2v | NumPy | ratio | naiveSoftmax nbw2v | NumPy | ratio "
        "| skipgram (neg) nbw2v | NumPy | ratio | skipgram (softmax) nbw2v | NumPy | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = []
        for key in ("neg", "softmax", "sg_neg", "sg_softmax"):
            if f"{key}_nbw2v_us" in r:
                ours, numpy_ = r[f"{key}_nbw2v_us"], r[f"{key}_numpy_us"]
                cells.append(f"{ours:,.1f} | {numpy_:,.1f} | {numpy_ / ours:.2f}x")
            else:
                cells.append("— | — | —")
        lines.append(f"| {r['V']:,} | {r['d']} | " + " | ".join(cells) + " |")
    lines += ["", "ratio = NumPy time / nbw2v time (above 1: nbw2v is faster)."]
    return lines


def bench_startup() -> dict:
    """Cold compile (empty cache dir) then a second process on the same cache (warm)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        env.pop("NBW2V_NO_CACHE", None)
        out = {}
        for label in ("cold", "warm"):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", STARTUP], env=env, capture_output=True, text=True, check=True)
            wall = time.perf_counter() - start
            imp, first_calls, total = (float(v) for v in proc.stdout.split())
            out[label] = {
                "import_s": imp,
                "first_calls_s": first_calls,
                "to_first_results_s": total,
                "process_wall_s": wall,
            }
    return out


# ---- report ------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = cpu_name()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "simd": [f for f in ("avx2", "fma", "avx512f") if f" {f}" in flags],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "torch": getattr(torch, "__version__", None),
        "blas": [
            {k: i.get(k) for k in ("internal_api", "version", "architecture", "filepath")}
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ],
        "thread_env": thread_env_report(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", ""),
    }


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Kernel benchmark",
        "",
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}  ",
        f"Machine: {m['cpu']}, {m['cores']} cores ({', '.join(m['simd'])}), Python {m['python']}, "
        f"NumPy {m['numpy']}, Numba {m['numba']}, torch {m['torch'] or 'not installed'}  ",
        "BLAS: " + "; ".join(f"{b['internal_api']} {b['version']} ({b['architecture']})" for b in m["blas"]) + "  ",
        f"Thread settings: {m['thread_env']}, OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE'] or 'unset'}",
        "",
        f"All numbers are pairs/s, float32, median of 5 rounds, batch {BATCH} (softmax) and {NEG_BATCH}",
        "(negative sampling), every peer measured in this",
        "run with the same thread count (Numba threads and BLAS threads set alike).",
        "",
        "## Naive softmax (batched), d = 100",
        "",
        "The GEMM column is the roofline: NumPy's rate on the softmax's three matrix products,",
        "converted at 6 V d flops per pair.",
        "",
        "| V | threads | GEMM ceiling (GFLOP/s) | nbw2v | % of ceiling | NumPy batched | nbw2v / NumPy "
        "| PyTorch CPU | nbw2v / PyTorch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["softmax"]:
        torch_cells = f"{r['torch_pairs_s']:,.0f} | {r['nbw2v_vs_torch']:.2f}x" if "torch_pairs_s" in r else "— | —"
        lines.append(
            f"| {r['V']:,} | {r['threads']} | {r['gemm_pairs_s']:,.0f} ({r['gemm_gflops']:.0f}) "
            f"| {r['nbw2v_pairs_s']:,.0f} | {100 * r['nbw2v_vs_gemm']:.0f}% | {r['numpy_pairs_s']:,.0f} "
            f"| {r['nbw2v_vs_numpy']:.2f}x | {torch_cells} |"
        )
    lines += [
        "",
        "## Negative sampling (batched), V = 50,000 (compact K+1 row gradients, as the kernel returns them)",
        "",
        "| K | d | threads | nbw2v | nbw2v per thread | NumPy batched | nbw2v / NumPy |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["negative"]:
        lines.append(
            f"| {r['K']} | {r['d']} | {r['threads']} | {r['nbw2v_pairs_s']:,.0f} "
            f"| {r['nbw2v_pairs_s_per_thread']:,.0f} | {r['numpy_pairs_s']:,.0f} | {r['nbw2v_vs_numpy']:.2f}x |"
        )
    lines += [
        "",
        "## One call at every size (the per-pair API, float64, K = 10, default threads)",
        "",
        "Microseconds per call: nbw2v's per-pair functions (serial below V d = 1e6, no thread-pool wake-up),",
        "the NumPy formulas, and the batched naive softmax given one pair. Both return the dense (V, d)",
        "gradient of the outside vectors, as the CS224N assignment's functions do.",
        "",
        "| V | d | softmax nbw2v | softmax NumPy | NumPy / nbw2v | softmax batched (B = 1) "
        "| negative nbw2v | negative NumPy | NumPy / nbw2v |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.get("per_call", []):
        lines.append(
            f"| {r['V']:,} | {r['d']} | {r['softmax_nbw2v_us']:,.1f} | {r['softmax_numpy_us']:,.1f} "
            f"| {r['softmax_numpy_us'] / r['softmax_nbw2v_us']:.2f}x | {r['softmax_batched_us']:,.1f} "
            f"| {r['negative_nbw2v_us']:,.1f} | {r['negative_numpy_us']:,.1f} "
            f"| {r['negative_numpy_us'] / r['negative_nbw2v_us']:.2f}x |"
        )
    if report.get("course"):
        lines += ["", *course_markdown(report["course"])]
    s = report["startup"]
    lines += [
        "",
        "## Start-up (import + first call of every public kernel, fresh process)",
        "",
        "| cache | import nbw2v (s) | first calls (s) | total to first results (s) | process wall (s) |",
        "|---|---|---|---|---|",
    ]
    for label in ("cold", "warm"):
        r = s[label]
        lines.append(
            f"| {label} | {r['import_s']:.2f} | {r['first_calls_s']:.2f} | {r['to_first_results_s']:.2f} "
            f"| {r['process_wall_s']:.2f} |"
        )
    lines += ["", "Cold: empty Numba cache directory (every kernel compiled). Warm: a second process on that cache."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).parent / "reports"), help="report directory")
    parser.add_argument("--quick", action="store_true", help="short timings (smoke test, not for reports)")
    parser.add_argument("--threads", default="1,2", help="thread counts to measure (default 1,2)")
    parser.add_argument(
        "--only", choices=("all", "course"), default="all", help="course: only the course API (bench_course_api.md)"
    )
    args = parser.parse_args(argv)
    thread_counts = [int(t) for t in args.threads.split(",")]
    bad = [t for t in thread_counts if not 1 <= t <= numba.config.NUMBA_NUM_THREADS]
    if bad:
        parser.error(f"--threads: {bad} outside [1, {numba.config.NUMBA_NUM_THREADS}] (cores available)")
    min_time = 0.05 if args.quick else 0.4
    rng = np.random.default_rng(0)
    if args.only == "course":
        return write_course_report(Path(args.out), min_time, rng)
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "softmax": [],
        "negative": [],
    }
    vocab_sizes = (2_000,) if args.quick else (10_000, 50_000)
    for threads in thread_counts:
        numba.set_num_threads(threads)
        with threadpool_limits(threads):
            if torch is not None:
                torch.set_num_threads(threads)
            for n_words in vocab_sizes:
                report["softmax"].append(bench_softmax(n_words, threads, min_time, rng))
                print(json.dumps(report["softmax"][-1]), flush=True)
            for n_neg in (5, 15):
                for dim in (100, 300):
                    report["negative"].append(bench_negative(n_neg, dim, threads, min_time, rng))
                    print(json.dumps(report["negative"][-1]), flush=True)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    report["per_call"] = bench_per_call(min_time, rng)
    report["course"] = bench_course(min_time, rng)
    report["startup"] = bench_startup()
    print(json.dumps(report["startup"]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_kernels.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "bench_kernels.md").write_text(markdown(report))
    print(f"wrote {out / 'bench_kernels.md'} and {out / 'bench_kernels.json'}")
    return 0


def write_course_report(out: Path, min_time: float, rng) -> int:
    rows = bench_course(min_time, rng)
    header = [
        "# Course API benchmark",
        "",
        f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  ",
        f"Machine: {machine()['cpu']}, {machine()['cores']} cores, default threads ({numba.get_num_threads()})",
        "",
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_course_api.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / "bench_course_api.md").write_text("\n".join(header + course_markdown(rows)) + "\n")
    print(f"wrote {out / 'bench_course_api.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
