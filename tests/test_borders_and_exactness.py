"""Right answers with every padding mode: the step size bound, TV and non-negative LS
against convex solvers, exact small pseudo-inverses, a bounded preconditioner set-up.

References: the dense matrix's SVD (``‖A‖²``), cvxpy (Clarabel, an interior-point
solver) for TV, ``scipy.optimize.lsq_linear`` for non-negative least squares and
``numpy.linalg.pinv`` for the pseudo-inverse. Hypothesis draws small problems over every
padding mode × stride × dilation × groups; its budgets are modest so that the file runs
in well under a minute on an idle machine. Nothing is timed: the work of the bounded
set-up is checked by what it builds (the diagonal symbol), not by a clock.
"""

from __future__ import annotations

import os
import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import lsq_linear

from deconv_gui.core import (
    ConvOperator,
    SolveCancelled,
    nonneg_reconstruction,
    pinv_reconstruction,
    tv_reconstruction,
)
from deconv_gui.core.limits import estimate_pipeline_bytes, memory_budget
from deconv_gui.core.priors.tv import TVSolver, total_variation
from deconv_gui.core.solvers.first_order import operator_norm_bound
from deconv_gui.core.solvers.preconditioner import SymbolPreconditioner

MODES = ("zeros", "reflect", "replicate", "circular")
#: Examples per property test; raise for a local search (DECONV_PROPERTY_EXAMPLES=200).
EXAMPLES = int(os.environ.get("DECONV_PROPERTY_EXAMPLES", "12"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@st.composite
def operators(draw, max_side=8, positive=None):
    """A small valid operator: any padding mode, stride, dilation and groups."""
    groups = draw(st.sampled_from([1, 1, 2]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    mode = draw(st.sampled_from(MODES))
    h, w = draw(st.integers(4, max_side)), draw(st.integers(4, max_side))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    pos = draw(st.booleans()) if positive is None else positive
    weights = (
        rng.random((fh, fw, c_in // groups, c_out))
        if pos
        else rng.standard_normal((fh, fw, c_in // groups, c_out))
    )
    weights /= np.abs(weights).sum(axis=(0, 1, 2), keepdims=True)
    try:
        op = ConvOperator.from_weights(
            weights,
            input_shape=(h, w, c_in),
            stride=stride,
            padding=padding,
            dilation=dilation,
            padding_mode=mode,
            groups=groups,
        )
    except ValueError:
        from hypothesis import assume

        assume(False)
    return op, rng


def _well_conditioned(a, limit=300.0):
    """Whether the singular values kept (above 1e-10 of the largest) span at most ``limit``:
    first-order solvers then converge within a few thousand iterations."""
    s = np.linalg.svd(a, compute_uv=False)
    kept = s[s > 1e-10 * s[0]] if s.size and s[0] > 0 else s[:0]
    return kept.size > 0 and s[0] / kept[-1] <= limit


def _full_rank_well_conditioned(a, limit=300.0):
    """Whether ``A`` has full column rank and a condition number of at most ``limit``: the
    problem is then strongly convex and FISTA converges linearly. With a null space (fewer
    equations, strides) TV's convergence can be arbitrarily slow (a strong prior pulls the
    image to a constant along the null space at FISTA's sublinear rate), and the solve may
    honestly say it did not converge."""
    s = np.linalg.svd(a, compute_uv=False)
    return a.shape[0] >= a.shape[1] and s[-1] > 0 and s[0] / s[-1] <= limit


def _relative_excess(ours, ref, y):
    """(ours − ref) / ref; an optimum near 0 against 10⁻⁶ ‖y‖² (the objective's scale)."""
    return (ours - ref) / max(abs(ref), 1e-6 * float(np.vdot(y, y)))


# --- item 1: the step size bound ------------------------------------------------------


@SETTINGS
@given(operators(max_side=10))
def test_the_norm_bound_is_never_below_the_true_norm(case):
    op, _ = case
    true = np.linalg.norm(op.to_dense(np.float64), 2) ** 2
    assert operator_norm_bound(op) >= true * (1 - 1e-12)


def _cvxpy_tv(a, y, shape, lam, nonneg):
    cp = pytest.importorskip("cvxpy")
    h, w, c = shape
    xv = cp.Variable(h * w * c)
    cube = cp.reshape(xv, (h * w, c), order="C")
    tv = 0
    for k in range(c):
        img = cp.reshape(cube[:, k], (h, w), order="C")
        di = cp.vstack([img[1:, :] - img[:-1, :], np.zeros((1, w))])
        dj = cp.hstack([img[:, 1:] - img[:, :-1], np.zeros((h, 1))])
        tv = tv + cp.sum(
            cp.norm(cp.vstack([cp.vec(di, order="C"), cp.vec(dj, order="C")]), 2, axis=0)
        )
    objective = 0.5 * cp.sum_squares(a @ xv - y.ravel()) + lam * tv
    problem = cp.Problem(cp.Minimize(objective), [xv >= 0] if nonneg else [])
    problem.solve(solver="CLARABEL")
    return float(problem.value)


def _tv_objective(a, y, x, lam):
    r = a @ x.ravel() - y.ravel()
    return 0.5 * float(r @ r) + lam * total_variation(x)


def test_tv_with_circular_padding_converges_instead_of_diverging():
    rng = np.random.default_rng(0)
    w = rng.random((2, 2, 1))
    w /= w.sum()
    op = ConvOperator.from_weights(
        w, input_shape=(24, 24, 1), stride=3, padding=2, padding_mode="circular"
    )
    x0 = rng.random((24, 24, 1))
    y = op.apply(x0)
    image, report = tv_reconstruction(y, op, lam=1e-4, max_iter=3000)
    assert np.isfinite(image).all() and "DIVERGED" not in report.message, report.message
    ref = _cvxpy_tv(op.to_dense(np.float64), y, x0.shape, 1e-4, False)
    assert _relative_excess(_tv_objective(op.to_dense(), y, image, 1e-4), ref, y) <= 1e-3
    # λ = 1e-4 with an exact fit: within 1e-3 long before the duality gap can prove it
    # (at 3000 iterations the gap is ~2e-3): "converged" only ever with the proof
    assert report.converged == (report.gap <= 1e-3), report.message


def test_a_diverging_solve_stops_and_says_so(monkeypatch):
    rng = np.random.default_rng(1)
    op = ConvOperator.from_weights(rng.random((3, 3, 1)), input_shape=(12, 12, 1), padding=1)
    y = op.apply(rng.random((12, 12, 1)))
    original = TVSolver.prox
    calls = {"n": 0}

    def poisoned(self, v, out):
        calls["n"] += 1
        out = original(self, v, out)
        if calls["n"] == 5:  # as if the step had been too long: an overflow
            out[0, 0, 0] = np.inf
        return out

    monkeypatch.setattr(TVSolver, "prox", poisoned)
    image, report = tv_reconstruction(y, op, lam=1e-2)
    assert np.isfinite(image).all()
    assert not report.converged and "DIVERGED" in report.message
    assert report.iterations <= 5


# --- item 2: "converged" is within 1e-3 of the optimum ---------------------------------


def test_converged_tv_is_within_1e3_of_the_convex_optimum():
    # the issue's case: 32², stride 3, padding 2, λ 1e-4, zero padding (reported
    # converged 0.25 % above the optimum before)
    rng = np.random.default_rng(2)
    w = rng.random((2, 2, 1))
    w /= w.sum()
    op = ConvOperator.from_weights(w, input_shape=(32, 32, 1), stride=3, padding=2)
    x0 = np.zeros((32, 32, 1))
    x0[8:24, 8:24] = 1.0
    y = op.apply(x0) + 0.01 * rng.standard_normal(op.geometry.output_shape)
    ref = _cvxpy_tv(op.to_dense(np.float64), y, x0.shape, 1e-4, False)
    for max_iter in (100, 500, 3000):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image, report = tv_reconstruction(y, op, lam=1e-4, max_iter=max_iter)
        excess = _relative_excess(_tv_objective(op.to_dense(), y, image, 1e-4), ref, y)
        if report.converged:
            assert excess <= 1e-3, (max_iter, excess, report.message)
    assert report.converged, report.message


def _opposite_channels_case():
    """What :func:`operators` draws for a 1×1 layer mixing two channels into one with
    weights of opposite signs (0.488, −0.512), stride (1, 2) on 4×4: the constant
    responses of the two channels are parallel (a singular Gram matrix), and under
    ``x ≥ 0`` the gap's constant repair once left the dual point infeasible, certifying
    0.9 % above the minimum as converged (hypothesis found it)."""
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((1, 1, 2, 1))
    weights /= np.abs(weights).sum(axis=(0, 1, 2), keepdims=True)
    op = ConvOperator.from_weights(weights, input_shape=(4, 4, 2), stride=(1, 2))
    return op, rng


@SETTINGS
@given(operators(), st.sampled_from([1e-2, 1e-3]), st.booleans())
@example(case=_opposite_channels_case(), lam=1e-2, nonneg=True)
def test_tv_matches_cvxpy_for_every_padding_mode(case, lam, nonneg):
    op, rng = case
    a = op.to_dense(np.float64)
    x0 = rng.random(op.geometry.input_shape)
    y = op.apply(x0) + 0.01 * rng.standard_normal(op.geometry.output_shape)
    ref = _cvxpy_tv(a, y, op.geometry.input_shape, lam, nonneg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image, report = tv_reconstruction(y, op, lam=lam, nonneg=nonneg, max_iter=5000)
    assert np.isfinite(image).all()
    # "converged" always means within 1e-3 of the optimum (the duality gap proves it);
    # strongly convex, moderately conditioned problems must get there
    assert report.converged or not _full_rank_well_conditioned(a), report.message
    assert np.isnan(report.gap) or report.converged == (report.gap <= 1e-3)
    excess = _relative_excess(_tv_objective(a, y, image, lam), ref, y)
    # the gap bounds the true excess from above whether converged or not (its dual value
    # is never above the minimum); 1e-6 for cvxpy's own accuracy
    assert np.isnan(report.gap) or report.gap >= excess - 1e-6, (report.gap, excess)
    if report.converged:
        assert excess <= 1e-3


@SETTINGS
@given(operators(), st.sampled_from([0.0, 1e-3]))
def test_nonneg_matches_lsq_linear_for_every_padding_mode(case, reg):
    op, rng = case
    a = op.to_dense(np.float64)
    y = op.apply(rng.random(op.geometry.input_shape))
    y += 0.05 * rng.standard_normal(y.shape)
    n = a.shape[1]
    stacked = np.vstack([a, np.sqrt(reg) * np.eye(n)])
    rhs = np.concatenate([y.ravel(), np.zeros(n)])
    ref_x = lsq_linear(stacked, rhs, bounds=(0, np.inf), tol=1e-12, lsmr_tol="auto").x
    ref = float(np.sum((a @ ref_x - y.ravel()) ** 2) + reg * ref_x @ ref_x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image, report = nonneg_reconstruction(y, op, reg=reg, max_iter=5000)
    assert image.min() >= 0
    # "converged" is proven by the duality gap; well-conditioned problems must get there,
    # except without Tikhonov for a filter with negative weights, whose dual point needs
    # Aᵀw ≥ 0 and may find no cheap direction to lift it there (the docs say so)
    certifiable = reg > 0 or bool(np.all(op.weights >= 0))
    assert report.converged or not (_well_conditioned(a) and certifiable), report.message
    assert np.isnan(report.gap) or report.converged == (report.gap <= 1e-3)
    if report.converged:
        x = image.ravel()
        ours = float(np.sum((a @ x - y.ravel()) ** 2) + reg * x @ x)
        assert _relative_excess(ours, ref, y) <= 1e-3


# --- item 3: exact small pseudo-inverses ---------------------------------------------


def _issue_operator():
    weights = np.random.default_rng(0).standard_normal((3, 3, 1, 6))
    return ConvOperator.from_weights(
        weights,
        input_shape=(11, 21, 3),
        stride=(1, 2),
        padding=1,
        dilation=(2, 1),
        padding_mode="replicate",
        groups=3,
    )


@pytest.mark.parametrize("method", ["auto", "iterative"])
def test_the_small_ill_conditioned_pinv_is_exact(method):
    op = _issue_operator()
    y = np.random.default_rng(1).standard_normal(op.geometry.output_shape)
    reference = np.linalg.pinv(op.to_dense(np.float64), rcond=1e-10) @ y.ravel()
    image, report = pinv_reconstruction(y, op, method=method)
    assert report.converged, report.message
    assert report.method == ("dense" if method == "auto" else report.method)
    error = np.linalg.norm(image.ravel() - reference) / np.linalg.norm(reference)
    assert error <= 1e-6


def _replicated_dilated_case(fw, w):
    """What :func:`operators` draws (seed 0) for a 2 → 2 channel layer with positive
    ``2 × fw`` taps, dilation 2, padding (2, 0) copying the borders, on a ``5 × w``
    image: rank-deficient (126 × 130 of rank 122, κ ≈ 370 for ``fw = 3, w = 13``;
    182 × 150 of rank 146, κ ≈ 230 for ``fw = 2, w = 15``), so ``y`` is outside the
    range and CGLS takes over (hypothesis found both)."""
    rng = np.random.default_rng(0)
    weights = rng.random((2, fw, 2, 2))
    weights /= np.abs(weights).sum(axis=(0, 1, 2), keepdims=True)
    op = ConvOperator.from_weights(
        weights, input_shape=(5, w, 2), padding=(2, 0), dilation=2, padding_mode="replicate"
    )
    return op, rng


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operators(max_side=20), st.sampled_from(["auto", "iterative"]))
# CGLS needs ~400 steps (after 10 of CG): more than the old default limit, 3 m = 378
@example(case=_replicated_dilated_case(3, 13), method="iterative")
# converged (η = 4e-9) 1.6e-6 from numpy: within κ² rtol ‖r‖ / ‖A‖ = 9e-6, not 1e-6
@example(case=_replicated_dilated_case(2, 15), method="iterative")
def test_pinv_matches_numpy_for_moderately_conditioned_problems(case, method):
    op, rng = case
    a = op.to_dense(np.float64)
    s = np.linalg.svd(a, compute_uv=False)
    from hypothesis import assume

    # moderately conditioned: the kept singular values within 10⁴, a clear gap below them
    assume(s[0] > 0 and s[s > 1e-10 * s[0]][-1] >= 1e-4 * s[0])
    assume(not np.any((s > 1e-13 * s[0]) & (s <= 1e-10 * s[0])))
    y = rng.standard_normal(op.geometry.output_shape)
    reference = np.linalg.pinv(a, rcond=1e-10) @ y.ravel()
    image, report = pinv_reconstruction(y, op, method=method)
    assert report.converged, report.message
    error = np.linalg.norm(image.ravel() - reference)
    # x − A⁺y lies in the range of Aᵀ, where AᵀA ≥ σ_min², and AᵀA (A⁺y − x) = Aᵀr for
    # r = y − A x: so the error is at most ‖Aᵀr‖ / σ_min², which the normal-equation stop
    # (rtol = 1e-8) bounds by rtol ‖A‖ ‖r‖ / σ_min², ‖A‖ the solver's estimate from the
    # symbol (0.4-4 σ_max over these draws). With y outside the range (‖r‖ ≈ 0.2-0.4 ‖y‖)
    # that is about rtol κ² ‖r‖ / σ_max, not 1e-6 ‖A⁺y‖; twice that for the rounding of
    # CGLS's updated residual
    sigma_min = s[s > 1e-10 * s[0]][-1]
    norm_a = max(s[0], SymbolPreconditioner(op).operator_norm)
    r = np.linalg.norm(y.ravel() - a @ image.ravel())
    bound = 2 * 1e-8 * norm_a * r / sigma_min**2
    assert error <= max(1e-6 * np.linalg.norm(reference), bound), (error, bound)


# --- item 4: the preconditioner's set-up is bounded by its cost -----------------------


def _wide_layer():
    rng = np.random.default_rng(3)
    weights = rng.standard_normal((3, 3, 3, 500)) / 27
    return ConvOperator.from_weights(weights, input_shape=(32, 32, 3), stride=2, padding=1), rng


def test_500_output_channels_take_the_diagonal_symbol_and_stay_exact():
    op, rng = _wide_layer()
    assert SymbolPreconditioner(op).kind == "diagonal"
    x = rng.random((32, 32, 3))
    image, report = pinv_reconstruction(op.apply(x), op)
    assert report.converged
    # 128 000 equations, 3 072 unknowns of full column rank: A⁺ A x = x
    np.testing.assert_allclose(image, x, atol=1e-6)
    # and such a layer is not refused: its estimate stays within the memory budget
    assert estimate_pipeline_bytes(op.geometry, ("pinv",)) < memory_budget()


def test_the_preconditioner_set_up_is_cancellable():
    op, rng = _wide_layer()
    event = threading.Event()
    event.set()
    with pytest.raises(SolveCancelled):
        pinv_reconstruction(op.apply(rng.random((32, 32, 3))), op, cancel=event)
    # the full matrix symbol checks between batches of frequencies
    rng = np.random.default_rng(4)
    full = ConvOperator.from_weights(
        rng.standard_normal((3, 3, 3, 16)), input_shape=(64, 64, 3), stride=2, padding=1
    )
    checks = {"n": 0}

    def cancel_later():
        checks["n"] += 1
        return checks["n"] > 2

    with pytest.raises(SolveCancelled):
        SymbolPreconditioner(full, cancel=cancel_later)
    assert SymbolPreconditioner(full).kind == "full"
