"""A tall conv's pseudo-inverse (more output channels than input values per stride cell,
a network's first layer): CG on ``A Aᵀ`` crawls there (it is singular), so the solve runs
on the input grid; it must give ``numpy.linalg.pinv`` of the dense operator (or the
Tikhonov formula), converge in few iterations, and never blame ``κ(A) ≈ ∞``."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.solvers import PseudoInverseSolver, make_pinv_solver, solve_pinv
from deconv_gui.core.solvers.normal_pcg import filter_norm, is_tall

CASES = [
    # image, filter (k, k, C_in, C_out), stride, padding
    ((10, 10, 3), (3, 3, 3, 8), 1, 1),
    ((12, 12, 3), (3, 3, 3, 16), 2, 1),
    ((14, 14, 3), (7, 7, 3, 16), 2, 3),
    ((13, 11, 3), (7, 7, 3, 32), 2, 3),
]


def _tall(shape, filt, stride, padding, seed=0):
    rng = np.random.default_rng(seed)
    # PyTorch's default initialisation: uniform within ±1/√fan_in
    bound = 1 / np.sqrt(filt[0] * filt[1] * filt[2])
    w = rng.uniform(-bound, bound, filt)
    return ConvOperator.from_weights(w, input_shape=shape, stride=stride, padding=padding), rng


@pytest.mark.parametrize(("shape", "filt", "stride", "padding"), CASES)
@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_tall_pinv_is_numpys(shape, filt, stride, padding, noise):
    op, rng = _tall(shape, filt, stride, padding)
    a = op.to_dense(np.float64)
    assert is_tall(op) and np.linalg.matrix_rank(a) == a.shape[1]
    y = op.apply(rng.random(shape))
    y = y + noise * rng.standard_normal(y.shape)  # noise: y outside the range
    reference = np.linalg.pinv(a) @ y.ravel()
    x, report = make_pinv_solver(op, rtol=1e-12).solve(y, 2000)
    assert report.method == "cgls-normal" and report.converged, report.message
    assert np.linalg.norm(x.ravel() - reference) <= 1e-8 * np.linalg.norm(reference)


@pytest.mark.parametrize(
    ("shape", "filt", "stride", "padding"),
    [CASES[0], CASES[3], ((24, 20, 3), (7, 7, 3, 32), 2, 3), ((16, 16, 3), (3, 3, 3, 64), 1, 1)],
)
def test_well_conditioned_tall_pinv_takes_few_iterations(shape, filt, stride, padding):
    # CG on A Aᵀ stopped at 200 iterations unconverged on such layers; unpreconditioned
    # CGLS takes about κ(A) log(1/rtol) steps (κ(A) ≈ 3 to 10 here: 20 to 70 steps)
    op, rng = _tall(shape, filt, stride, padding)
    a = op.to_dense(np.float64)
    y = op.apply(rng.random(shape))
    y = y + 1e-3 * rng.standard_normal(y.shape)
    reference = np.linalg.pinv(a) @ y.ravel()
    solved = solve_pinv(op, y, method="iterative")
    assert solved.report.converged and solved.report.iterations < 100, solved.report.message
    error = np.linalg.norm(solved.image.ravel() - reference) / np.linalg.norm(reference)
    assert error < 1e-6


@pytest.mark.parametrize(("shape", "filt", "stride", "padding"), CASES)
def test_tall_tikhonov_is_the_formula(shape, filt, stride, padding):
    op, rng = _tall(shape, filt, stride, padding, seed=1)
    a = op.to_dense(np.float64)
    y = rng.standard_normal(op.geometry.output_shape)
    reg = 1e-2
    reference = np.linalg.solve(a.T @ a + reg * np.eye(a.shape[1]), a.T @ y.ravel())
    x, report = make_pinv_solver(op, reg=reg, rtol=1e-12).solve(y, 2000)
    assert report.converged, report.message
    assert np.linalg.norm(x.ravel() - reference) <= 1e-8 * np.linalg.norm(reference)


def test_rank_deficient_tall_pinv_keeps_the_minimum_norm():
    # an input channel no output reads: A Aᵀ and Aᵀ A both singular; CGLS's iterates stay
    # in the range of Aᵀ, so the answer has no component on that channel
    op, rng = _tall((9, 9, 3), (3, 3, 3, 16), 1, 1)
    w = op.weights.copy()
    w[:, :, 1, :] = 0.0
    op = op.replace(w)
    a = op.to_dense(np.float64)
    assert np.linalg.matrix_rank(a) < a.shape[1]
    y = rng.standard_normal(op.geometry.output_shape)
    reference = np.linalg.pinv(a) @ y.ravel()
    x, report = make_pinv_solver(op, rtol=1e-12).solve(y, 2000)
    assert report.converged, report.message
    assert np.linalg.norm(x.ravel() - reference) <= 1e-8 * np.linalg.norm(reference)


def test_tall_report_does_not_blame_an_infinite_condition_number():
    op, rng = _tall((12, 12, 3), (7, 7, 3, 32), 2, 3)
    y = op.apply(rng.random((12, 12, 3))) + 0.1 * rng.standard_normal(op.geometry.output_shape)
    solved = solve_pinv(op, y, rtol=1e-14, max_iter=2, method="iterative")
    assert not solved.report.converged
    assert "κ" not in solved.report.message and "∞" not in solved.report.message


def test_filter_norm_bounds_the_dense_norm():
    for shape, filt, stride, padding in CASES:
        op, _ = _tall(shape, filt, stride, padding)
        sigma = np.linalg.norm(op.to_dense(np.float64), 2)
        assert sigma <= filter_norm(op) * (1 + 1e-3)


def test_square_and_wide_convs_keep_the_output_side_solver():
    rng = np.random.default_rng(0)
    square = ConvOperator.from_weights(rng.random((3, 3, 3, 3)), input_shape=(8, 8, 3), padding=1)
    strided = ConvOperator.from_weights(rng.random((3, 3, 3, 12)), input_shape=(8, 8, 3), stride=2)
    for op in (square, strided):
        assert not is_tall(op)
        assert isinstance(make_pinv_solver(op), PseudoInverseSolver)


def test_tall_pinv_leaves_unread_pixels_at_zero():
    # a valid stride-2 conv of an even image never reads the last row and column: zero
    # columns of A, where the minimum-norm answer is 0 (a preconditioner must not fill them)
    op, rng = _tall((10, 10, 3), (3, 3, 3, 32), 2, 0)
    a = op.to_dense(np.float64)
    assert np.linalg.matrix_rank(a) < a.shape[1]
    y = rng.standard_normal(op.geometry.output_shape)
    reference = np.linalg.pinv(a) @ y.ravel()
    x, report = make_pinv_solver(op, rtol=1e-12).solve(y, 2000)
    assert report.converged, report.message
    assert np.linalg.norm(x.ravel() - reference) <= 1e-8 * np.linalg.norm(reference)


def _borders(case):
    """A tall conv with rank-deficient borders: a valid stride-2 conv of an even image
    never reads the last row and column, and an input channel no output reads."""
    op, rng = _tall(*case)
    w = op.weights.copy()
    w[:, :, 1, :] = 0.0
    return op.replace(w), rng


PRECISION_CASES = [*CASES, ((10, 10, 3), (3, 3, 3, 32), 2, 0), "borders"]


@pytest.mark.parametrize("case", PRECISION_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_tall_pinv_at_the_precision_of_the_data(case, dtype, noise):
    # y = A x₀ rounded to float32 lies just outside the range: the solve stops at the
    # data's precision (not at the iteration limit) with numpy's minimum-norm answer to
    # what that precision resolves, ε κ(A); float64 data keeps rtol's accuracy
    op, rng = _borders(((12, 12, 3), (3, 3, 3, 32), 2, 0)) if case == "borders" else _tall(*case)
    op = op.replace(op.weights.astype(dtype))
    a = op.to_dense(np.float64)
    shape = op.geometry.input_shape
    y = op.apply(rng.random(shape).astype(dtype))
    y = (y + noise * rng.standard_normal(y.shape)).astype(dtype)
    reference = np.linalg.pinv(a) @ y.ravel().astype(np.float64)
    solved = solve_pinv(op, y, rtol=1e-10, method="iterative", max_iter=2000)
    report = solved.report
    assert report.method == "cgls-normal" and report.converged, report.message
    error = np.linalg.norm(solved.image.ravel() - reference) / np.linalg.norm(reference)
    singular = np.linalg.svd(a, compute_uv=False)
    kappa = singular[0] / singular[singular > 1e-10 * singular[0]][-1]
    if dtype == np.float32:
        assert "precision of the data (float32" in report.message
        assert error <= 10 * kappa * np.finfo(np.float32).eps
    else:
        assert "precision" not in report.message
        assert error <= 1e-8


@pytest.mark.parametrize("case", [CASES[2], CASES[3], ((16, 16, 3), (3, 3, 3, 64), 1, 1)])
def test_float32_tall_pinv_stops_sooner_than_rtol_alone(case):
    # the same solve with the precision ignored (dtype float64) chases y's rounding
    op, rng = _tall(*case)
    op = op.replace(op.weights.astype(np.float32))
    y = op.apply(rng.random(op.geometry.input_shape).astype(np.float32))
    at_precision = make_pinv_solver(op, rtol=1e-8).solve(y, 2000).report
    chasing = make_pinv_solver(op, rtol=1e-8, dtype=np.float64).solve(y, 2000).report
    assert at_precision.converged and "float32" in at_precision.message
    assert at_precision.iterations < chasing.iterations
    assert at_precision.relative_residual < 1e-6
