import numpy as np
import pytest

import nbw2v
from nbw2v import gradcheck


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_kernel_gradients_pass_the_check(seed):
    results = nbw2v.gradcheck_all(seed=seed)
    assert set(results) == {
        f"{loss}/{form}/{grad}"
        for loss in ("softmax", "negative", "hs")
        for form, grads in (
            ("pair", ("grad_center_vec", "grad_outside_vectors")),
            ("window", ("grad_center_vectors", "grad_outside_vectors")),
        )
        for grad in grads
    }
    for key, err in results.items():
        assert err <= gradcheck.TOLERANCE, (key, err)
        assert err < 1e-7, (key, err)  # docs/math.md: ~1e-9 for a correct float64 gradient


def test_check_detects_a_wrong_gradient():
    """The check must be able to fail: a gradient off by 10% (or a sign) is reported."""
    rng = np.random.default_rng(0)
    U = rng.standard_normal((5, 3))
    v = rng.standard_normal(3)
    _, g_v, _ = nbw2v.naive_softmax_loss_and_grad(v, 1, U)

    def loss():
        return nbw2v.naive_softmax_loss_and_grad(v, 1, U)[0]

    assert gradcheck.max_rel_error(loss, v, g_v) < 1e-8
    assert gradcheck.max_rel_error(loss, v, 1.1 * g_v) > 1e-3
    assert gradcheck.max_rel_error(loss, v, -g_v) > 1e-2


def test_check_on_float32_real_vectors_with_coordinate_sampling():
    """Float32 vectors are checked in float64; max_coords samples coordinates of big problems."""
    rng = np.random.default_rng(1)
    U = (rng.standard_normal((2000, 50)) * 0.1).astype(np.float32)
    v = (rng.standard_normal(50) * 0.1).astype(np.float32)
    errs = gradcheck.check_neg_sampling(v, 3, U, [5, 5, 3, 1999], max_coords=300)
    assert max(errs.values()) < 1e-7
    errs = gradcheck.check_naive_softmax(v, 3, U, max_coords=200)
    assert max(errs.values()) < 1e-7
    assert U.dtype == np.float32  # the caller's arrays are not perturbed or converted


def test_max_rel_error_rejects_bad_arguments():
    x = np.zeros(3)
    with pytest.raises(ValueError, match="float64"):
        gradcheck.max_rel_error(lambda: 0.0, np.zeros(3, np.float32), x)
    with pytest.raises(ValueError, match="shape"):
        gradcheck.max_rel_error(lambda: 0.0, x, np.zeros(4))
    with pytest.raises(ValueError, match="positive step"):
        gradcheck.max_rel_error(lambda: 0.0, x, x, h=0.0)
