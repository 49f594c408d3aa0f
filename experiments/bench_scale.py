"""Scale benchmark: reading and training on corpora larger than memory would allow in RAM.

    python experiments/bench_scale.py [--corpus ../shared/corpora/refcorpus.txt.gz]
        [--copies 1,10,140] [--workdir /tmp/nbw2v-scale] [--threads 2] [--keep]

For each N in ``--copies`` the corpus is written N times into one plain-text file in
``--workdir`` (refcorpus: 7.15M words a copy, so 140 copies are 1.0B words and 5.7 GB; nothing
is committed, the files are removed at the end unless ``--keep``). Each size runs in a fresh
process: the corpus store is built (read, count, encode: ``data.cache`` into an empty cache
directory, as a first run does), then one epoch of skip-gram with negative sampling is trained
on the memory-mapped store (window 5, dim 100, K 5, min_count 5, sample 1e-3). Reported per
size: reading words/s, training words/s, the process's peak RSS after reading and at the end,
and the store's size on disk. The gzip row reads the compressed corpus itself (decompression
on a reader thread, overlapped with tokenisation).

Writes ``experiments/reports/bench_scale.md`` and ``bench_scale.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpora" / "refcorpus.txt.gz"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(corpus: str, threads: int, epochs: int, cache_dir: str) -> dict:
    """One size, in its own process: build the store, then train on it."""
    from nbw2v.config import Config
    from nbw2v.progress import Progress
    from nbw2v.training.train import build_vocab_and_corpus, train

    cfg = Config()
    cfg.data.corpus, cfg.data.cache_dir, cfg.data.min_count, cfg.data.sample = corpus, cache_dir, 5, 1e-3
    cfg.model.dim, cfg.model.window, cfg.loss.K = 100, 5, 5
    cfg.train.threads, cfg.train.epochs = threads, epochs
    cfg.train.checkpoint_dir = os.path.join(cache_dir, "checkpoints")
    rss_start = _peak_rss_mb()
    start = time.perf_counter()
    prepared = build_vocab_and_corpus(cfg)
    wall_seconds = time.perf_counter() - start
    vocab, corpus_arrays, stats = prepared
    # the reader's kernels compiled (or loaded from Numba's cache) before the read are not counted
    read_seconds = stats["vocab_seconds"]
    rss_read = _peak_rss_mb()
    store_bytes = sum(p.stat().st_size for p in Path(cache_dir, "corpora").rglob("*") if p.is_file())
    emb = train(cfg, progress=Progress(sys.stderr), prepared=prepared)
    return {
        "corpus_words": stats["raw_words"],
        "train_words": stats["train_words"],
        "vocab": len(vocab),
        "read_seconds": read_seconds,
        "read_wall_seconds": wall_seconds,
        "reader_compile_seconds": stats.get("reader_compile_seconds", 0.0),
        "read_words_per_sec": stats["raw_words"] / read_seconds,
        "train_seconds": emb.stats["train_seconds"],
        "train_words_per_sec": emb.stats["words_per_sec"],
        "peak_rss_mb_imports": rss_start,
        "peak_rss_mb_read": rss_read,
        "peak_rss_mb": _peak_rss_mb(),
        "store_mb": store_bytes / 2**20,
        "mapped": corpus_arrays.pager is not None,
    }


def write_copies(src: Path, dst: Path, copies: int) -> int:
    """``src`` (gzip or plain) ``copies`` times into ``dst``; returns its bytes."""
    opener = gzip.open if src.suffix == ".gz" else open
    with opener(src, "rb") as f:
        data = f.read()
    if not data.endswith(b"\n"):
        data += b"\n"
    with open(dst, "wb") as out:
        for _ in range(copies):
            out.write(data)
    return dst.stat().st_size


def run_worker(corpus: str, threads: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="nbw2v-scale-cache-") as cache:
        cmd = [sys.executable, __file__, "--worker", corpus, "--threads", str(threads), "--epochs", str(epochs)]
        cmd += ["--cache-dir", cache]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"worker failed on {corpus}:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown(report: dict) -> str:
    lines = [
        "# Scale benchmark: corpora larger than memory",
        "",
        f"Machine: {report['machine']}. Date: {report['date']}. Command: `{report['command']}`.",
        f"Corpus: {report['corpus']} repeated N times into one plain-text file (the gzip row reads the",
        "compressed file itself). Each row is a fresh process: build the corpus store into an empty cache",
        f"(read, count, encode), then {report['epochs']} epoch of skip-gram + negatives (K 5, window 5, dim 100,",
        f"min_count 5, sample 1e-3) on the memory-mapped store, {report['threads']} threads.",
        "",
        "| corpus | words | file | read | read words/s | train words/s | peak RSS after read | peak RSS | store |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['label']} | {row['corpus_words'] / 1e6:,.1f}M | {row['file_mb']:,.0f} MB | "
            f"{row['read_seconds']:.1f} s | {row['read_words_per_sec'] / 1e6:.1f}M | "
            f"{row['train_words_per_sec'] / 1e6:.2f}M | {row['peak_rss_mb_read']:,.0f} MB | "
            f"{row['peak_rss_mb']:,.0f} MB | {row['store_mb']:,.0f} MB |"
        )
    lines += [
        "",
        "Read = tokenise (compiled, parallel), count, build the vocabulary, encode and write the store; compiling",
        "the reader's kernels or loading them from Numba's cache before it is not counted (`reader_compile_seconds`",
        "in the JSON: ~0.4 s a process from the cache). Words/s count corpus words.",
        "Peak RSS is the process's maximum resident set (ru_maxrss), imports included; the mapped corpus's pages",
        "are handed back after every round of chunks, so the corpus itself adds no more than the chunks in flight.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    parser.add_argument("--copies", default="1,10,140")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "nbw2v-scale"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the generated corpora")
    parser.add_argument("--out", default=str(HERE / "reports"))
    parser.add_argument("--worker")
    parser.add_argument("--cache-dir")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.threads, args.epochs, args.cache_dir)))
        return 0
    src = Path(args.corpus)
    if not src.exists():
        print(f"bench_scale: --corpus {src}: no such file", file=sys.stderr)
        return 2
    copies = [int(c) for c in args.copies.split(",") if c.strip()]
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        if src.suffix == ".gz":
            print(f"bench_scale: {src.name} (gzip) ...", file=sys.stderr, flush=True)
            row = run_worker(str(src), args.threads, args.epochs)
            rows.append({"label": f"{src.name} (gzip)", "file_mb": src.stat().st_size / 2**20, **row})
        for n in copies:
            path = work / f"{src.name.removesuffix('.gz')}.x{n}"
            size = write_copies(src, path, n)
            free = shutil.disk_usage(work).free
            print(
                f"bench_scale: x{n}: {size / 2**30:.2f} GiB, {free / 2**30:.0f} GiB free ...",
                file=sys.stderr,
                flush=True,
            )
            row = run_worker(str(path), args.threads, args.epochs)
            rows.append({"label": f"x{n} (plain text)", "file_mb": size / 2**20, **row})
            print(f"bench_scale: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
            if not args.keep:
                path.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    from nbw2v.app.run import cpu_name

    report = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": "python experiments/bench_scale.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "corpus": src.name,
        "threads": args.threads,
        "epochs": args.epochs,
        "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_scale.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "bench_scale.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
