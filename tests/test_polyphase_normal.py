"""The normal-equations factorisation of layers whose output channels mix the same inputs:
``A⁺`` and each ``M(ω)⁺`` against numpy.linalg.pinv of dense matrices, Tikhonov against
its formula, rank-deficient and tall blocks, and the SVD only where it is needed."""

from __future__ import annotations

import numpy as np
import pytest

import deconv_gui.core.solvers.polyphase_svd as polyphase_svd
from deconv_gui.core import ConvOperator, make_filter
from deconv_gui.core.solvers.polyphase import polyphase_blocks, polyphase_solve
from deconv_gui.core.solvers.polyphase_factors import (
    BlockFactors,
    clear_factor_cache,
    layer_factors,
)


def _op(weights, *, out_hw=(4, 3), stride=1, dilation=1, groups=1):
    c_in = weights.shape[2] * groups
    stride = (stride, stride) if np.isscalar(stride) else stride
    return ConvOperator.from_weights(
        weights,
        input_shape=(out_hw[0] * stride[0], out_hw[1] * stride[1], c_in),
        stride=stride,
        padding=(dilation * (weights.shape[0] - 1) // 2, dilation * (weights.shape[1] - 1) // 2),
        dilation=dilation,
        padding_mode="circular",
        groups=groups,
    )


def _dense_pinv(op, solution_cutoff):
    return np.linalg.pinv(op.to_dense().astype(np.float64), rcond=solution_cutoff)


def _assert_tikhonov(op, reg):
    """The solves against ``(AᵀA + reg I)⁻¹Aᵀ``, to the rounding of that formula."""
    dense = op.to_dense().astype(np.float64)
    normal_matrix = dense.T @ dense + reg * np.eye(dense.shape[1])
    reference = np.linalg.solve(normal_matrix, dense.T)
    ours, _ = _solved_pinv(op, reg=reg)
    tol = 1e-12 + 10 * np.finfo(float).eps * np.linalg.cond(normal_matrix)
    assert np.linalg.norm(ours - reference) <= tol * np.linalg.norm(reference)


def _solved_pinv(op, reg=0.0, rtol=0.0):
    """``A⁺`` column by column: the solve of every unit output."""
    n_out = int(np.prod(op.geometry.output_shape))
    units = np.eye(n_out).reshape(n_out, *op.geometry.output_shape)
    solution = polyphase_solve(op, units, reg=reg, rtol=rtol)
    return solution.image.reshape(n_out, -1).T, solution


@pytest.fixture
def svd_calls(monkeypatch):
    """The number of blocks each call of the fallback SVD got."""
    calls: list[int] = []
    original = polyphase_svd.batched_svd

    def counting(blocks, cancel):
        calls.append(len(blocks))
        return original(blocks, cancel)

    monkeypatch.setattr(polyphase_svd, "batched_svd", counting)
    clear_factor_cache()
    return calls


_RNG = np.random.default_rng(41)
# (weights, stride, dilation, groups): mixing layers, wide (C_out ≤ s² C_in) and tall
_LAYERS = [
    (_RNG.standard_normal((3, 3, 3, 3)), 1, 1, 1),
    (_RNG.standard_normal((3, 3, 3, 3)), 2, 1, 1),
    (_RNG.standard_normal((3, 3, 3, 8)), 1, 1, 1),  # tall: 8 > 3
    (_RNG.standard_normal((3, 3, 3, 8)), 2, 1, 1),
    (_RNG.standard_normal((3, 3, 3, 3)), 1, 2, 1),
    (_RNG.standard_normal((3, 3, 1, 6)), 2, 1, 1),  # tall: 6 > 4
    (_RNG.standard_normal((1, 1, 2, 5)), 1, 1, 1),  # tall 5 × 2, no spatial extent
    (_RNG.standard_normal((3, 3, 2, 4)), (2, 1), 1, 2),  # two groups of two outputs
    (_RNG.standard_normal((3, 3, 2, 3)), 3, 1, 1),
    (_RNG.standard_normal((5, 3, 3, 2)), 1, 2, 1),
]


@pytest.mark.parametrize(("weights", "stride", "dilation", "groups"), _LAYERS)
def test_pinv_and_tikhonov_of_mixing_layers_match_the_dense_matrix(
    svd_calls, weights, stride, dilation, groups
):
    op = _op(weights, out_hw=(5, 4), stride=stride, dilation=dilation, groups=groups)
    assert isinstance(layer_factors(op, 0.0, 1e-15, np.complex128, None), BlockFactors)
    ours, solution = _solved_pinv(op)
    reference = _dense_pinv(op, solution.cutoff)
    assert np.linalg.norm(ours - reference) <= 1e-12 * np.linalg.norm(reference)
    dense = op.to_dense()
    assert solution.rank == np.linalg.matrix_rank(
        dense, tol=solution.cutoff * np.linalg.norm(dense, 2)
    )
    for reg in (1e-3, 0.5):
        _assert_tikhonov(op, reg)
    assert svd_calls == []  # random weights: every block is regular and well conditioned


def test_each_frequency_block_is_inverted_like_numpy():
    rng = np.random.default_rng(7)
    for weights, stride in (
        (rng.standard_normal((3, 3, 3, 3)), 2),
        (rng.standard_normal((3, 3, 2, 6)), 1),
    ):
        op = _op(weights, out_hw=(5, 4), stride=stride)
        clear_factor_cache()
        factors = layer_factors(op, 0.0, 1e-15, np.complex128, None)
        c_out, h_out, _, n_w = factors.rows.shape[:4]
        ours = factors.rows.transpose(1, 3, 2, 4, 5, 0).reshape(h_out, n_w, -1, c_out)
        reference = np.linalg.pinv(polyphase_blocks(op))
        assert np.allclose(ours, reference, atol=1e-13 * np.abs(reference).max())


@pytest.mark.parametrize("stride", [1, 2])
def test_rank_deficient_frequencies_fall_back_to_the_svd_alone(svd_calls, stride):
    # a box filter has exact zeros at ω = ±2π/3: there the mixing blocks vanish, elsewhere
    # they are regular; the SVD sees only those frequencies (none at stride 2, where the
    # phases fill the zeros in)
    mixing = np.random.default_rng(3).standard_normal((3, 3))
    weights = np.ones((3, 3, 3, 3)) * mixing
    op = _op(weights, out_hw=(6, 6), stride=stride)
    ours, solution = _solved_pinv(op)
    reference = _dense_pinv(op, solution.cutoff)
    dense = op.to_dense()
    assert np.linalg.norm(ours - reference) <= 1e-12 * np.linalg.norm(reference)
    assert solution.rank == np.linalg.matrix_rank(
        dense, tol=solution.cutoff * np.linalg.norm(dense, 2)
    )
    h, w = np.meshgrid(np.arange(6), np.arange(6 // 2 + 1), indexing="ij")
    zeros = np.isin(h, (2, 4)) | (w == 2)  # 1 + 2 cos(2π k / 6) = 0
    if stride == 1:
        assert solution.rank < dense.shape[1]
    assert sum(svd_calls) == (zeros.sum() if stride == 1 else 0)


def test_linearly_dependent_outputs_are_solved_on_their_span(svd_calls):
    # the Gaussian preset's output channels are one filter rotated: rank 1 at every ω;
    # a layer whose third output repeats the first; and 8 outputs, each a combination of
    # three filters: the blocks of Vᵀ M (r rows), no SVD
    rng = np.random.default_rng(5)
    repeated = rng.standard_normal((3, 3, 3, 3))
    repeated[..., 2] = repeated[..., 0]
    combined = rng.standard_normal((3, 3, 3, 3)) @ rng.standard_normal((3, 8))
    cases = [
        (make_filter("gaussian", in_channels=3, out_channels=3), 1, 1),
        (make_filter("gaussian", in_channels=3, out_channels=8), 2, 1),
        (repeated, 2, 2),
        (combined, 2, 3),
    ]
    for weights, stride, rank in cases:
        op = _op(weights, out_hw=(4, 5), stride=stride)
        clear_factor_cache()
        factors = layer_factors(op, 0.0, 1e-15, np.complex128, None)
        assert factors.mixing is not None and factors.mixing.shape == (weights.shape[3], rank)
        ours, solution = _solved_pinv(op)
        reference = _dense_pinv(op, solution.cutoff)
        dense = op.to_dense()
        assert np.linalg.norm(ours - reference) <= 1e-12 * np.linalg.norm(reference)
        expected = np.linalg.matrix_rank(dense, tol=solution.cutoff * np.linalg.norm(dense, 2))
        assert solution.rank == expected < min(dense.shape)
        for reg in (1e-3, 0.5):
            _assert_tikhonov(op, reg)
    assert svd_calls == []


def test_nearly_dependent_outputs_keep_every_row(svd_calls):
    # a third output 1e-9 away from the first: its direction is far above the cut, so it
    # is kept (and its blocks, κ ~ 1e9, take the SVD)
    rng = np.random.default_rng(6)
    weights = rng.standard_normal((3, 3, 3, 3))
    weights[..., 2] = weights[..., 0] + 1e-9 * rng.standard_normal((3, 3, 3))
    op = _op(weights, out_hw=(4, 4), stride=2)
    assert layer_factors(op, 0.0, 1e-15, np.complex128, None).mixing is None
    ours, solution = _solved_pinv(op)
    reference = _dense_pinv(op, solution.cutoff)
    error = np.linalg.norm(ours - reference) / np.linalg.norm(reference)
    assert error <= 10 * np.finfo(float).eps * np.linalg.cond(op.to_dense())
    assert solution.rank == min(op.to_dense().shape) and svd_calls


def test_a_cut_at_any_singular_value_keeps_what_the_dense_pinv_keeps(monkeypatch):
    # rtol just above and below singular values of A: which frequencies fall back and
    # whether the exact σ_max must be found decide the cut, as numpy's does
    # a blur mixing the channels: its blocks' σ_min spread over decades
    rng = np.random.default_rng(9)
    blur = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0])[:, :, None, None] / 16
    weights = blur * rng.standard_normal((3, 3)) + 0.02 * rng.standard_normal((3, 3, 3, 3))
    op = _op(weights, out_hw=(8, 8), stride=1)
    dense = op.to_dense()
    values = np.linalg.svd(dense, compute_uv=False)
    # the smallest singular value of a few blocks: where a block's own σ_min is the cut,
    # it falls back, and the bounds on σ_max leave the cut open
    smallest = np.sort(np.linalg.svd(polyphase_blocks(op), compute_uv=False)[..., -1].ravel())
    largest_calls = []
    original = polyphase_svd._largest
    monkeypatch.setattr(
        polyphase_svd, "_largest", lambda *a: largest_calls.append(1) or original(*a)
    )
    for value in smallest[[0, 1, 3, 6]]:
        for factor in (1 - 1e-7, 1 + 1e-7):
            clear_factor_cache()
            rtol = value / values[0] * factor
            ours, solution = _solved_pinv(op, rtol=rtol)
            reference = np.linalg.pinv(dense, rcond=solution.cutoff)
            assert solution.rank == int((values > solution.cutoff * values[0]).sum())
            assert np.linalg.norm(ours - reference) <= 1e-11 * np.linalg.norm(reference)
    assert largest_calls  # some cut needed the exact σ_max


def test_ill_conditioned_blocks_are_as_exact_as_the_svd(svd_calls):
    # output channels nearly equal: κ(M(ω)) ~ 1e5 at every ω; κ(G) = 1e10 is past what
    # the normal equations solve, so the SVD takes them; at 1e3 the Newton step keeps the
    # normal equations to rounding
    rng = np.random.default_rng(11)
    base = rng.standard_normal((3, 3, 3, 3))
    for spread, via_svd in ((1e-5, True), (1e-3, False)):
        svd_calls.clear()
        clear_factor_cache()
        weights = base.copy()
        weights[..., 1] = base[..., 0] + spread * base[..., 1]
        op = _op(weights, out_hw=(4, 4), stride=2)
        ours, solution = _solved_pinv(op)
        reference = _dense_pinv(op, solution.cutoff)
        kappa = np.linalg.cond(op.to_dense())
        error = np.linalg.norm(ours - reference) / np.linalg.norm(reference)
        assert error <= 10 * np.finfo(float).eps * kappa
        assert bool(svd_calls) == via_svd
