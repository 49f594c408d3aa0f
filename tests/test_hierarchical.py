"""Hierarchical softmax: word2vec.c's Huffman tree, the kernels against the float64 reference,
the trainer's fused step, gradient checks, and training on the bundled corpus."""

import numpy as np
import pytest
from conftest import assert_close

import nbw2v
from nbw2v import api, losses, reference
from nbw2v.gradcheck import check_hierarchical, check_skipgram, gradcheck_all
from nbw2v.losses import huffman_tree

# ---- the tree --------------------------------------------------------------------------------------


def test_the_tree_is_word2vec_cs_on_a_hand_made_vocabulary():
    """CreateBinaryTree by hand for counts 5,4,3,2,1 (V=5, inner nodes 0..3, root 3): merges
    words {4, 3} -> node 0 (count 3); node 0 and word 2 (a tie, 3 and 3: the leaf is taken only
    when strictly smaller, so node 0 first) -> node 1 (6); words {1, 0} -> node 2 (9);
    nodes {1, 2} -> node 3. The second of each merge gets bit 1."""
    tree = huffman_tree([5, 4, 3, 2, 1])
    paths = {w: (tree.codes[w, : tree.lens[w]].tolist(), tree.points[w, : tree.lens[w]].tolist()) for w in range(5)}
    assert paths == {
        0: ([1, 1], [3, 2]),
        1: ([1, 0], [3, 2]),
        2: ([0, 1], [3, 1]),
        3: ([0, 0, 1], [3, 1, 0]),
        4: ([0, 0, 0], [3, 1, 0]),
    }
    assert_close(tree.labels[0, :2], [0.0, 0.0], 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tree_properties(seed):
    rng = np.random.default_rng(seed)
    counts = np.sort(rng.zipf(1.5, 300).clip(max=10**6))[::-1]
    tree = huffman_tree(counts)
    V = counts.size
    codes = ["".join(map(str, tree.codes[w, : tree.lens[w]])) for w in range(V)]
    assert len(set(codes)) == V
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)  # prefix-free
    assert sum(2.0 ** -len(c) for c in codes) == pytest.approx(1.0)  # a full binary tree (Kraft)
    assert all(tree.points[w, 0] == V - 2 for w in range(V))  # every path starts at the root
    nodes = {int(p) for w in range(V) for p in tree.points[w, : tree.lens[w]]}
    assert nodes == set(range(V - 1))  # V - 1 inner nodes, all used
    for a in range(V):  # a more frequent word never has a longer code
        assert all(tree.lens[a] <= tree.lens[b] for b in range(V) if counts[a] > counts[b])
    # the expected code length is optimal: equal to the Huffman cost sum of the merged counts
    assert (counts * tree.lens).sum() == _huffman_cost(counts)


def _huffman_cost(counts):
    import heapq

    heap = [int(c) for c in counts]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="at least 2 words"):
        huffman_tree([7])
    with pytest.raises(ValueError, match="descending order"):
        huffman_tree([1, 5, 3])


# ---- kernels against the reference ------------------------------------------------------------------


def _problem(rng, dtype=np.float64, V=12, d=6):
    tree = huffman_tree(np.sort(rng.integers(1, 50, V))[::-1])
    C = rng.standard_normal((V, d)).astype(dtype)
    U = rng.standard_normal((V, d)).astype(dtype)  # row V-1 unused (V-1 inner nodes)
    return tree, C, U


