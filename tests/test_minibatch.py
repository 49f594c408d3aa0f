"""train.sgd=minibatch (CS224N's SGD) and experiment=cs224n: the kernel against a plain-Python
replay of the same random draws, the corpus preparation, the printed cost, the configuration,
a training run and the assignment's 2-D figure."""

import numpy as np
import pytest
from test_hydra_config import _compose

from nbw2v import reference
from nbw2v._rng import next_below, sample_alias, stream_seed
from nbw2v.app.figures import word_projection
from nbw2v.app.hydra_app import to_config
from nbw2v.config import Config, ConfigError, validate
from nbw2v.embeddings import Embeddings
from nbw2v.progress import ListProgress
from nbw2v.text.vocab import Vocab, alias_table
from nbw2v.training.minibatch import assignment_keep_probs, moving_cost
from nbw2v.training.minibatch_kernels import assignment_corpus, minibatch_iterations


def test_assignment_corpus_repeats_subsamples_and_drops_one_word_sentences():
    ids = np.array([0, 1, 2, 3, 1, 4, 0], np.int32)
    starts = np.array([0, 3, 4, 7], np.int64)  # sentences [0 1 2], [3], [1 4 0]
    _, out, out_starts = assignment_corpus(ids, starts, np.ones(5), 3, stream_seed(1, 0, 0))
    assert out_starts.tolist() == [0, 3, 6, 9, 12, 15, 18]  # [3] dropped in each of 3 copies
    assert out.tolist() == [0, 1, 2, 1, 4, 0] * 3
    keep = np.array([1.0, 0.0, 1.0, 1.0, 0.0])  # words 1 and 4 never kept: [1 4 0] -> [0] dropped
    _, out, out_starts = assignment_corpus(ids, starts, keep, 2, stream_seed(1, 0, 0))
    assert out.tolist() == [0, 2, 0, 2] and out_starts.tolist() == [0, 2, 4]
    probs = assignment_keep_probs(np.array([1000, 10, 1]), 1e-2)  # sqrt(1e-2 * 1011 / count)
    np.testing.assert_allclose(probs, [np.sqrt(10.11 / 1000), 1.0, 1.0])


