"""When the pseudo-inverse's preconditioned CG hands over to CGLS, and that the answer
is still ``A⁺y`` (numpy.linalg.pinv of the dense matrix).

Preconditioned CG on ``A Aᵀ z = y`` cannot reach a ``y`` outside the range of ``A``: its
residual climbs or stalls from the first steps. The solver switches to CGLS after
:data:`~deconv_gui.core.solvers.pinv._STALE_STEPS` steps without a new smallest residual
(or a quarter of the steps run; it waited for a 20-step window before), or at once when
the search direction is in the null space of ``Aᵀ``. Counts of iterations, never timings.
"""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.reconstruct import make_pinv_solver
from deconv_gui.core.solvers import PseudoInverseSolver
from deconv_gui.core.solvers.pinv import _STALE_STEPS

RTOL = 1e-10


def _replicated_dilated():
    """2 → 2 channels, positive 2 × 3 taps, dilation 2, borders copied, 5 × 13: 126 × 130
    of rank 122. CG never got below ‖y‖ on it and ran 20 steps before CGLS (426 in all)."""
    rng = np.random.default_rng(0)
    weights = rng.random((2, 3, 2, 2))
    weights /= np.abs(weights).sum(axis=(0, 1, 2), keepdims=True)
    return ConvOperator.from_weights(
        weights, input_shape=(5, 13, 2), padding=(2, 0), dilation=2, padding_mode="replicate"
    )


def _box(shape, c_out, size, padding):
    """A box filter at stride 1 (zeros in its spectrum), the output channels multiples of
    one another (rank-deficient channel mixing)."""
    weights = np.ones((size, size, shape[2], c_out)) / (size * size * shape[2])
    weights *= np.arange(1, c_out + 1)
    return ConvOperator.from_weights(weights, input_shape=shape, padding=padding)


# (operator, then the iterations to A⁺y with the 20-step window and now, for a y outside
# the range and for one in it). The box cases with 2 channels out had switched by step 4
# already (the residual jumped tenfold). These layers are ill-conditioned (the box's
# spectral zeros, the copied borders): CG stalls even on a y in the range and CGLS
# finishes, no later now.
CASES = {
    "replicated-dilated": (_replicated_dilated, (426, 416), (470, 470)),
    "box 4x4, 3 -> 2 channels": (lambda: _box((12, 11, 3), 2, 4, 0), (158, 158), (167, 161)),
    "box 4x4, 3 -> 1 channel, padding 2": (
        lambda: _box((14, 13, 3), 1, 4, 2),
        (595, 585),
        (539, 539),
    ),
    "box 2x2, 2 -> 1 channel, padding 1": (
        lambda: _box((12, 12, 2), 1, 2, 1),
        (128, 128),
        (18, 18),
    ),
}


def _pinv(op):
    return np.linalg.pinv(op.to_dense(np.float64), rcond=1e-10)


@pytest.mark.parametrize("name", list(CASES))
def test_y_outside_the_range_switches_within_a_few_steps_to_the_pinv(name):
    make, (before, after), _ = CASES[name]
    op = make()
    y = np.random.default_rng(1).standard_normal(op.geometry.output_shape)
    solver = make_pinv_solver(op, rtol=RTOL)
    image, report = solver.solve(y, 5000)
    expected = _pinv(op) @ y.ravel()
    assert report.converged and report.method == "pcg+cgls", report.message
    assert report.relative_residual > 0.1  # y really is outside the range
    assert solver.switched_at is not None and solver.switched_at < _STALE_STEPS
    # the counts measured here, with slack for the rounding of other BLAS builds
    assert report.iterations <= after + 5, f"{report.iterations} (was {before})"
    error = np.linalg.norm(image.ravel() - expected) / np.linalg.norm(expected)
    assert error <= 1e-7


@pytest.mark.parametrize("name", list(CASES))
def test_y_in_the_range_gives_the_pinv_no_later(name):
    make, _, (before, after) = CASES[name]
    op = make()
    x = np.random.default_rng(2).standard_normal(op.geometry.input_shape)
    y = op.apply(x)
    solver = make_pinv_solver(op, rtol=RTOL)
    image, report = solver.solve(y, 5000)
    expected = _pinv(op) @ y.ravel()
    assert report.converged, report.message
    assert report.iterations <= after + 5, f"{report.iterations} (was {before})"
    error = np.linalg.norm(image.ravel() - expected) / np.linalg.norm(expected)
    assert error <= 1e-7


def test_a_direction_in_the_null_space_switches_at_once():
    """y orthogonal to the range of a rank-12 30 × 50 matrix: ``Aᵀy`` is rounding, so the
    first direction ``p = y`` has ``‖Aᵀp‖ ≈ 1e-16 ‖A‖ ‖p‖``; the answer is ``x = 0``."""
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((30, 12)) @ rng.standard_normal((12, 50))
    basis = np.linalg.svd(matrix, full_matrices=False)[0][:, :12]
    v = rng.standard_normal(30)
    y = v - basis @ (basis.T @ v)
    solver = PseudoInverseSolver(
        lambda u: matrix @ u,
        lambda u: matrix.T @ u,
        rtol=RTOL,
        operator_norm=float(np.linalg.norm(matrix, 2)),
    )
    image, report = solver.solve(y, 100)
    assert solver.switched_at == 0
    assert report.converged, report.message
    assert np.linalg.norm(image) <= 1e-12 * np.linalg.norm(y)
    np.testing.assert_allclose(image, np.linalg.pinv(matrix) @ y, atol=1e-12)


def test_a_well_conditioned_layer_never_leaves_preconditioned_cg():
    weights = np.random.default_rng(5).standard_normal((3, 3, 3, 2))
    op = ConvOperator.from_weights(weights, input_shape=(20, 19, 3), stride=2, padding=1)
    y = np.random.default_rng(1).standard_normal(op.geometry.output_shape)
    solver = make_pinv_solver(op, rtol=RTOL)
    image, report = solver.solve(y, 500)
    assert report.method == "pcg" and solver.switched_at is None and report.iterations <= 20
    expected = _pinv(op) @ y.ravel()
    np.testing.assert_allclose(image.ravel(), expected, atol=1e-8 * np.abs(expected).max())
