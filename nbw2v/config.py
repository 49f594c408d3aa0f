"""Typed configuration: one dataclass per config group, and the value checks.

The dataclasses are the single source of defaults (Hydra's structured configs are built from
them; ``conf/`` restates them for readers and tests/test_hydra_config.py checks that the two
agree). ``validate(cfg)`` checks every value against its valid range and raises ``ConfigError``
naming the key, the value and the range, before any compile or corpus read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ARCHS = ("skipgram", "cbow")
LOGGERS = ("mlflow", "none")
VECTOR_FORMATS = ("binary", "text", "npz", "none")
from nbw2v.losses.registry import get as loss_spec  # noqa: E402
from nbw2v.losses.registry import names as _loss_names  # noqa: E402

LOSSES = _loss_names()
#: word2vec.c's learning rates: skip-gram 0.025, CBOW 0.05 (conf/model/cbow.yaml, nbw2v train --arch cbow)
SKIPGRAM_LR, CBOW_LR = 0.025, 0.05
#: analogies are answered among this many most frequent words (word2vec.c's compute-accuracy: 30,000)
ANALOGY_RESTRICT = 30_000
#: the bundled evaluation sets by name (files and citations: nbw2v/data/eval/README.md)
SIMILARITY_SETS = ("wordsim353", "simlex999", "ws353_similarity", "ws353_relatedness", "men", "mturk287", "rare_words")
ANALOGY_SETS = ("google", "msr")
DEVICES = ("cpu", "cuda")
NEG_COLLISIONS = ("skip", "keep", "redraw")
CORPUS_FORMATS = ("auto", "text", "text8", "sst")
SGD_MODES = ("hogwild", "minibatch")


class ConfigError(ValueError):
    """A configuration value is out of range; the message names the key and the valid range."""


@dataclass
class DataConfig:
    #: corpus path: a text file (.gz/.bz2 ok), a directory of text files, "text8", "sst", "bundled"
    corpus: str = "bundled"
    #: auto (by name/content), text (one sentence per line), text8, sst (datasetSentences.txt)
    format: str = "auto"
    #: lower-case the text before counting
    lowercase: bool = True
    #: words rarer than this are dropped before windowing (word2vec.c)
    min_count: int = 5
    #: keep at most this many most frequent words (0: no limit)
    max_vocab_size: int = 0
    #: longer lines are split into sentences of this many words (gensim's default)
    max_sentence_length: int = 10_000
    #: subsampling threshold t of word2vec.c (0 disables subsampling)
    sample: float = 1e-3
    #: where text8 and SST are downloaded to and encoded corpora are cached (default: ~/.cache/nbw2v)
    cache_dir: str = ""
    #: keep the encoded corpus as a store on disk that training memory-maps (flat memory for any
    #: corpus size) and later runs with the same data settings reuse; false: read it into memory
    cache: bool = True
    #: shuffle the sentence order once before training (seeded by ``seed``; deterministic mode
    #: stays bit-reproducible). A corpus ordered by source (the bundled one) otherwise shows a
    #: loss that rises in the last epoch, when the learning rate goes to zero
    shuffle: bool = False


@dataclass
class ModelConfig:
    #: skipgram (predict the context from the center word) or cbow (the center from its context)
    arch: str = "skipgram"
    #: vector dimension d
    dim: int = 100
    #: maximum window size m; each center word uses a random window in [1, m] (word2vec.c)
    window: int = 5


@dataclass
class LossConfig:
    #: negative (negative sampling, O(K d) per pair), hs (hierarchical softmax over a Huffman
    #: tree, O(d log V)) or softmax (the exact naive softmax, O(V d))
    name: str = "negative"
    #: number of negatives K
    K: int = 5
    #: noise distribution exponent: P_n(w) ~ count(w)^ns_exponent
    ns_exponent: float = 0.75
    #: a negative equal to the target word: skip it (word2vec.c), keep it, or redraw it
    neg_collision: str = "skip"


@dataclass
class TrainConfig:
    #: passes over the corpus
    epochs: int = 5
    #: initial learning rate (word2vec.c: 0.025 for skip-gram, 0.05 for CBOW)
    lr: float = SKIPGRAM_LR
    #: the learning rate decays linearly to lr * min_lr_ratio (word2vec.c: 1e-4)
    min_lr_ratio: float = 1e-4
    #: Numba threads (0: all cores)
    threads: int = 0
    #: share one set of K negatives across a window (pWord2Vec) and update a window as one block
    #: (loss=hs: its contexts against the center's path); false: word2vec.c, pair by pair
    shared_negatives: bool = True
    #: bit-identical vectors for a seed: chunks run one after another (no Hogwild)
    deterministic: bool = False
    #: words per work chunk (the unit of parallel work, of LR decay and of RNG streams)
    chunk_words: int = 10_000
    #: seconds between progress reports (words/s, loss, ETA)
    report_every_s: float = 2.0
    #: pairs per batch of the naive-softmax trainer
    softmax_batch: int = 256
    #: where checkpoints go (relative to the working directory)
    checkpoint_dir: str = "checkpoints"
    #: write a checkpoint this often during training (0: only on Ctrl-C / SIGTERM)
    checkpoint_every_s: float = 300.0
    #: ... and/or every this many corpus words (0: off)
    checkpoint_every_words: int = 0
    #: continue from a checkpoint file; "auto": this config's checkpoint in checkpoint_dir if any
    resume: str = ""
    #: cpu, or cuda: the GPU trainer (skip-gram, negatives shared per window; pip install 'nbw2v[cuda]')
    device: str = "cpu"
    #: words per GPU block, the GPU's unit of Hogwild work (smaller: more blocks in flight)
    gpu_chunk_words: int = 1000
    #: hogwild (word2vec.c: epochs over the corpus, linear decay), or minibatch (CS224N's
    #: assignment: random windows, each step the batch's mean gradient; experiment=cs224n)
    sgd: str = "hogwild"
    #: minibatch: SGD iterations (epochs is then unused)
    iterations: int = 40_000
    #: minibatch: windows per iteration (their loss and gradient averaged)
    batch_windows: int = 50
    #: minibatch: the step (train.lr) halves every this many iterations (0: never)
    anneal_every: int = 20_000
    #: minibatch: passes over the sentences, subsampled once before training (the assignment: 30)
    corpus_copies: int = 30
    #: minibatch: print and log the cost (sgd.py's moving average) every this many iterations
    cost_every: int = 1000


@dataclass
class EvalConfig:
    #: word-similarity sets: bundled (wordsim353, simlex999, ws353_similarity, ws353_relatedness, men,
    #: mturk287, rare_words) or paths to word1<TAB>word2<TAB>score files
    similarity: list[str] = field(default_factory=lambda: ["wordsim353", "simlex999"])
    #: analogy questions: "google", "msr" (bundled), a path, several with commas ("google,msr"), or "" to skip
    analogies: str = "google"
    #: analogies are answered among this many most frequent words (0: all)
    restrict: int = ANALOGY_RESTRICT
    #: also evaluate after every epoch (logged as metric histories)
    per_epoch: bool = False
    #: words whose nearest neighbours are logged as an artifact
    probe_words: list[str] = field(default_factory=lambda: ["king", "water", "god", "war", "good", "three"])
    #: words drawn in 2-D as the CS224N assignment does (word_vectors.png: center and outside
    #: vectors side by side, projected on the top two principal axes); [] draws nothing
    plot_words: list[str] = field(default_factory=list)
    #: subtract the mean vector before measuring similarities (scores, neighbours, predictions);
    #: for small or under-trained vectors that share one dominant direction (the course preset)
    center: bool = False
    #: also remove the top D principal directions ("all-but-the-top", Mu and Viswanath 2018;
    #: implies centring; 0: none)
    remove_top: int = 0
    #: gradient check on real (center, context, negatives) tuples before training
    gradcheck: bool = True
    #: tuples sampled for that check
    gradcheck_samples: int = 3
    #: repeat the check on the live parameters every N epochs (0: only before training)
    gradcheck_every: int = 0


@dataclass
class LoggerConfig:
    #: mlflow, or none (logs nothing: tests, benchmarks)
    name: str = "mlflow"
    #: any MLflow tracking URI; "" -> $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db (made absolute)
    tracking_uri: str = ""
    #: MLflow experiment the runs go to
    experiment: str = "nbw2v"
    #: MLflow run name ("": from the configuration, e.g. sg-ns-w5-k5-d100-s1)
    run_name: str = ""
    #: vectors logged as an artifact: binary, text, npz or none
    save_vectors: str = "binary"
    #: also log the vectors as an MLflow model (pyfunc: neighbours and vectors of words; the Models
    #: column, the model registry); costs a second copy of the vectors in the artifact store
    log_model: bool = True
    #: step metrics are buffered and flushed with one batch call at most this often
    flush_every_s: float = 5.0
    #: resume: skip a run whose exact config already FINISHED (in the same sweep, or experiment)
    skip_finished: bool = False
    #: store unreachable at start: "fail" (clear error before training) or "warn" (train and journal
    #: the tracking to ./mlflow-offline/ for ``nbw2v replay``); a store failing mid-run is always journaled
    on_error: str = "fail"
    #: where journals go ("": ./mlflow-offline in the working directory); on a cluster a folder every
    #: node and the sweep's driver share, so ``nbw2v replay DIR`` sends a whole sweep at once
    journal_dir: str = ""


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    #: initialisation, and every chunk's random stream (derived from seed, epoch, chunk)
    seed: int = 1


def _get(cfg: Any, dotted: str) -> Any:
    obj = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _int_in(cfg, key: str, lo: int, hi: int | None = None, hint: str = "") -> None:
    value = _get(cfg, key)
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= lo and (hi is None or value <= hi)
    if not ok:
        rng = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise ConfigError(f"{key}={value!r}: expected {rng}{hint}")


def _float_in(cfg, key: str, lo: float, hi: float | None = None, lo_open: bool = True, hint: str = "") -> None:
    value = _get(cfg, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}={value!r}: expected a number")
    bad_lo = value <= lo if lo_open else value < lo
    if bad_lo or (hi is not None and value > hi) or value != value:
        lo_s = f"> {lo}" if lo_open else f">= {lo}"
        rng = lo_s if hi is None else f"{lo_s} and <= {hi}"
        raise ConfigError(f"{key}={value!r}: expected a number {rng}{hint}")


def _choice(cfg, key: str, choices: tuple[str, ...]) -> None:
    value = _get(cfg, key)
    if value not in choices:
        raise ConfigError(f"{key}={value!r}: expected one of {', '.join(choices)}")


def _check_cuda(cfg: Any) -> None:
    """What the GPU trainer implements, checked before anything touches a GPU."""
    from nbw2v.limits import MAX_CONTEXT, MAX_TARGETS, SHARED_LIMIT, window_shared_bytes

    what = (_get(cfg, "loss.name"), _get(cfg, "model.arch"), _get(cfg, "train.shared_negatives"))
    if "cuda" not in loss_spec(what[0]).devices:
        raise ConfigError(
            f"loss.name={what[0]}: the GPU trainer has no {what[0]} loss yet (train.device=cuda supports "
            "loss.name=negative); set train.device=cpu or loss.name=negative"
        )
    if what != ("negative", "skipgram", True):
        raise ConfigError(
            f"train.device=cuda: the GPU trainer is skip-gram with negatives shared per window, not "
            f"loss.name={what[0]} model.arch={what[1]} train.shared_negatives={what[2]}; set loss.name=negative "
            "model.arch=skipgram train.shared_negatives=true, or train.device=cpu"
        )
    if _get(cfg, "train.deterministic"):
        raise ConfigError(
            "train.deterministic=true: CPU only (GPU blocks update the vectors Hogwild, in no fixed order); "
            "set train.device=cpu or train.deterministic=false"
        )
    window, negatives, dim = _get(cfg, "model.window"), _get(cfg, "loss.K"), _get(cfg, "model.dim")
    if 2 * window > MAX_CONTEXT:
        raise ConfigError(f"model.window={window}: the GPU trainer takes windows up to {MAX_CONTEXT // 2}")
    if negatives + 1 > MAX_TARGETS:
        raise ConfigError(f"loss.K={negatives}: the GPU trainer takes up to {MAX_TARGETS - 1} negatives")
    need = window_shared_bytes(2 * window, negatives + 1, dim)
    if need > SHARED_LIMIT:
        raise ConfigError(
            f"model.dim={dim}: with model.window={window} and loss.K={negatives} a GPU block stages {need // 1024} KB "
            f"of rows in shared memory, above {SHARED_LIMIT // 1024} KB; lower model.dim, model.window or loss.K"
        )


def validate(cfg: Any, local: bool = True) -> None:
    """Check every value; raise ``ConfigError`` naming the first bad key. Cheap: no I/O beyond
    checking that the corpus path exists and is readable. ``local=False``: checked away from the
    machine that will run it (a cluster sweep's driver), so its core count is not the limit of
    ``train.threads``."""
    cores = os.cpu_count() or 1
    _choice(cfg, "model.arch", ARCHS)
    _choice(cfg, "loss.name", LOSSES)
    spec = loss_spec(_get(cfg, "loss.name"))
    if _get(cfg, "model.arch") not in spec.archs:
        raise ConfigError(
            f"model.arch={_get(cfg, 'model.arch')}: loss.name={spec.name} trains {' and '.join(spec.archs)} only; "
            f"set model.arch={spec.archs[0]} or loss.name=negative"
        )
    _choice(cfg, "loss.neg_collision", NEG_COLLISIONS)
    _choice(cfg, "data.format", CORPUS_FORMATS)
    _int_in(cfg, "model.dim", 1, 100_000)
    _int_in(cfg, "model.window", 1, 1_000)
    _int_in(cfg, "loss.K", 1, 1_000)
    _float_in(cfg, "loss.ns_exponent", 0.0, 2.0, lo_open=False)
    _int_in(cfg, "data.min_count", 1)
    _int_in(cfg, "data.max_vocab_size", 0, hint=" (0: no limit)")
    if _get(cfg, "data.max_vocab_size") == 1:  # one word leaves nothing to predict, whatever the loss
        raise ConfigError("data.max_vocab_size=1: a model needs 2 or more words; use 0 (no limit) or >= 2")
    _int_in(cfg, "data.max_sentence_length", 2)
    _float_in(cfg, "data.sample", 0.0, 1.0, lo_open=False, hint=" (0 disables subsampling; word2vec.c uses 1e-3)")
    _int_in(cfg, "train.epochs", 1)
    _float_in(cfg, "train.lr", 0.0, 10.0, hint=" (word2vec.c: 0.025 for skip-gram, 0.05 for CBOW)")
    _float_in(cfg, "train.min_lr_ratio", 0.0, 1.0, lo_open=False)
    if local:
        _int_in(cfg, "train.threads", 0, cores, hint=f" (0: all {cores} cores of this machine)")
    else:
        _int_in(cfg, "train.threads", 0, hint=" (0: all cores of the node)")
    _int_in(cfg, "train.chunk_words", 100)
    _float_in(cfg, "train.report_every_s", 0.0, lo_open=False, hint=" (0: report after every round of chunks)")
    _int_in(cfg, "train.softmax_batch", 1)
    _float_in(cfg, "train.checkpoint_every_s", 0.0, lo_open=False, hint=" (0: only on interruption)")
    _int_in(cfg, "train.checkpoint_every_words", 0, hint=" (0: off)")
    _choice(cfg, "train.device", DEVICES)
    _int_in(cfg, "train.gpu_chunk_words", 10)
    _choice(cfg, "train.sgd", SGD_MODES)
    _int_in(cfg, "train.iterations", 1)
    _int_in(cfg, "train.batch_windows", 1, 100_000)
    _int_in(cfg, "train.anneal_every", 0, hint=" (0: never)")
    _int_in(cfg, "train.corpus_copies", 1, 1_000)
    _int_in(cfg, "train.cost_every", 10)
    if _get(cfg, "train.sgd") == "minibatch":
        what = (_get(cfg, "loss.name"), _get(cfg, "model.arch"), _get(cfg, "train.device"))
        if what != ("negative", "skipgram", "cpu"):
            raise ConfigError(
                f"train.sgd=minibatch (the CS224N assignment's SGD) trains skip-gram with negative sampling on the "
                f"CPU, not loss.name={what[0]} model.arch={what[1]} train.device={what[2]}; set loss.name=negative "
                "model.arch=skipgram train.device=cpu, or train.sgd=hogwild"
            )
    if _get(cfg, "train.device") == "cuda":
        _check_cuda(cfg)
    resume = str(_get(cfg, "train.resume"))
    if resume not in ("", "auto") and not Path(resume).expanduser().is_file():
        raise ConfigError(f"train.resume={resume!r}: no such checkpoint file (or use 'auto')")
    _int_in(cfg, "seed", 0, 2**63 - 1)
    if hasattr(cfg, "eval"):
        _int_in(cfg, "eval.restrict", 0, hint=" (0: all words)")
        _int_in(cfg, "eval.gradcheck_samples", 1, 1000)
        _int_in(cfg, "eval.gradcheck_every", 0, hint=" (0: only before training)")
        if not isinstance(_get(cfg, "eval.center"), bool):
            raise ConfigError(f"eval.center={_get(cfg, 'eval.center')!r}: expected true or false")
        dim = _get(cfg, "model.dim") if hasattr(cfg, "model") else None
        _int_in(
            cfg,
            "eval.remove_top",
            0,
            dim - 1 if isinstance(dim, int) and dim > 1 else None,
            hint=" (principal directions removed before evaluating; below model.dim)",
        )
        for item in _get(cfg, "eval.similarity"):
            if item not in SIMILARITY_SETS and not Path(item).expanduser().is_file():
                raise ConfigError(
                    f"eval.similarity: {item!r} is neither a bundled set ({', '.join(SIMILARITY_SETS)}) "
                    "nor an existing file"
                )
        for item in str(_get(cfg, "eval.analogies")).split(","):
            if item.strip() and item.strip() not in ANALOGY_SETS and not Path(item.strip()).expanduser().is_file():
                raise ConfigError(
                    f"eval.analogies: {item.strip()!r} is neither a bundled set ({', '.join(ANALOGY_SETS)}) nor an "
                    "existing file ('' skips analogies)"
                )
    if hasattr(cfg, "logger"):
        _choice(cfg, "logger.name", LOGGERS)
        _choice(cfg, "logger.save_vectors", VECTOR_FORMATS)
        _choice(cfg, "logger.on_error", ("fail", "warn"))
        _float_in(cfg, "logger.flush_every_s", 0.0, lo_open=False)
    corpus = str(_get(cfg, "data.corpus"))
    if not corpus.strip():
        raise ConfigError("data.corpus is not set: give a text file, a directory, 'text8', 'sst' or 'bundled'")
    if corpus not in ("bundled", "text8", "sst"):
        path = Path(corpus).expanduser()
        if not path.exists():
            hint = (
                " (data=refcorpus is the project's benchmark corpus: set data.corpus=PATH or NBW2V_REFCORPUS to it, "
                "or to any large text file; or use data=text8)"
                if "refcorpus" in corpus
                else ""
            )
            raise ConfigError(f"data.corpus={corpus!r}: no such file or directory{hint}")
        if not os.access(path, os.R_OK):
            raise ConfigError(f"data.corpus={corpus!r}: not readable (check its permissions)")
        if path.is_file() and path.stat().st_size == 0:
            raise ConfigError(f"data.corpus={corpus!r}: the file is empty")


def reference_markdown() -> str:
    """The configuration reference (every key, its default and its ``#:`` comment above) as
    Markdown tables: docs/configuration.md embeds it (``python -m nbw2v.config`` prints it; a
    test keeps the two equal)."""
    import ast
    import dataclasses
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    lines = source.splitlines()
    comments: dict[tuple[str, str], str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    i, text = stmt.lineno - 2, []
                    while i >= 0 and lines[i].strip().startswith("#:"):
                        text.insert(0, lines[i].strip()[2:].strip())
                        i -= 1
                    comments[(node.name, stmt.target.id)] = " ".join(text)
    cfg = Config()
    out = []
    for group in dataclasses.fields(cfg):
        section = getattr(cfg, group.name)
        if not dataclasses.is_dataclass(section):
            continue
        out += [f"### `{group.name}`", "", "| key | default | meaning |", "|---|---|---|"]
        for f in dataclasses.fields(section):
            meaning = comments.get((type(section).__name__, f.name), "").replace("|", "\\|")
            out.append(f"| `{group.name}.{f.name}` | `{getattr(section, f.name)!r}` | {meaning} |")
        out.append("")
    out += ["### top level", "", "| key | default | meaning |", "|---|---|---|"]
    out.append(f"| `seed` | `{cfg.seed!r}` | {comments.get(('Config', 'seed'), '')} |")
    return "\n".join(out) + "\n"


GENERATED_MARKER = "<!-- generated by `python -m nbw2v.config"


def write_reference(path: str) -> None:
    """Replace the generated tables of ``path`` (from the marker line to the first paragraph
    that is not a table or a heading) with the current reference."""
    from pathlib import Path

    lines = Path(path).read_text().split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(GENERATED_MARKER)) + 1
    end = start
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(("|", "###"))):
        end += 1
    text = "\n".join([*lines[:start], "", reference_markdown().rstrip(), "", *lines[end:]])
    Path(path).write_text(text)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--write"]:  # python -m nbw2v.config --write docs/configuration.md
        write_reference(sys.argv[2])
    else:
        print(reference_markdown(), end="")
