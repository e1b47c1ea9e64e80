"""The first (cold) per-frequency solve of a mixing layer, which factorises and solves in one
pass, against the later (warm) solves, by the factors kept or by the M(ω)⁺ made on the
second solve, and against dense references:
numpy.linalg.pinv, the Tikhonov formula; float32 and float64, batches, pieces of one
frequency row, rank-deficient layers whose zeros the SVD solves. And the batched inverse
Cholesky factor against numpy's Cholesky."""

from __future__ import annotations

import numpy as np
import pytest

import deconv_gui.core.solvers.polyphase as polyphase_module
import deconv_gui.core.solvers.polyphase_factors as factors
import deconv_gui.core.solvers.polyphase_normal as normal
import deconv_gui.core.solvers.polyphase_svd as polyphase_svd
from deconv_gui.core import ConvOperator
from deconv_gui.core.solvers.batched_cholesky import (
    cholesky,
    inverse_trace,
    inverse_trace_bound,
    solve_gram,
    solve_packed,
)
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
    monkeypatch.setattr(normal, "_SOLVE_BYTES", 1)
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
    original = polyphase_svd.batched_svd
    monkeypatch.setattr(
        polyphase_svd, "batched_svd", lambda b, c: calls.append(len(b)) or original(b, c)
    )
    weights, stride = _LAYERS[3]
    op = _op(weights, (6, 6), stride)
    y = np.random.default_rng(4).standard_normal(op.geometry.output_shape)
    factors.clear_factor_cache()
    solution = polyphase_solve(op, y)
    reference = _reference(op, y, 0.0, solution.cutoff)
    assert calls and solution.rank < min(op.shape)
    assert np.linalg.norm(solution.image - reference) <= 1e-12 * np.linalg.norm(reference)


def test_the_cholesky_factor_matches_numpy_and_flags_what_is_not_positive():
    rng = np.random.default_rng(8)
    a = rng.standard_normal((40, 6, 9)) + 1j * rng.standard_normal((40, 6, 9))
    gram = a @ np.conjugate(a).swapaxes(1, 2)
    gram[5] = gram[5] - 2 * np.linalg.eigvalsh(gram[5])[0] * np.eye(6)  # indefinite
    gram[7, 3, :] = gram[7, :, 3] = 0  # a zero pivot
    low, ok = cholesky(np.ascontiguousarray(gram.transpose(1, 2, 0)))
    assert ok.tolist() == [i not in (5, 7) for i in range(40)]
    good = ok.nonzero()[0]
    expected = np.linalg.cholesky(gram[good])
    diagonal = np.arange(6), np.arange(6)
    expected[:, diagonal[0], diagonal[1]] = 1 / expected[:, diagonal[0], diagonal[1]]
    got = low.transpose(2, 0, 1)[good]
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    exact = np.trace(np.linalg.inv(gram[good]), axis1=1, axis2=2).real
    assert np.allclose(inverse_trace(low)[good], exact, rtol=1e-10)
    rhs = rng.standard_normal((40, 6, 2)) + 1j * rng.standard_normal((40, 6, 2))
    solved = solve_gram(low, rhs)[good]
    assert np.allclose(solved, np.linalg.solve(gram[good], rhs[good]), rtol=1e-10, atol=0)


def test_the_bound_on_the_trace_of_the_inverse_is_above_it_and_exact_for_diagonals():
    rng = np.random.default_rng(9)
    a = rng.standard_normal((60, 8, 12)) + 1j * rng.standard_normal((60, 8, 12))
    a[:20, :, 4:] *= 1e-4  # nearly rank 4 in a third of them
    gram = a @ np.conjugate(a).swapaxes(1, 2)
    gram[-5:] = np.diag(rng.random(8) + 0.1)  # diagonal: the bound is tr(G⁻¹) itself
    low, ok = cholesky(np.ascontiguousarray(gram.transpose(1, 2, 0)))
    assert ok.all()
    exact = np.trace(np.linalg.inv(gram), axis1=1, axis2=2).real
    bound = inverse_trace_bound(low)
    assert (bound >= exact).all()
    assert np.allclose(bound[-5:], exact[-5:], rtol=1e-5)


