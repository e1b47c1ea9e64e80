"""The first (cold) per-frequency solve of a mixing layer, which factorises and solves in one
pass, against the later (warm) solves, by the factors kept or by the M(ω)⁺ made on the
second solve, and against dense references:
numpy.linalg.pinv, the Tikhonov formula; float32 and float64, batches, pieces of one
frequency row, rank-deficient layers whose zeros the SVD solves. And the batched inverse
Cholesky factor against numpy's Cholesky."""

from __future__ import annotations

import numpy as np
import pytest

import deconv_gui.core.solvers.polyphase_factors as factors
import deconv_gui.core.solvers.polyphase_normal as normal
from deconv_gui.core import ConvOperator
from deconv_gui.core.solvers.batched_cholesky import inverse_cholesky
from deconv_gui.core.solvers.polyphase import polyphase_solve


def _op(weights, out_hw, stride):
    return ConvOperator.from_weights(
        weights,
        input_shape=(out_hw[0] * stride, out_hw[1] * stride, weights.shape[2]),
        stride=stride,
        padding=1,
        padding_mode="circular",
    )


def _reference(op, y, reg, cutoff):
    """``A⁺ y`` by numpy's pinv of the dense matrix, or the Tikhonov formula, per image."""
    dense = op.to_dense().astype(np.float64)
    flat = y.reshape(-1, dense.shape[0]).astype(np.float64).T
    if reg == 0:
        solved = np.linalg.pinv(dense, rcond=cutoff) @ flat
    else:
        solved = np.linalg.solve(dense.T @ dense + reg * np.eye(dense.shape[1]), dense.T @ flat)
    return solved.T.reshape(*y.shape[:-3], *op.geometry.input_shape)


_RNG = np.random.default_rng(25)
# (weights, stride): 3 -> 8 at stride 2 (wide 8 x 12 blocks) and stride 1 (tall 8 x 3),
# 3 -> 3 at stride 2; a box filter mixed at stride 1 (zero blocks at 2π/3: the SVD there)
_LAYERS = [
    (_RNG.random((3, 3, 3, 8)), 2),
    (_RNG.standard_normal((3, 3, 3, 8)), 1),
    (_RNG.standard_normal((3, 3, 3, 3)), 2),
    (np.ones((3, 3, 3, 3)) * _RNG.standard_normal((3, 3)), 1),
]


@pytest.mark.parametrize(("weights", "stride"), _LAYERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reg", [0.0, 0.02])
@pytest.mark.parametrize("keep", [True, False])
def test_the_cold_solve_equals_the_warm_solves_and_the_dense_reference(
    monkeypatch, weights, stride, dtype, reg, keep
):
    # cold: factorised and solved in one pass; then by the factors, or (keep) by M(ω)⁺
    # made on the second solve and kept for the third
    monkeypatch.setattr(normal, "_PIECE_BYTES", 1)  # a frequency row per piece
    if not keep:
        monkeypatch.setattr(factors, "_CACHE_ENTRY_LIMIT", 0)
    op = _op(weights.astype(dtype), (6, 6), stride)
    y = np.random.default_rng(3).standard_normal((2, *op.geometry.output_shape)).astype(dtype)
    factors.clear_factor_cache()
    solutions = [polyphase_solve(op, y, reg=reg, dtype=dtype) for _ in range(3)]
    precision = np.complex64 if dtype == np.float32 else np.complex128
    kept = factors.layer_factors(op, reg, solutions[0].cutoff, precision, None)
    assert isinstance(kept, factors.BlockFactors) and (kept.kept is not None) == keep
    assert (kept.normal is None) == keep
    reference = _reference(op, y, reg, solutions[0].cutoff)
    eps = np.finfo(dtype).eps
    scale = np.linalg.norm(reference)
    dense = op.to_dense().astype(np.float64)
    # float32 data is transformed (and M(ω)⁺ kept) in complex64: its rounding times κ(A)
    kappa = 1.0 if dtype == np.float64 else float(np.linalg.cond(dense))
    tolerance = 1e-11 if dtype == np.float64 else 50 * eps * kappa
    for solution in solutions:
        assert solution.image.dtype == dtype and solution.rank == solutions[0].rank
        assert np.linalg.norm(solution.image - reference) <= tolerance * scale
    if not keep:  # the same factors applied the same way
        assert np.linalg.norm(solutions[0].image - solutions[1].image) <= 10 * eps * scale


def test_a_cold_solve_with_svd_frequencies_solves_them_with_the_svd(monkeypatch):
    # the box filter's zero blocks take the SVD; the one-pass solve finds them only at the
    # end and solves them again there: the image is numpy's minimum-norm solution
    calls = []
    original = normal.batched_svd
    monkeypatch.setattr(normal, "batched_svd", lambda b, c: calls.append(len(b)) or original(b, c))
    weights, stride = _LAYERS[3]
    op = _op(weights, (6, 6), stride)
    y = np.random.default_rng(4).standard_normal(op.geometry.output_shape)
    factors.clear_factor_cache()
    solution = polyphase_solve(op, y)
    reference = _reference(op, y, 0.0, solution.cutoff)
    assert calls and solution.rank < min(op.shape)
    assert np.linalg.norm(solution.image - reference) <= 1e-12 * np.linalg.norm(reference)


def test_the_inverse_cholesky_factor_matches_numpy_and_flags_what_is_not_positive():
    rng = np.random.default_rng(8)
    a = rng.standard_normal((40, 6, 9)) + 1j * rng.standard_normal((40, 6, 9))
    gram = a @ np.conjugate(a).swapaxes(1, 2)
    gram[5] = gram[5] - 2 * np.linalg.eigvalsh(gram[5])[0] * np.eye(6)  # indefinite
    gram[7, 3, :] = gram[7, :, 3] = 0  # a zero pivot
    out = np.empty((40, 6, 6), complex)
    trace, ok = inverse_cholesky(np.ascontiguousarray(gram.transpose(1, 2, 0)), out)
    assert ok.tolist() == [i not in (5, 7) for i in range(40)]
    good = ok.nonzero()[0]
    expected = np.linalg.inv(np.linalg.cholesky(gram[good]))
    assert np.allclose(out[good], expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    inverse_trace = np.trace(np.linalg.inv(gram[good]), axis1=1, axis2=2).real
    assert np.allclose(trace[good], inverse_trace, rtol=1e-10)
