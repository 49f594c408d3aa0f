"""The CS224N experiment: nbw2v's ``experiment=cs224n`` against a plain NumPy implementation.

    python experiments/bench_course.py --corpus path/to/datasetSentences.txt [--numpy-iterations 200]

Runs, in one process after the other:

* ``nbw2v-train experiment=cs224n data.corpus=... `` end to end (a subprocess with a local MLflow
  store in a temporary folder: reading, 40,000 iterations, evaluation, logging), its wall time
  and the final printed cost;
* the same SGD loop written in plain NumPy the way the assignment structures it (per pair a
  dense (V, d) gradient of the outside vectors, summed per window, averaged per batch; random
  windows and negatives from Python's ``random``), for ``--numpy-iterations`` iterations on the
  same prepared sentences, timed and extrapolated to 40,000 (said so in the report).

Writes ``bench_course.md`` and ``bench_course.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ITERATIONS, BATCH, WINDOW, K, DIM, STEP = 40_000, 50, 5, 10, 10, 0.3


def run_nbw2v(corpus: str) -> dict:
    exe = Path(sys.executable).with_name("nbw2v-train")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        proc = subprocess.run(
            [str(exe), "experiment=cs224n", f"data.corpus={corpus}", "eval.probe_words=[]"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"nbw2v-train failed:\n{proc.stderr[-3000:]}")
    out = proc.stderr + proc.stdout
    costs = re.findall(r"^iter (\d+): ([0-9.]+)$", out, re.M)
    trained = re.search(r"([\d,]+) iterations in ([0-9.]+) s; final cost ([0-9.]+)", out)
    return {
        "wall_seconds": wall,
        "train_seconds": float(trained.group(2)),
        "final_cost": float(trained.group(3)),
        "printed": [(int(i), float(c)) for i, c in costs],
    }


def prepared_sentences(corpus: str, seed: int = 1):
    """The assignment's training sentences (30 subsampled copies), as Python lists of ids,
    and the unigram^0.75 sampling table; built with nbw2v's reader (not timed)."""
    from nbw2v.text.corpus import encode_corpus, read_corpus
    from nbw2v.text.vocab import Vocab

    raw = read_corpus(corpus, fmt="sst", lowercase=True)
    vocab, remap = Vocab.from_counts(raw.words, raw.counts, min_count=1)
    encoded = encode_corpus(raw, remap, max_sentence_length=10_000)
    ids, starts = encoded.ids, encoded.sentence_starts
    rng = random.Random(seed)
    total = int(vocab.counts.sum())
    keep = np.minimum(1.0, np.sqrt(1e-5 * total / vocab.counts))
    sentences = []
    for _ in range(30):
        for s in range(starts.shape[0] - 1):
            kept = [int(w) for w in ids[starts[s] : starts[s + 1]] if rng.random() < keep[w]]
            if len(kept) > 1:
                sentences.append(kept)
    weights = vocab.counts.astype(np.float64) ** 0.75
    cumulative = np.cumsum(weights / weights.sum())
    return sentences, cumulative, len(vocab)


def numpy_loop(sentences, cumulative, n_words: int, iterations: int, seed: int = 1) -> tuple[float, float]:
    """``iterations`` of the assignment's SGD in plain NumPy; returns (seconds, last loss)."""
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    vectors = np.concatenate([(np_rng.random((n_words, DIM)) - 0.5) / DIM, np.zeros((n_words, DIM))])

    def sample():
        return int(np.searchsorted(cumulative, rng.random()))

    def neg_pair(v, o, U):
        negs = []
        while len(negs) < K:
            w = sample()
            if w != o:
                negs.append(w)
        sig_o = 1.0 / (1.0 + np.exp(-(U[o] @ v)))
        sig_n = 1.0 / (1.0 + np.exp(U[negs] @ v))
        loss = -np.log(sig_o) - np.log(sig_n).sum()
        grad_v = (sig_o - 1.0) * U[o] + (1.0 - sig_n) @ U[negs]
        grad_U = np.zeros_like(U)
        grad_U[o] += (sig_o - 1.0) * v
        np.add.at(grad_U, negs, np.outer(1.0 - sig_n, v))
        return loss, grad_v, grad_U

    start = time.perf_counter()
    loss = 0.0
    for _ in range(iterations):
        centers, outside = vectors[:n_words], vectors[n_words:]
        loss, grad = 0.0, np.zeros_like(vectors)
        for _ in range(BATCH):
            size = rng.randint(1, WINDOW)
            while True:
                sent = sentences[rng.randint(0, len(sentences) - 1)]
                pos = rng.randint(0, len(sent) - 1)
                c = sent[pos]
                context = [w for w in sent[max(0, pos - size) : pos] + sent[pos + 1 : pos + size + 1] if w != c]
                if context:
                    break
            window_loss, grad_c, grad_o = 0.0, np.zeros_like(centers), np.zeros_like(outside)
            for o in context:
                pair_loss, g_v, g_U = neg_pair(centers[c], o, outside)
                window_loss += pair_loss
                grad_c[c] += g_v
                grad_o += g_U
            loss += window_loss / BATCH
            grad[:n_words] += grad_c / BATCH
            grad[n_words:] += grad_o / BATCH
        vectors -= STEP * grad
    return time.perf_counter() - start, loss


