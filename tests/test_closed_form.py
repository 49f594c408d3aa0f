"""Cases worked by hand (docs/math.md "A case to check by hand"), for the kernels (public API) and the reference."""

import math

import numpy as np
import pytest

import nbw2v
from nbw2v import reference

U_TOY = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
V_C = np.array([0.5, 0.5])


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


@pytest.mark.parametrize("impl", [nbw2v.naive_softmax_loss_and_grad, reference.naive_softmax_loss_and_grad])
def test_softmax_toy(impl):
    loss, g_c, g_u = impl(V_C, 0, U_TOY)
    z = 2 * math.exp(0.5) + math.exp(-0.5)
    yhat = np.array([math.exp(0.5), math.exp(0.5), math.exp(-0.5)]) / z
    assert loss == pytest.approx(math.log(z) - 0.5, rel=1e-14)
    np.testing.assert_allclose(g_c, [yhat[0] - yhat[2] - 1.0, yhat[1]], rtol=1e-14)
    np.testing.assert_allclose(g_u, np.outer(yhat - [1.0, 0.0, 0.0], V_C), rtol=1e-14)


@pytest.mark.parametrize("impl", [nbw2v.neg_sampling_loss_and_grad, reference.neg_sampling_loss_and_grad])
def test_negative_toy(impl):
    loss, g_c, g_u = impl(V_C, 0, U_TOY, [2])
    # s_o = 0.5, s_neg = -0.5: both terms are -log sigma(0.5)
    assert loss == pytest.approx(2 * math.log1p(math.exp(-0.5)), rel=1e-14)
    np.testing.assert_allclose(g_c, [-2 * sig(-0.5), 0.0], rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(g_u, [-sig(-0.5) * V_C, [0.0, 0.0], sig(-0.5) * V_C], rtol=1e-14)


@pytest.mark.parametrize("impl", [nbw2v.neg_sampling_loss_and_grad, reference.neg_sampling_loss_and_grad])
def test_negative_drawn_twice_counts_twice(impl):
    loss, g_c, g_u = impl(V_C, 0, U_TOY, [2, 2])
    assert loss == pytest.approx(3 * math.log1p(math.exp(-0.5)), rel=1e-14)
    np.testing.assert_allclose(g_c, [-3 * sig(-0.5), 0.0], rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(g_u[2], 2 * sig(-0.5) * V_C, rtol=1e-14)


@pytest.mark.parametrize("impl", [nbw2v.neg_sampling_loss_and_grad, reference.neg_sampling_loss_and_grad])
def test_negative_equal_to_outside_is_an_ordinary_term(impl):
    loss, g_c, g_u = impl(V_C, 0, U_TOY, [0])
    assert loss == pytest.approx(-math.log(sig(0.5)) - math.log(sig(-0.5)), rel=1e-14)
    np.testing.assert_allclose(g_c, [2 * sig(0.5) - 1.0, 0.0], rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(g_u[0], (2 * sig(0.5) - 1.0) * V_C, rtol=1e-13)
    np.testing.assert_array_equal(g_u[1:], 0.0)


@pytest.mark.parametrize("impl", [nbw2v.skipgram, reference.skipgram])
def test_skipgram_softmax_window_toy(impl):
    C = np.array([[0.0, 0.0], [0.5, 0.5], [3.0, -1.0]])
    loss, g_C, g_U = impl(1, [0, 1], C, U_TOY, "softmax")
    z = 2 * math.exp(0.5) + math.exp(-0.5)
    assert loss == pytest.approx(2 * math.log(z) - 1.0, rel=1e-14)
    yhat = np.array([math.exp(0.5), math.exp(0.5), math.exp(-0.5)]) / z
    coef = 2 * yhat - [1.0, 1.0, 0.0]
    np.testing.assert_allclose(g_C[1], U_TOY.T @ coef, rtol=1e-13)
    np.testing.assert_array_equal(g_C[[0, 2]], 0.0)  # dJ/dv_w = 0 for w != c (docs/math.md 3)
    np.testing.assert_allclose(g_U, np.outer(coef, V_C), rtol=1e-13)


@pytest.mark.parametrize("impl", [nbw2v.skipgram, reference.skipgram])
def test_skipgram_negative_window_toy(impl):
    C = np.array([[0.0, 0.0], [0.5, 0.5], [3.0, -1.0]])
    loss, g_C, g_U = impl(1, [0, 1], C, U_TOY, "negative", [[2], [2]])
    # pair (c, 0): both scores give -log sigma(0.5); pair (c, 1): s_o = 0.5, s_neg = -0.5 again
    assert loss == pytest.approx(4 * math.log1p(math.exp(-0.5)), rel=1e-14)
    np.testing.assert_allclose(g_U[2], 2 * sig(-0.5) * V_C, rtol=1e-14)
    # pair 1: [-2 sig(-.5), 0]; pair 2: (sig(.5) - 1) [0, 1] + sig(-.5) [-1, 0]
    np.testing.assert_allclose(g_C[1], [-3 * sig(-0.5), -sig(-0.5)], rtol=1e-14)


def test_shared_negative_window_reference_matches_pairwise_sum():
    """docs/math.md, "Shared negatives over a window": the window is the pairwise negative-sampling sum."""
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((4, 3)), rng.standard_normal((6, 3))
    loss, g_X, g_Y = reference.shared_negative_window(X, Y)
    total, g_Y_sum = 0.0, np.zeros_like(Y)
    for i in range(4):
        pair_loss, g_x, g_u = reference.neg_sampling_loss_and_grad(X[i], 0, Y, [1, 2, 3, 4, 5])
        total += pair_loss
        np.testing.assert_allclose(g_X[i], g_x, rtol=1e-12)
        g_Y_sum += g_u
    assert loss == pytest.approx(total, rel=1e-12)
    np.testing.assert_allclose(g_Y, g_Y_sum, rtol=1e-12)
