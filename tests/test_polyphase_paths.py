"""The per-frequency solve's paths against dense references: every periodic stride, groups,
dilation and channel count in float64 and float32, the factor cache, cancel, extreme scales,
and which factorisation each kind of layer takes."""

from __future__ import annotations

import numpy as np
import pytest
from test_polyphase import _periodic_op

from deconv_gui.core import ConvOperator
from deconv_gui.core.solvers.polyphase import polyphase_solve

# every periodic stride, one and several output channels, groups and dilation; the one-
# channel factorisation also a frequency row at a time (as at 1 MP, where it works through
# the rows in pieces)
_GRID = [
    (stride, groups, dilation, c_out)
    for stride in ((1, 1), (2, 2), (3, 3), (2, 3))
    for groups, c_out in ((1, 1), (1, 3), (3, 3), (3, 6))
    for dilation in ((1, 1), (2, 1))
]


@pytest.mark.parametrize(("stride", "groups", "dilation", "c_out"), _GRID)
@pytest.mark.parametrize("reg", [0.0, 0.05])
def test_every_periodic_layer_matches_the_dense_pseudo_inverse(
    monkeypatch, stride, groups, dilation, c_out, reg
):
    import deconv_gui.core.solvers.polyphase as polyphase
    import deconv_gui.core.solvers.polyphase_factors as factors
    import deconv_gui.core.solvers.polyphase_normal as normal
    import deconv_gui.core.solvers.polyphase_spectra as spectra

    # one frequency row at a time (at 1 MP a few dozen), every way
    monkeypatch.setattr(spectra, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(normal, "_PIECE_BYTES", 1)
    monkeypatch.setattr(normal, "_SOLVE_BYTES", 1)
    monkeypatch.setattr(polyphase, "_CHUNK_BYTES", 1)
    factors.clear_factor_cache()
    rng = np.random.default_rng(stride[0] * 31 + groups * 7 + dilation[0] * 3 + c_out)
    op = _periodic_op(
        rng,
        out_hw=(5, 4),
        stride=stride,
        kernel=(3, 3),
        dilation=dilation,
        c_in=3,
        c_out=c_out,
        groups=groups,
        flip=False,
    )
    dense = op.to_dense().astype(np.float64)
    y = rng.standard_normal(op.geometry.output_shape)
    solution = polyphase_solve(op, y, reg=reg)
    if reg == 0:
        reference = np.linalg.pinv(dense, rcond=solution.cutoff) @ y.ravel()
    else:
        normal = dense.T @ dense + reg * np.eye(dense.shape[1])
        reference = np.linalg.solve(normal, dense.T @ y.ravel())
    scale = np.linalg.norm(reference)
    assert solution.image.dtype == np.float64
    assert np.linalg.norm(solution.image.ravel() - reference) <= 1e-12 * scale
    # float32 data: transformed in complex64, to float32 rounding (the filters are
    # well conditioned here: ‖A⁺‖ ‖A‖ stays below a few hundred)
    single = polyphase_solve(op, y.astype(np.float32), reg=reg, dtype=np.float32)
    assert single.image.dtype == np.float32
    kappa = np.linalg.cond(dense) if reg == 0 and single.rank == min(dense.shape) else 1e3
    error = np.linalg.norm(single.image.ravel() - reference) / scale
    assert error <= 4 * np.finfo(np.float32).eps * max(kappa, 1.0)


def test_the_factor_cache_tells_weights_reg_and_precision_apart():
    import deconv_gui.core.solvers.polyphase_factors as factors

    factors.clear_factor_cache()
    rng = np.random.default_rng(21)
    shape = dict(input_shape=(8, 6, 2), stride=2, padding=1, padding_mode="circular")
    ops = [ConvOperator.from_weights(rng.standard_normal((3, 3, 2, 2)), **shape) for _ in "ab"]
    y = rng.standard_normal(ops[0].geometry.output_shape)
    for _ in range(2):  # the second round is served from the cache
        for op in ops:
            dense = op.to_dense()
            for reg in (0.0, 0.3):
                normal = dense.T @ dense + reg * np.eye(dense.shape[1])
                reference = np.linalg.lstsq(normal, dense.T @ y.ravel(), rcond=None)[0]
                for data in (y, y.astype(np.float32)):
                    x = polyphase_solve(op, data, reg=reg).image
                    assert x.dtype == data.dtype
                    tol = 1e-10 if data.dtype == np.float64 else 1e-5
                    assert np.allclose(x.ravel(), reference, atol=tol * np.abs(reference).max())
    assert len(factors._FACTORS) == factors.FACTOR_CACHE_SIZE


def test_a_cancelled_factorisation_raises_and_leaves_nothing_behind(monkeypatch):
    import deconv_gui.core.solvers.polyphase_factors as factors
    import deconv_gui.core.solvers.polyphase_normal as normal
    import deconv_gui.core.solvers.polyphase_rows as rows
    from deconv_gui.core.solvers import SolveCancelled

    monkeypatch.setattr(normal, "_PIECE_BYTES", 1)
    monkeypatch.setattr(normal, "_SOLVE_BYTES", 1)
    monkeypatch.setattr(rows, "_CHUNK_BYTES", 1)
    factors.clear_factor_cache()
    rng = np.random.default_rng(4)
    for c_out in (1, 2):  # the closed form of one-row blocks, the normal equations of others
        op = ConvOperator.from_weights(
            rng.standard_normal((3, 3, 2, c_out)),
            input_shape=(12, 12, 2),
            stride=2,
            padding=1,
            padding_mode="circular",
        )
        y = rng.standard_normal(op.geometry.output_shape)
        calls = []
        with pytest.raises(SolveCancelled):
            polyphase_solve(op, y, cancel=lambda calls=calls: calls.append(1) or len(calls) > 1)
        assert len(factors._FACTORS) == 0
        reference = np.linalg.pinv(op.to_dense()) @ y.ravel()
        assert np.allclose(polyphase_solve(op, y).image.ravel(), reference, atol=1e-10)
        factors.clear_factor_cache()


def test_pinv_reconstruction_keeps_float32_data_in_float32_and_exact():
    from deconv_gui.core import pinv_reconstruction

    rng = np.random.default_rng(13)
    for stride in (1, 2, 3):
        w = rng.random((3, 3, 3)).astype(np.float32)
        op = ConvOperator.from_weights(
            w,
            input_shape=(12 * stride, 10 * stride, 3),
            stride=stride,
            padding=1,
            padding_mode="circular",
        )
        y = op.apply(rng.random(op.geometry.input_shape).astype(np.float32)) + np.float32(0.25)
        solved = pinv_reconstruction(y, op, 0.25, method="fourier")  # small: auto is dense
        assert solved.report.method == "fourier" and solved.image.dtype == np.float32
        reference = np.linalg.pinv(op.to_dense(np.float64)) @ (y - 0.25).astype(np.float64).ravel()
        error = np.linalg.norm(solved.image.ravel() - reference) / np.linalg.norm(reference)
        kappa = np.linalg.cond(op.to_dense(np.float64))
        assert error <= 20 * np.finfo(np.float32).eps * kappa
        assert solved.report.relative_residual < 1e-5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_scales_of_data_and_weights_are_solved_to_rounding(dtype):
    from deconv_gui.core import pinv_reconstruction

    rng = np.random.default_rng(17)
    w = rng.random((3, 3, 2)) + 0.5
    x = rng.random((12, 10, 2))
    base = ConvOperator.from_weights(
        w, input_shape=x.shape, stride=2, padding=1, padding_mode="circular"
    )
    reference = np.linalg.pinv(base.to_dense()) @ base.apply(x).ravel()
    for w_scale in (1e-25, 1e-12, 1.0, 1e12, 1e25):
        for y_scale in (1e-30, 1e-12, 1.0, 1e12, 1e30):
            if not 1e-30 < y_scale * w_scale < 1e30 and dtype == np.float32:
                continue  # y itself would not be a normal float32
            op = ConvOperator.from_weights(
                (w * w_scale).astype(dtype),
                input_shape=x.shape,
                stride=2,
                padding=1,
                padding_mode="circular",
            )
            y = (base.apply(x) * (y_scale * w_scale)).astype(dtype)
            expected = reference * y_scale
            image = pinv_reconstruction(y, op, method="fourier").image
            assert image.dtype == dtype
            tol = 1e-5 if dtype == np.float32 else 1e-11
            error = np.linalg.norm(image.ravel() - expected) / np.linalg.norm(expected)
            assert error < tol, (w_scale, y_scale, error)


def test_pinv_reconstruction_hands_its_cancel_to_the_factorisation(monkeypatch):
    import deconv_gui.core.solvers.polyphase_factors as factors
    import deconv_gui.core.solvers.polyphase_normal as normal
    from deconv_gui.core import pinv_reconstruction
    from deconv_gui.core.solvers import SolveCancelled

    monkeypatch.setattr(normal, "_PIECE_BYTES", 1)
    monkeypatch.setattr(normal, "_SOLVE_BYTES", 1)
    factors.clear_factor_cache()
    rng = np.random.default_rng(8)
    op = ConvOperator.from_weights(
        rng.standard_normal((3, 3, 2, 2)),
        input_shape=(12, 12, 2),
        stride=2,
        padding=1,
        padding_mode="circular",
    )
    asked = []  # the first check (before the solve) passes, a later one cancels
    with pytest.raises(SolveCancelled):
        pinv_reconstruction(
            op.apply(rng.random((12, 12, 2))),
            op,
            method="fourier",
            cancel=lambda: asked.append(1) or len(asked) > 1,
        )
    assert len(asked) > 1 and len(factors._FACTORS) == 0


def test_rows_with_disjoint_supports_are_inverted_in_closed_form():
    # a depthwise layer, and a groups=1 filter whose zeros make each input channel feed one
    # output channel (a channel permutation): the closed form of the rows; two outputs per
    # group mix theirs: the normal equations
    from deconv_gui.core.solvers.polyphase_factors import (
        BlockFactors,
        RowFactors,
        clear_factor_cache,
        layer_factors,
    )

    rng = np.random.default_rng(23)
    permuted = np.zeros((3, 3, 3, 3))
    for c, o in enumerate((2, 0, 1)):
        permuted[:, :, c, o] = rng.standard_normal((3, 3))
    cases = [
        (rng.standard_normal((3, 3, 1, 3)), 3, RowFactors),
        (permuted, 1, RowFactors),
        (rng.standard_normal((3, 3, 1, 6)), 3, BlockFactors),
    ]
    for weights, groups, kind in cases:
        clear_factor_cache()
        op = ConvOperator.from_weights(
            weights,
            input_shape=(10, 8, 3),
            stride=2,
            padding=1,
            padding_mode="circular",
            groups=groups,
        )
        assert isinstance(layer_factors(op, 0.0, 1e-12, np.complex128, None), kind)
        y = rng.standard_normal(op.geometry.output_shape)
        for reg in (0.0, 0.2):
            dense = op.to_dense()
            normal = dense.T @ dense + reg * np.eye(dense.shape[1])
            reference = np.linalg.lstsq(normal, dense.T @ y.ravel(), rcond=None)[0]
            x = polyphase_solve(op, y, reg=reg).image.ravel()
            assert np.allclose(x, reference, atol=1e-11 * np.abs(reference).max())
