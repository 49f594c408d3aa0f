"""Bad input to the public API: ValueError naming the argument, raised before any kernel runs."""

import numpy as np
import pytest

import nbw2v
import nbw2v.api as api

V, D = 6, 3
RNG = np.random.default_rng(0)
U = RNG.standard_normal((V, D))
C = RNG.standard_normal((V, D))
VC = RNG.standard_normal(D)
NAN_U = U.copy()
NAN_U[2, 1] = np.nan
INF_VC = VC.copy()
INF_VC[0] = np.inf


@pytest.fixture(autouse=True)
def no_kernel_may_run(monkeypatch):
    """Any kernel call during a bad-input test is a failure: validation must come first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a kernel ran before the input was validated")

    for chooser in ("softmax_window_kernel", "neg_batch_kernel", "hs_batch_kernel"):
        monkeypatch.setattr(api, chooser, lambda *shape: forbidden)
    for name in (
        "neg_pair_loss_grad",
        "neg_window_loss_grad",
        "softmax_batch_loss_grad",
        "scatter_add_rows",
    ):
        monkeypatch.setattr(api, name, forbidden)


CASES = [
    # (call, words the message must contain)
    (lambda: nbw2v.naive_softmax_loss_and_grad(VC, 0, U[:, :2]), ["center_vec", "d=3", "d=2"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad(VC[None, :], 0, U), ["center_vec", "1-D", "(1, 3)"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad(VC, 0, U[0]), ["outside_vectors", "2-D", "(V, d)"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad(VC, 6, U), ["outside_idx", "6", "< 6"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad(VC, -1, U), ["outside_idx", "-1"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad(VC, 1.0, U), ["outside_idx", "integer"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad(VC, True, U), ["outside_idx", "integer"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad(VC, 0, np.zeros((0, 3))), ["outside_vectors", "non-empty"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad(VC, 0, U.astype(complex)), ["outside_vectors", "complex"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad(["a", "b", "c"], 0, U), ["center_vec", "dtype"]),
    (lambda: nbw2v.neg_sampling_loss_and_grad(VC, 0, U, []), ["neg_indices", "at least one"]),
    (lambda: nbw2v.neg_sampling_loss_and_grad(VC, 0, U, [1, 6]), ["neg_indices", "6", "out of range"]),
    (lambda: nbw2v.neg_sampling_loss_and_grad(VC, 0, U, [1.5]), ["neg_indices", "integer"]),
    (lambda: nbw2v.neg_sampling_loss_and_grad(VC, 0, U, 3), ["neg_indices", "sequence"]),
    (lambda: nbw2v.neg_sampling_loss_and_grad(VC, 0, U, [[1, 2]]), ["neg_indices", "1-D"]),
    (lambda: nbw2v.skipgram(0, [1, 2], C, U, loss="hinge"), ["loss", "'hinge'", "'softmax'", "'negative'"]),
    (lambda: nbw2v.skipgram(0, [], C, U), ["outside_word_indices", "at least one"]),
    (lambda: nbw2v.skipgram(0, [1, 9], C, U), ["outside_word_indices", "9"]),
    (lambda: nbw2v.skipgram(7, [1], C, U), ["center_word_idx", "7"]),
    (lambda: nbw2v.skipgram(0, [1], C[:4], U), ["center_vectors", "(4, 3)", "(6, 3)"]),
    (lambda: nbw2v.skipgram(0, [1, 2], C, U, "negative"), ["neg_indices", "required", "(2, K)"]),
    (lambda: nbw2v.skipgram(0, [1, 2], C, U, "negative", [[1, 2]]), ["neg_indices", "(2, K)", "(1, 2)"]),
    (lambda: nbw2v.skipgram(0, [1, 2], C, U, "negative", [1, 2]), ["neg_indices", "2-D"]),
    (
        lambda: nbw2v.skipgram(0, [1, 2], C, U, "negative", np.zeros((2, 0), int)),
        ["neg_indices", "at least one"],
    ),
    (lambda: nbw2v.skipgram(0, [1, 2], C, U, "softmax", [[1], [2]]), ["neg_indices", "loss='negative'"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad_batch(C[:2], [0], U), ["outside_idx", "1 entries", "2 rows"]),
    (lambda: nbw2v.neg_sampling_loss_and_grad_batch(C[:2], [0, 1], U, [[1]]), ["neg_indices", "(2, K)"]),
]


@pytest.mark.parametrize("call,words", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bad_input_raises_value_error_naming_the_argument(call, words):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def test_integer_vectors_are_accepted_as_float64(monkeypatch):
    monkeypatch.undo()  # kernels allowed here
    loss, g_c, g_u = nbw2v.naive_softmax_loss_and_grad(np.array([1, 0]), 0, np.eye(2, dtype=int))
    assert g_c.dtype == np.float64 and np.isfinite(loss)


NONFINITE_CASES = [
    (lambda: nbw2v.naive_softmax_loss_and_grad(VC, 0, NAN_U), ["outside_vectors", "non-finite", "(2, 1)"]),
    (lambda: nbw2v.naive_softmax_loss_and_grad(INF_VC, 0, U), ["center_vec", "non-finite", "(0,)"]),
    (lambda: nbw2v.neg_sampling_loss_and_grad(VC, 0, NAN_U, [3, 2]), ["outside_vectors", "(2, 1)"]),
    (lambda: nbw2v.skipgram(1, [0, 4], C, NAN_U, "negative", [[2], [3]]), ["outside_vectors", "(2, 1)"]),
    (lambda: nbw2v.skipgram(0, [1], C, NAN_U), ["outside_vectors", "(2, 1)"]),
    (lambda: nbw2v.skipgram(2, [1], NAN_U, U), ["center_vectors", "(2, 1)"]),
]


@pytest.mark.parametrize("call,words", NONFINITE_CASES, ids=[f"nonfinite{i}" for i in range(len(NONFINITE_CASES))])
def test_a_non_finite_input_the_loss_reads_is_named(call, words, monkeypatch):
    """NaN/inf cannot make a kernel read out of bounds, so the per-pair functions check them
    through the loss (a scan of all V rows before a K-row pair costs more than the pair): the
    error names the argument and the element's index in the caller's array."""
    monkeypatch.undo()  # the kernels may run here
    with pytest.raises(ValueError) as info:
        call()
    assert all(word in str(info.value) for word in words), str(info.value)


def test_a_non_finite_row_the_loss_does_not_read_is_not_an_error(monkeypatch):
    monkeypatch.undo()
    loss, g_c, g_u = nbw2v.neg_sampling_loss_and_grad(VC, 0, NAN_U, [3, 4])  # row 2 unused
    want = nbw2v.neg_sampling_loss_and_grad(VC, 0, U, [3, 4])
    assert loss == want[0] and np.array_equal(g_c, want[1]) and np.array_equal(g_u, want[2])


BATCH_NONFINITE = [
    (lambda: nbw2v.naive_softmax_loss_and_grad_batch(C[:2], [0, 1], NAN_U), ["outside_vectors", "(2, 1)"]),
    (lambda: nbw2v.neg_sampling_loss_and_grad_batch(C[:2], [0, 1], NAN_U, [[2], [3]]), ["outside_vectors", "(2, 1)"]),
    (lambda: nbw2v.neg_sampling_loss_and_grad_batch(NAN_U[2:4], [0, 1], U, [[2], [3]]), ["center_vecs", "(0, 1)"]),
    (
        lambda: nbw2v.hierarchical_softmax_loss_and_grad_batch(INF_VC[None, :], [0], U, nbw2v.huffman_tree([3, 2, 1])),
        ["center_vecs", "(0, 0)"],
    ),
]


@pytest.mark.parametrize("call,words", BATCH_NONFINITE, ids=[f"batch{i}" for i in range(len(BATCH_NONFINITE))])
def test_the_batch_functions_name_a_non_finite_input(call, words, monkeypatch):
    monkeypatch.undo()
    with pytest.raises(ValueError) as info:
        call()
    assert all(word in str(info.value) for word in words), str(info.value)
