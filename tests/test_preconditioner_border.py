"""The symbol preconditioner's border correction: same solution, fewer iterations."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator, pinv_reconstruction
from deconv_gui.core.solvers import border
from deconv_gui.core.solvers.border import border_correction
from deconv_gui.core.solvers.pinv import PseudoInverseSolver
from deconv_gui.core.solvers.preconditioner import SymbolPreconditioner


def _layer(padding, mode: str = "zeros") -> tuple[ConvOperator, np.ndarray]:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3, 8, 16)) * np.sqrt(2 / 72)
    op = ConvOperator.from_weights(
        w, input_shape=(12, 12, 8), stride=2, padding=padding, padding_mode=mode
    )
    return op, op.apply(rng.random((12, 12, 8)))


def _iterations(op: ConvOperator, y: np.ndarray, pre: SymbolPreconditioner) -> int:
    solver = PseudoInverseSolver(
        op.apply, op.apply_adjoint, preconditioner=pre, rtol=1e-6, operator_norm=pre.operator_norm
    )
    _, report = solver.solve(y, 300)
    assert report.converged
    return report.iterations


def test_the_border_correction_saves_iterations_on_a_zero_padded_layer() -> None:
    op, y = _layer(1)
    pre = SymbolPreconditioner(op)
    assert pre.border is not None and pre.border.matrices
    # the first row, the first column and their corner read the padding
    assert len(pre.border.masks) == 3
    assert sum(int(m.sum()) for m in pre.border.masks) == 6 + 6 - 1
    counts = []
    for correction in (pre.border, None):
        pre.border = correction
        counts.append(_iterations(op, y, pre))
    assert counts[0] < 0.9 * counts[1]


@pytest.mark.parametrize("roots", [True, False])
def test_seen_through_the_correction_every_diagonal_block_is_the_interiors(
    monkeypatch, roots
) -> None:
    # Sᵀ G_p S = G: the Gram matrix of the taps an output reads, against a literal sum;
    # by square roots (cheap next to a pair) or Cholesky factors (many channels)
    monkeypatch.setattr(border, "_EIGH_WORK", 0 if roots else 1e9)
    op, _ = _layer(1)
    w = op.weights
    correction = border_correction(op)
    # Cholesky's L_p^(−T) Lᵀ is upper triangular, the square roots' product is not
    triangular = np.allclose(np.tril(correction.factors[0], -1), 0.0)
    assert triangular != roots
    interior = sum(w[a, b].T @ w[a, b] for a in range(3) for b in range(3))
    for mask, factor in zip(correction.masks, correction.factors, strict=True):
        p, q = np.argwhere(mask)[0]
        rows = [a for a in range(3) if 0 <= 2 * p - 1 + a < 12]
        cols = [b for b in range(3) if 0 <= 2 * q - 1 + b < 12]
        gram = sum(w[a, b].T @ w[a, b] for a in rows for b in cols)
        np.testing.assert_allclose(factor.T @ gram @ factor, interior, atol=1e-10)


def test_more_outputs_than_the_border_taps_carry_take_scalar_factors() -> None:
    # 1 input channel, 16 outputs: a corner output's 4 taps carry 4 values, its Gram
    # matrix is singular; the correction is each channel's share of its filter energy
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 3, 1, 16))
    op = ConvOperator.from_weights(w, input_shape=(10, 10, 1), stride=2, padding=1)
    correction = border_correction(op)
    assert not correction.matrices
    corner = next(f for m, f in zip(correction.masks, correction.factors, strict=True) if m[0, 0])
    share = np.square(w[1:, 1:]).sum(axis=(0, 1, 2)) / np.square(w).sum(axis=(0, 1, 2))
    np.testing.assert_allclose(corner, 1 / np.sqrt(share))


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