@pytest.mark.parametrize(("dtype", "tol"), [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_pair_window_and_batch_match_the_reference(rng, dtype, tol):
    tree, C, U = _problem(rng, dtype)
    for o in range(12):
        loss, g_v, g_u = api.hierarchical_softmax_loss_and_grad(C[3], o, U, tree)
        n = tree.lens[o]
        want = reference.hierarchical_softmax_loss_and_grad(C[3], o, U, tree.codes[o, :n], tree.points[o, :n])
        assert loss == pytest.approx(want[0], rel=tol)
        assert g_v.dtype == dtype and g_u.dtype == dtype
        assert_close(g_v, want[1], tol)
        assert_close(g_u, want[2], tol)
    outside = np.array([0, 5, 11, 5])  # a repeated word
    loss, g_c, g_u = api.skipgram(7, outside, C, U, "hs", tree=tree)
    want = reference.skipgram(7, outside, C, U, "hs", tree=tree)
    assert loss == pytest.approx(want[0], rel=tol)
    assert_close(g_c, want[1], tol)
    assert_close(g_u, want[2], tol)
    centers = C[[1, 2, 2, 9]]
    idx = np.array([4, 4, 0, 10])
    losses_b, g_cb, g_ub = api.hierarchical_softmax_loss_and_grad_batch(centers, idx, U, tree)
    for b in range(4):
        one = api.hierarchical_softmax_loss_and_grad(centers[b], idx[b], U, tree)
        assert losses_b[b] == pytest.approx(one[0], rel=tol)
        assert_close(g_cb[b], one[1], tol)
    assert_close(
        g_ub, sum(api.hierarchical_softmax_loss_and_grad(centers[b], idx[b], U, tree)[2] for b in range(4)), tol
    )


def test_gradients_pass_the_gradient_check(rng):
    tree, C, U = _problem(rng)
    assert max(check_hierarchical(C[2], 8, U, tree).values()) < 1e-7
    assert max(check_skipgram(2, np.array([8, 1, 8]), C, U, "hs", tree=tree).values()) < 1e-7
    results = gradcheck_all()
    assert {k.split("/")[0] for k in results} == {"negative", "hs", "softmax"}
    assert max(v for k, v in results.items() if k.startswith("hs/")) < 1e-7


def test_the_trainers_window_step_is_params_minus_lr_grad_over_the_path(rng):
    """The trainer scores a window's context rows against the center word's path (labels
    1 - bits): one step equals the summed hierarchical-softmax gradients of its pairs."""
    tree, C, U = _problem(rng)
    center, contexts = 4, np.array([1, 9, 1], np.int64)
    n = tree.lens[center]
    nodes, labels = tree.points[center, :n].copy(), tree.labels[center, :n].copy()
    want_loss, want_c, want_u = 0.0, np.zeros_like(C), np.zeros_like(U)
    for ctx in contexts:  # word2vec.c's pairing: the context's input vector, the center's path
        loss, g_v, g_u = reference.hierarchical_softmax_loss_and_grad(C[ctx], center, U, tree.codes[center, :n], nodes)
        want_loss += loss
        want_c[ctx] += g_v
        want_u += g_u
    lr = 0.05
    C1, U1 = C.copy(), U.copy()
    step_loss = losses.sgd_step_window(C1, U1, contexts, nodes, labels, lr, np.empty((2, 3 * n)))
    assert step_loss == pytest.approx(want_loss, rel=1e-12)
    assert_close(C1, C - lr * want_c, 1e-12)
    assert_close(U1, U - lr * want_u, 1e-12)


def test_api_errors_name_the_argument(rng):
    tree, C, U = _problem(rng)
    with pytest.raises(ValueError, match="tree: expected a HuffmanTree"):
        api.hierarchical_softmax_loss_and_grad(C[0], 1, U, {"codes": 1})
    with pytest.raises(ValueError, match="tree: required with loss='hs'"):
        api.skipgram(0, [1], C, U, "hs")
    with pytest.raises(ValueError, match="neg_indices: only used with loss='negative'"):
        api.skipgram(0, [1], C, U, "hs", neg_indices=np.zeros((1, 2), np.int64), tree=tree)
    with pytest.raises(ValueError, match="outside_idx: index 12 is out of range"):
        api.hierarchical_softmax_loss_and_grad(C[0], 12, U, tree)
    with pytest.raises(ValueError, match="the inner vectors have only 5 rows"):
        api.hierarchical_softmax_loss_and_grad(C[0], 1, U[:5], tree)
    with pytest.raises(ValueError, match="loss: unknown loss 'hierarchical'"):
        api.skipgram(0, [1], C, U, "hierarchical")
    assert nbw2v.hierarchical_softmax_loss_and_grad is api.hierarchical_softmax_loss_and_grad


# ---- training ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_training_on_the_bundled_corpus_learns():
    from nbw2v.app.run import run_experiment
    from nbw2v.config import Config
    from nbw2v.progress import SilentProgress
    from nbw2v.tracking.tracker import MemoryTracker

    cfg = Config()
    cfg.loss.name = "hs"
    cfg.train.epochs = 2
    cfg.logger.name = "none"
    cfg.eval.analogies = ""
    tracker = MemoryTracker()
    emb, metrics = run_experiment(cfg, tracker=tracker, progress=SilentProgress())
    losses_ = emb.stats["epoch_losses"]
    assert losses_[-1] < losses_[0]
    assert metrics["eval/ws353"] > 0.3
    assert tracker.params["loss.name"] == "hs"
    assert tracker.series("gradcheck/max_rel_err")[0] < 1e-6  # the per-run check of the path kernel
