"""The condition estimate behind a stalled pseudo-inverse, against dense matrices.

Nothing is timed: the time limit is tested at 0 s (it stops after the first iteration).
"""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator, make_filter, pinv_reconstruction
from deconv_gui.core.solvers.condition import estimate_condition
from deconv_gui.core.solvers.pseudo_inverse import solve_pinv


def _gaussian(n: int, c_in: int, **geometry) -> ConvOperator:
    w = make_filter("gaussian", in_channels=c_in)
    return ConvOperator.from_weights(w, input_shape=(n, n, c_in), stride=1, padding=1, **geometry)


@pytest.mark.parametrize(("n", "c_in"), [(16, 1), (16, 3), (20, 2)])
def test_zero_padding_gaussian_estimate_bounds_the_dense_condition_number(n, c_in):
    op = _gaussian(n, c_in)
    dense = np.linalg.cond(op.to_dense(np.float64))
    estimate = estimate_condition(op)
    # A is a (block) symmetric Toeplitz section of the convolution: its singular values
    # lie inside the symbol's range (Grenander–Szegő), so the estimate is an upper bound,
    # and tight up to the border modes: dense / estimate is 0.85 at 16², 0.90 at 20²
    # (→ 1 as n grows). A factor of 1.25 holds from 16² on.
    assert dense <= estimate.kappa * (1 + 1e-9)
    assert estimate.kappa <= 1.25 * dense
    singular = np.linalg.svd(op.to_dense(np.float64), compute_uv=False)
    assert singular[0] <= estimate.sigma_max * (1 + 1e-9)
    assert not estimate.exact


@pytest.mark.parametrize(
    ("stride", "filter_", "c_in", "c_out"),
    [(1, "gaussian", 1, 1), (2, "random", 2, 3), (2, "random", 3, 1)],
)
def test_a_periodic_layer_estimate_is_exact(stride, filter_, c_in, c_out):
    rng = np.random.default_rng(stride + c_in)
    if filter_ == "gaussian":
        w = make_filter("gaussian", in_channels=c_in)
    else:
        w = rng.standard_normal((3, 3, c_in, c_out))
    op = ConvOperator.from_weights(
        w, input_shape=(12, 12, c_in), stride=stride, padding=1, padding_mode="circular"
    )
    singular = np.linalg.svd(op.to_dense(np.float64), compute_uv=False)
    estimate = estimate_condition(op)
    assert estimate.exact
    assert estimate.sigma_max == pytest.approx(singular[0], rel=1e-9)
    assert estimate.sigma_min == pytest.approx(singular[-1], rel=1e-7, abs=1e-12)


def test_a_solve_that_stops_short_says_kappa_and_suggests_tikhonov():
    op = _gaussian(16, 3)
    x = np.random.default_rng(0).random((16, 16, 3))
    y = op.apply(x)
    solved = solve_pinv(op, y, max_iter=2, method="iterative")
    report = solved.report
    assert not report.converged and report.iterations == 2
    kappa = estimate_condition(op).kappa
    assert f"κ(A) ≈ {kappa:.1e}" in report.message
    assert "ill-conditioned" in report.message and "Tikhonov, reg > 0" in report.message
    assert "\n" not in report.message
    # the κ it names is within the bound above of the dense one (1.1e+02 against 89)
    dense = np.linalg.cond(op.to_dense(np.float64))
    assert dense <= kappa <= 1.25 * dense
    # a converged solve says nothing of it
    done = solve_pinv(op, y, method="iterative").report
    assert done.converged and "κ" not in done.message


def test_the_time_limit_stops_as_the_iteration_limit_does():
    op = _gaussian(32, 1)
    y = op.apply(np.random.default_rng(1).random((32, 32, 1)))
    solved = pinv_reconstruction(y, op, method="iterative", time_limit=0)
    report = solved.report
    assert not report.converged and report.iterations == 1
    assert "stopped at the time limit (0 s)" in report.message and "κ(A)" in report.message
    for bad in (-1.0, "2", float("nan")):
        with pytest.raises(ValueError, match="time_limit"):
            pinv_reconstruction(y, op, method="iterative", time_limit=bad)


def test_a_well_conditioned_layer_is_not_called_ill_conditioned():
    w = np.zeros((3, 3, 1, 1))
    w[1, 1] = 1.0
    w[0, 1] = 0.2  # symbol 1 + 0.2 e^{iω}: κ = 1.2 / 0.8 = 1.5
    op = ConvOperator.from_weights(w, input_shape=(16, 16, 1), stride=1, padding=1)
    y = op.apply(np.random.default_rng(2).random((16, 16, 1)))
    report = solve_pinv(op, y, max_iter=1, method="iterative").report
    assert not report.converged
    assert "ill-conditioned" not in report.message and "more iterations" in report.message


def test_many_channels_are_estimated_from_the_matrix_symbol_on_a_coarser_grid(monkeypatch):
    # the channels' coupling is most of a random layer's conditioning: the coarser grid's
    # matrix symbol finds it (its diagonal alone would not), within a few per cent of the
    # full grid's estimate
    from deconv_gui.core.solvers import condition

    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3, 8, 16)) * np.sqrt(2 / 72)
    op = ConvOperator.from_weights(w, input_shape=(48, 48, 8), stride=2, padding=1)
    full = estimate_condition(op).kappa
    monkeypatch.setattr(condition, "FULL_SYMBOL_COST", 40 * 16**3)  # 8 × 8: 40 frequencies
    coarse = estimate_condition(op).kappa
    assert condition._sampled_grid(op, 16) == (8, 8)
    assert 0.9 * full <= coarse <= full * (1 + 1e-9)
    monkeypatch.setattr(condition, "FULL_SYMBOL_COST", 11 * 16**3)  # below 4 × 4: diagonal
    assert estimate_condition(op).kappa < 0.5 * full
