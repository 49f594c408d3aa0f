"""2-D projection (PCA, or t-SNE with scikit-learn installed) of chosen words, as a PNG.

    python experiments/plot_words.py VECTORS king queen man woman paris france ... [--out words.png]
    python experiments/plot_words.py <run id> king queen ... --log-to-run   # also an artifact of that run

VECTORS: a word2vec text/binary file, an nbw2v .npz, or an MLflow run (id or runs:/ URI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nbw2v.tracking.tracker import load_vectors, resolve_tracking_uri  # noqa: E402


def project(vectors: np.ndarray, method: str) -> np.ndarray:
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, perplexity=min(30, len(vectors) - 1), init="pca", random_state=0).fit_transform(
            vectors
        )
    centered = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    return centered @ vt[:2].T


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vectors")
    parser.add_argument("words", nargs="+")
    parser.add_argument("--method", choices=["pca", "tsne"], default="pca")
    parser.add_argument(
        "--out", default="", help="PNG to write (default: a temporary file when --log-to-run, else words.png)"
    )
    parser.add_argument("--tracking-uri", default="")
    parser.add_argument("--log-to-run", action="store_true", help="log the PNG to the MLflow run given as VECTORS")
    args = parser.parse_args(argv)
    try:
        emb, run_id = load_vectors(args.vectors, args.tracking_uri)
    except (ValueError, FileNotFoundError) as exc:
        print(f"plot_words: error: {exc}", file=sys.stderr)
        return 2
    known = [w for w in args.words if w in emb]
    for w in args.words:
        if w not in emb:
            print(f"plot_words: {w!r} is not in the vocabulary; skipped", file=sys.stderr)
    if len(known) < 3:
        print("plot_words: error: need at least 3 known words", file=sys.stderr)
        return 2
    points = project(np.stack([emb.unit_vectors[emb.vocab.index[w]] for w in known]), args.method)
    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    ax.scatter(points[:, 0], points[:, 1], s=12)
    for (x, y), w in zip(points, known, strict=True):
        ax.annotate(w, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    ax.set_title(f"{args.method.upper()} of {len(known)} words")
    fig.tight_layout()
    if not args.out:  # logged to the run: nothing written into the working directory
        import tempfile

        args.out = str(Path(tempfile.mkdtemp(prefix="nbw2v-plot-")) / "words.png") if args.log_to_run else "words.png"
    fig.savefig(args.out)
    print(f"wrote {args.out}")
    if args.log_to_run:
        if run_id is None:
            print("plot_words: error: --log-to-run needs VECTORS to be an MLflow run", file=sys.stderr)
            return 2
        from mlflow import MlflowClient

        MlflowClient(resolve_tracking_uri(args.tracking_uri)).log_artifact(run_id, args.out, "plots")
        print(f"logged {args.out} to MLflow run {run_id} (plots/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
