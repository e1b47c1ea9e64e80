"""The symbol preconditioner's border correction: same solution, fewer iterations."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator, pinv_reconstruction
from deconv_gui.core.solvers.pinv import PseudoInverseSolver
from deconv_gui.core.solvers.preconditioner import SymbolPreconditioner


def _layer(padding, mode: str = "zeros") -> tuple[ConvOperator, np.ndarray]:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3, 8, 16)) * np.sqrt(2 / 72)
    op = ConvOperator.from_weights(
        w, input_shape=(12, 12, 8), stride=2, padding=padding, padding_mode=mode
    )
    return op, op.apply(rng.random((12, 12, 8)))


def test_the_border_correction_saves_iterations_on_a_zero_padded_layer() -> None:
    op, y = _layer(1)
    pre = SymbolPreconditioner(op)
    assert pre.border is not None and pre.border.min() == pytest.approx(1.0)
    assert pre.border.max() > 1.0  # the first row and column read the padding
    counts = []
    for border in (pre.border, None):
        pre.border = border
        solver = PseudoInverseSolver(
            op.apply,
            op.apply_adjoint,
            preconditioner=pre,
            rtol=1e-6,
            operator_norm=pre.operator_norm,
        )
        _, report = solver.solve(y, 300)
        assert report.converged
        counts.append(report.iterations)
    assert counts[0] < 0.9 * counts[1]


@pytest.mark.parametrize(("padding", "mode"), [(1, "circular"), (1, "reflect"), (0, "zeros")])
def test_no_correction_where_every_tap_reads_the_image(padding: int, mode: str) -> None:
    op, _ = _layer(padding, mode)
    assert SymbolPreconditioner(op).border is None


@pytest.mark.parametrize("padding", [1, ((0, 1), (2, 0)), "same"])
def test_the_corrected_solve_is_numpys_pinv(padding: object) -> None:
    rng = np.random.default_rng(1)
    op = ConvOperator.from_weights(
        rng.standard_normal((3, 3, 2, 3)), input_shape=(9, 8, 2), stride=2, padding=padding
    )
    y = rng.standard_normal(op.geometry.output_shape)
    got = pinv_reconstruction(y, op, rtol=1e-12, max_iter=3000, method="iterative").image
    np.testing.assert_allclose(got.ravel(), np.linalg.pinv(op.to_dense()) @ y.ravel(), atol=1e-8)