@pytest.mark.parametrize("reg", [0.0, 1e-3, 10.0])
def test_a_bound_on_the_trace_decides_what_the_exact_trace_decides(reg):
    # complex64 solves (no refinement) prove frequencies safe by a bound on tr(G⁻¹), and
    # Tikhonov by one from tr(G_reg⁻¹) (G_reg factorised once), making tr(G⁻¹) only where
    # the bounds fail: the frequencies solved through G must be those of the rule
    rng = np.random.default_rng(10)
    m = rng.standard_normal((300, 8, 12)) + 1j * rng.standard_normal((300, 8, 12))
    m[:100, :, 6:] *= np.logspace(-1, -6, 100)[:, None, None]  # up to κ(M) ~ 1e6
    m[100:110, 3] = m[100:110, 2]  # rank deficient
    made = m, np.conjugate(m).swapaxes(1, 2)
    floor = 1e-5 * np.linalg.svd(m, compute_uv=False).max()
    kept = np.empty((300, 8, 8), complex)
    lower = np.empty((36, 300), complex)  # L packed
    exact = normal._factor_piece(made, reg, floor, kept, True)
    bounded = normal._factor_piece(made, reg, floor, lower, False)
    # the rule: G = M M^* positive definite, ‖G‖_F tr(G⁻¹) ≤ 1e8, 1 / tr(G⁻¹) > (1.001 floor)²
    gram = m @ made[1]
    eigenvalues = np.linalg.eigvalsh(gram)
    positive = eigenvalues[:, 0] > 1e-12 * eigenvalues[:, -1]
    trace = np.where(positive, (1 / np.where(positive[:, None], eigenvalues, 1)).sum(axis=1), 1)
    frobenius = np.linalg.norm(gram, axis=(1, 2))
    rule = positive & (frobenius * trace <= 1e8) & (1 / trace > (1.001 * floor) ** 2)
    assert 0 < rule.sum() < 300
    assert (exact["safe"] == rule).all() and (bounded["safe"] == rule).all()
    assert not bounded["needed"].any()
    safe = rule
    gram = gram[safe] + reg * np.eye(8)
    rhs = rng.standard_normal((int(safe.sum()), 8, 1)) + 0j
    by_lower = solve_packed(lower[:, safe], rhs)
    by_inverse = np.conjugate(kept[safe]).swapaxes(1, 2) @ (kept[safe] @ rhs)
    expected = np.linalg.solve(gram, rhs)
    assert np.allclose(by_lower, expected, rtol=1e-6, atol=0)
    assert np.allclose(by_inverse, expected, rtol=1e-6, atol=0)


def test_the_newton_step_is_taken_where_the_residual_shows_the_squared_condition(monkeypatch):
    # wide 8 x 12 blocks of a random filter: x₀ through G = M M^* is already as exact as A
    # resolves (its residual at the rounding of A x), so the step is skipped; two nearly
    # equal outputs (κ(M) ~ 1e3, squared by G): the residual of x₀ is far above that
    # rounding, the step is taken and brings x to the dense pseudo-inverse's accuracy
    rng = np.random.default_rng(7)
    well = rng.random((3, 3, 3, 8))
    near = well.copy()
    near[..., 7] = near[..., 6] + 1e-3 * rng.standard_normal((3, 3, 3))
    calls: list[int] = []
    solve = factors.BlockFactors.solve_outputs
    monkeypatch.setattr(
        factors.BlockFactors, "solve_outputs", lambda self, s: calls.append(1) or solve(self, s)
    )
    errors = {}
    for name, weights, solves in (("well", well, 1), ("near", near, 2), ("unrefined", near, 1)):
        if name == "unrefined":  # what the step removes: x₀ as it came through G
            monkeypatch.setattr(polyphase_module, "_within_rounding", lambda *a: True)
        factors.clear_factor_cache()
        calls.clear()
        op = _op(weights, (8, 8), 2)
        y = op.apply(rng.standard_normal((2, *op.geometry.input_shape)))
        solution = polyphase_solve(op, y)
        reference = _reference(op, y, 0.0, solution.cutoff)
        errors[name] = np.linalg.norm(solution.image - reference) / np.linalg.norm(reference)
        assert len(calls) == solves, name
    assert errors["well"] <= 1e-13 and errors["near"] <= 1e-11
    assert errors["unrefined"] > 10 * errors["near"]
