"""The output-side pseudo-inverse (CG on ``A Aᵀ``, CGLS for a ``y`` outside the range)
stops at the precision of float32 data, as the tall conv's does: ``y = A x₀`` rounded to
float32 lies outside the range of a rank-deficient ``A``, and ``rtol`` alone chased that
rounding. The answer is still ``numpy.linalg.pinv``'s to what the data resolves."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.solvers import PseudoInverseSolver, make_pinv_solver

CASES = [
    # image, filter (k, k, C_in, C_out), stride: an input channel no output reads
    ((9, 9, 3), (3, 3, 3, 3), 1),
    ((10, 10, 3), (3, 3, 3, 12), 2),
    ((11, 9, 2), (3, 3, 2, 2), 1),
]


def _rank_deficient(shape, filt, stride, dtype):
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, filt) / np.sqrt(np.prod(filt[:3]))
    w[:, :, 1, :] = 0.0
    op = ConvOperator.from_weights(w.astype(dtype), input_shape=shape, stride=stride, padding=1)
    return op, rng


@pytest.mark.parametrize(("shape", "filt", "stride"), CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_output_side_pinv_at_the_precision_of_the_data(shape, filt, stride, dtype, noise):
    op, rng = _rank_deficient(shape, filt, stride, dtype)
    a = op.to_dense(np.float64)
    assert np.linalg.matrix_rank(a) < min(a.shape)
    y = op.apply(rng.random(shape).astype(dtype))
    y = (y + noise * rng.standard_normal(y.shape)).astype(dtype)
    reference = np.linalg.pinv(a) @ y.ravel().astype(np.float64)
    solver = make_pinv_solver(op, rtol=1e-10)
    assert isinstance(solver, PseudoInverseSolver)
    x, report = solver.solve(y, 3000)
    assert report.converged, report.message
    error = np.linalg.norm(x.ravel() - reference) / np.linalg.norm(reference)
    singular = np.linalg.svd(a, compute_uv=False)
    kappa = singular[0] / singular[singular > 1e-10 * singular[0]][-1]
    if dtype == np.float32:
        assert error <= 10 * kappa * np.finfo(np.float32).eps
    else:
        assert "precision" not in report.message
        assert error <= 1e-7


@pytest.mark.parametrize(("shape", "filt", "stride"), CASES[:2])
def test_float32_outside_the_range_stops_sooner_than_rtol_alone(shape, filt, stride):
    op, rng = _rank_deficient(shape, filt, stride, np.float32)
    y = op.apply(rng.random(shape).astype(np.float32))
    at_precision = make_pinv_solver(op, rtol=1e-10).solve(y, 3000)[1]
    chasing = make_pinv_solver(op, rtol=1e-10, dtype=np.float64).solve(y, 3000)[1]
    assert at_precision.converged and "precision of the data (float32" in at_precision.message
    assert at_precision.iterations < chasing.iterations
