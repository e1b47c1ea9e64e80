"""The transposed layer's pseudo-inverse, preconditioned by its conv's symbol: CG on the
normal equations on the small map must give exactly ``numpy.linalg.pinv`` of the dense
operator (it has full column rank), with and without Tikhonov."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core.solvers import make_pinv_solver
from deconv_gui.core.transposed import ConvTransposeOperator

CASES = [
    # small map, weights (k_h, k_w, C_out/groups, C_in), stride, padding, groups
    ((5, 6, 3), (3, 3, 2, 3), 2, 1, 1),
    ((4, 5, 4), (3, 2, 2, 4), (2, 3), 0, 2),
    ((6, 6, 2), (4, 4, 3, 2), 2, 1, 1),
]


@pytest.mark.parametrize(("shape", "filt", "stride", "padding", "groups"), CASES)
@pytest.mark.parametrize("reg", [0.0, 1e-2])
def test_preconditioned_transposed_pinv_is_numpys(shape, filt, stride, padding, groups, reg):
    rng = np.random.default_rng(0)
    op = ConvTransposeOperator.from_weights(
        rng.standard_normal(filt), input_shape=shape, stride=stride, padding=padding, groups=groups
    )
    a = op.to_dense(np.float64)
    assert np.linalg.matrix_rank(a) == a.shape[1]  # an upsampling layer: full column rank
    y = rng.standard_normal(a.shape[0]).reshape(op.apply(np.zeros(shape)).shape)
    reference = np.linalg.solve(a.T @ a + reg * np.eye(a.shape[1]), a.T @ y.ravel())
    if reg == 0:
        reference = np.linalg.pinv(a) @ y.ravel()
    x, report = make_pinv_solver(op, reg=reg, rtol=1e-12).solve(y, 2000)
    assert report.method == "pcg-normal" and report.converged, report.message
    error = np.linalg.norm(x.ravel() - reference) / np.linalg.norm(reference)
    assert error <= 1e-8
    # the plain path (no preconditioner) agrees
    plain, _ = make_pinv_solver(op, reg=reg, rtol=1e-12, preconditioned=False).solve(y, 2000)
    np.testing.assert_allclose(plain.ravel(), reference, atol=1e-7 * np.abs(reference).max())