def markdown(report: dict) -> str:
    n, p = report["nbw2v"], report["numpy"]
    ratio = p["extrapolated_seconds"] / n["wall_seconds"]
    return "\n".join(
        [
            "# The CS224N experiment: nbw2v against plain NumPy",
            "",
            f"Command: `{report['command']}`  ",
            f"Date: {report['date']}  ",
            f"Machine: {report['machine']}",
            "",
            f"Setting: the assignment's run.py: {ITERATIONS:,} SGD iterations of {BATCH} random windows "
            f"(size 1-{WINDOW}), K={K} negatives, d={DIM}, step {STEP} halved every 20,000 iterations, on the SST "
            "sentences (30 subsampled copies).",
            "",
            "| implementation | seconds for 40,000 iterations | final cost |",
            "|---|---|---|",
            f"| nbw2v `experiment=cs224n`, end to end (read, train, evaluate, MLflow) | {n['wall_seconds']:.1f} "
            f"(training alone {n['train_seconds']:.1f}) | {n['final_cost']:.3f} |",
            f"| plain NumPy, the assignment's structure | {p['extrapolated_seconds']:,.0f} (extrapolated from "
            f"{p['iterations']} iterations in {p['seconds']:.1f} s) | not run to the end |",
            "",
            f"Ratio: NumPy / nbw2v = {ratio:,.0f}x (end to end), "
            f"{p['extrapolated_seconds'] / n['train_seconds']:,.0f}x (training alone). The NumPy figure is an "
            "extrapolation: the loop's cost per iteration does not change "
            "over the run (same batch size, dense (V, d) gradients per pair).",
            "",
            "Printed cost (sgd.py's moving average) every 5,000 iterations: "
            + ", ".join(f"{i:,}: {c:.2f}" for i, c in n["printed"] if i % 5000 == 0),
            "",
        ]
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, help="the SST datasetSentences.txt")
    parser.add_argument("--numpy-iterations", type=int, default=200, help="NumPy iterations to time (extrapolated)")
    parser.add_argument("--out", default=str(HERE / "reports"), help="report directory")
    args = parser.parse_args(argv)
    if not Path(args.corpus).is_file():
        parser.error(f"--corpus: {args.corpus} is not a file (the SST datasetSentences.txt)")
    if args.numpy_iterations < 1:
        parser.error(f"--numpy-iterations={args.numpy_iterations}: give 1 or more")
    print("running nbw2v-train experiment=cs224n ...", file=sys.stderr, flush=True)
    ours = run_nbw2v(str(Path(args.corpus).resolve()))
    print(f"  {ours['wall_seconds']:.1f} s, final cost {ours['final_cost']:.3f}", file=sys.stderr, flush=True)
    print(f"running {args.numpy_iterations} NumPy iterations ...", file=sys.stderr, flush=True)
    sentences, cumulative, n_words = prepared_sentences(args.corpus)
    seconds, _ = numpy_loop(sentences, cumulative, n_words, args.numpy_iterations)
    from nbw2v.app.run import cpu_name

    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "nbw2v": ours,
        "numpy": {
            "iterations": args.numpy_iterations,
            "seconds": seconds,
            "extrapolated_seconds": seconds * ITERATIONS / args.numpy_iterations,
        },
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_course.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "bench_course.md").write_text(markdown(report))
    print(f"wrote {out / 'bench_course.md'} and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