def _replay(C, O, ids, starts, threshold, alias, state, iterations, batch, window, K, step0, anneal):
    """The assignment's SGD in plain Python and NumPy (float64 reference formulas), drawing
    from the same random stream in the same order as the kernel."""
    V = C.shape[0]
    losses = []
    for it in range(iterations):
        step = step0 * 0.5 ** (it // anneal)
        g_C, g_O, loss = np.zeros_like(C), np.zeros_like(O), 0.0
        for _ in range(batch):
            state, size = next_below(state, window)
            size += 1
            while True:  # getRandomContext
                state, s = next_below(state, starts.shape[0] - 1)
                lo, hi = int(starts[s]), int(starts[s + 1])
                state, j = next_below(state, hi - lo)
                pos = lo + int(j)
                c = int(ids[pos])
                span = range(max(lo, pos - size), min(hi, pos + size + 1))
                context = [int(ids[p]) for p in span if p != pos and int(ids[p]) != c]
                if context:
                    break
            for o in context:
                negs = []
                for _ in range(K):
                    state, w = sample_alias(state, threshold, alias)
                    while w == o:
                        state, w = sample_alias(state, threshold, alias)
                    negs.append(int(w))
                v = C[c]
                z = O[o] @ v
                loss -= float(reference.log_sigmoid(z))
                g_C[c] += (reference.sigmoid(z) - 1) * O[o]
                g_O[o] += (reference.sigmoid(z) - 1) * v
                for w in negs:
                    z = O[w] @ v
                    loss -= float(reference.log_sigmoid(-z))
                    g_C[c] += reference.sigmoid(z) * O[w]
                    g_O[w] += reference.sigmoid(z) * v
        losses.append(loss / batch)
        C -= step * g_C / batch
        O -= step * g_O / batch
    assert V == C.shape[0]
    return state, losses


def test_the_kernel_is_the_assignments_sgd_step_for_step():
    """Batch-mean loss and gradient at the iteration's parameters, one step, the step halved
    every anneal_every iterations; repeated words and negatives equal to the center included."""
    rng = np.random.default_rng(3)
    V, d = 7, 4
    ids = rng.integers(0, V, 60).astype(np.int32)
    ids[10:14] = 2  # a run of one word: its repeats are not its context
    starts = np.array([0, 14, 15, 31, 60], np.int64)  # one sentence of one word
    threshold, alias = alias_table(np.arange(1, V + 1, dtype=np.float64) ** 0.75)
    C0 = (rng.random((V, d)) - 0.5) / d
    O0 = rng.standard_normal((V, d)) * 0.1
    state = stream_seed(5, 0, 0)
    C, O = C0.copy(), O0.copy()
    G, mark, losses = np.zeros((2 * V, d)), np.zeros(2 * V, np.int64), np.zeros(5)
    end = minibatch_iterations(C, O, ids, starts, threshold, alias, state, 0, 5, 6, 3, 4, 0.3, 2, G, mark, losses)
    C_ref, O_ref = C0.copy(), O0.copy()
    end_ref, losses_ref = _replay(C_ref, O_ref, ids, starts, threshold, alias, state, 5, 6, 3, 4, 0.3, 2)
    assert end == end_ref
    np.testing.assert_allclose(losses, losses_ref, rtol=1e-12)
    np.testing.assert_allclose(C, C_ref, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(O, O_ref, rtol=1e-11, atol=1e-14)
    assert not G.any()  # the gradient rows are cleared for the next call


def test_the_printed_cost_is_sgd_pys_moving_average():
    losses = np.arange(1.0, 31.0)
    at, costs = moving_cost(losses, every=10)
    assert at.tolist() == [10, 20, 30]
    assert costs[0] == 10.0 and costs[1] == pytest.approx(0.95 * 10 + 0.05 * 20)
    assert costs[2] == pytest.approx(0.95 * costs[1] + 0.05 * 30)


def test_minibatch_config_is_validated_before_any_work():
    cfg = Config()
    cfg.train.sgd = "minibatch"
    for key, value in (("loss.name", "hs"), ("model.arch", "cbow")):
        bad = Config()
        bad.train.sgd = "minibatch"
        section, name = key.split(".")
        setattr(getattr(bad, section), name, value)
        with pytest.raises(ConfigError, match=f"train.sgd=minibatch .* not .*{key}={value}"):
            validate(bad)
    cfg.train.batch_windows = 0
    with pytest.raises(ConfigError, match="train.batch_windows=0"):
        validate(cfg)
    cfg.train.batch_windows, cfg.train.sgd = 50, "adam"
    with pytest.raises(ConfigError, match="train.sgd='adam'"):
        validate(cfg)


def test_experiment_cs224n_is_the_assignments_setting():
    cfg = to_config(_compose("experiment=cs224n"))
    assert (cfg.data.corpus, cfg.data.format, cfg.data.lowercase, cfg.data.min_count) == ("sst", "sst", True, 1)
    assert (cfg.model.dim, cfg.model.window, cfg.loss.K, cfg.train.sgd) == (10, 5, 10, "minibatch")
    assert (cfg.train.lr, cfg.train.iterations, cfg.train.batch_windows, cfg.train.anneal_every) == (
        0.3,
        40000,
        50,
        20000,
    )
    assert len(cfg.eval.plot_words) == 24 and cfg.eval.plot_words[:3] == ["great", "cool", "brilliant"]
    # the 10-d vectors share one dominant direction: evaluated centred, the top direction removed
    assert (cfg.eval.center, cfg.eval.remove_top) == (True, 1)
    assert (cfg.logger.experiment, cfg.logger.run_name) == ("cs224n", "cs224n")  # its own experiment
    default = to_config(_compose())
    assert (default.eval.center, default.eval.remove_top) == (False, 0)


def test_minibatch_training_learns_and_reports_the_cost(tmp_path):
    rng = np.random.default_rng(0)
    topics = [["cat", "dog", "pet", "fur"], ["car", "road", "wheel", "drive"]]
    lines = [" ".join(rng.choice(topics[i % 2], 8)) for i in range(300)]
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n")
    cfg = Config()
    cfg.data.corpus, cfg.data.min_count, cfg.data.sample = str(tmp_path / "c.txt"), 1, 0.0
    cfg.model.dim, cfg.loss.K = 8, 3
    cfg.train.sgd, cfg.train.lr, cfg.train.iterations, cfg.train.batch_windows = "minibatch", 0.3, 1500, 10
    cfg.train.corpus_copies, cfg.train.cost_every, cfg.train.anneal_every = 2, 500, 1000
    from nbw2v.training.train import train

    progress = ListProgress()
    emb = train(cfg, progress=progress)
    printed = [line for line in progress.lines if line.startswith("iter ")]
    assert [line.split(":")[0] for line in printed] == ["iter 500", "iter 1000", "iter 1500"]
    costs = emb.stats["costs"]
    assert costs.shape == (150,) and costs[-1] < 0.8 * costs[0] and np.isfinite(emb.vectors).all()
    assert emb.similarity("cat", "dog") > emb.similarity("cat", "road")


def test_word_projection_is_the_assignments_svd_of_the_covariance():
    rng = np.random.default_rng(1)
    words = ["a", "b", "c", "d", "e"]
    emb = Embeddings(Vocab(words, np.arange(5, 0, -1)), rng.standard_normal((5, 3)), rng.standard_normal((5, 3)))
    present, coords = word_projection(emb, ["e", "zz", "a", "c"])
    assert present == ["e", "a", "c"]
    X = np.concatenate([emb.vectors[[4, 0, 2]], emb.output_vectors[[4, 0, 2]]], axis=1)
    X = X - X.mean(axis=0)
    u, _, _ = np.linalg.svd(X.T @ X / 3)
    np.testing.assert_allclose(np.abs(coords), np.abs(X @ u[:, :2]), atol=1e-12)
    with pytest.raises(ValueError, match="1 of the 2 words are in the vocabulary"):
        word_projection(emb, ["a", "zz"])
