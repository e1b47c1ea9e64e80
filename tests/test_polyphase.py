"""The per-frequency (polyphase) pseudo-inverse of periodic layers against dense references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconv_gui.core import ConvGeometry, ConvOperator
from deconv_gui.core.solvers.polyphase import (
    is_periodic,
    polyphase_blocks,
    polyphase_singular_values,
    polyphase_solve,
)


def _periodic_op(rng, *, out_hw, stride, kernel, dilation, c_in, c_out, groups, flip):
    (sh, sw), (fh, fw), (dh, dw) = stride, kernel, dilation
    # total padding (f − 1) d per axis keeps the output at input / stride; split it unevenly
    # when it is odd by using the symmetric floor (the output grid still tiles the input)
    padding = (dh * (fh - 1) // 2, dw * (fw - 1) // 2)
    w = rng.standard_normal((fh, fw, c_in // groups, c_out))
    shape = (out_hw[0] * sh, out_hw[1] * sw, c_in)
    op = ConvOperator.from_weights(
        w,
        input_shape=shape,
        stride=stride,
        padding=padding,
        dilation=dilation,
        padding_mode="circular",
        groups=groups,
        flip=flip,
    )
    return op


@st.composite
def periodic_layers(draw):
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kernel = (draw(st.sampled_from([1, 3, 5])), draw(st.sampled_from([1, 3])))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    groups = draw(st.sampled_from([1, 2]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    out_hw = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    flip = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return dict(
        out_hw=out_hw,
        stride=stride,
        kernel=kernel,
        dilation=dilation,
        c_in=c_in,
        c_out=c_out,
        groups=groups,
        flip=flip,
        seed=seed,
    )


def _build(case):
    rng = np.random.default_rng(case["seed"])
    try:
        op = _periodic_op(rng, **{k: v for k, v in case.items() if k != "seed"})
    except ValueError:
        return None, rng  # e.g. circular padding wider than a tiny image
    return (op if is_periodic(op.geometry) else None), rng


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(periodic_layers())
def test_pinv_equals_numpy_pinv_of_the_dense_matrix(case):
    op, rng = _build(case)
    if op is None:
        return
    dense = op.to_dense().astype(np.float64)
    y = rng.standard_normal(op.geometry.output_shape)  # also outside the range of A
    solution = polyphase_solve(op, y)
    reference = np.linalg.pinv(dense, rcond=solution.cutoff) @ y.ravel()
    scale = max(np.linalg.norm(reference), 1.0)
    assert np.linalg.norm(solution.image.ravel() - reference) <= 1e-9 * scale
    assert solution.rank == np.linalg.matrix_rank(
        dense, tol=solution.cutoff * np.linalg.norm(dense, 2)
    )


@settings(max_examples=30, deadline=None)
@given(periodic_layers(), st.sampled_from([1e-3, 0.1, 2.0]))
def test_tikhonov_equals_the_normal_equations(case, reg):
    op, rng = _build(case)
    if op is None:
        return
    dense = op.to_dense().astype(np.float64)
    y = rng.standard_normal(op.geometry.output_shape)
    x = polyphase_solve(op, y, reg=reg).image
    reference = np.linalg.solve(dense.T @ dense + reg * np.eye(dense.shape[1]), dense.T @ y.ravel())
    assert np.allclose(x.ravel(), reference, rtol=1e-9, atol=1e-10 * np.abs(reference).max())


@settings(max_examples=30, deadline=None)
@given(periodic_layers())
def test_singular_values_are_those_of_the_dense_matrix(case):
    op, _ = _build(case)
    if op is None:
        return
    dense = op.to_dense().astype(np.float64)
    ours = polyphase_singular_values(op)
    reference = np.linalg.svd(dense, compute_uv=False)
    n = min(ours.size, reference.size)
    assert ours.size == min(dense.shape)
    assert np.allclose(ours[:n], reference[:n], atol=1e-10 * max(reference.max(), 1.0))


def test_rank_deficient_filter_keeps_only_what_the_data_can_see():
    # a box filter at stride 1 has exact zeros in its spectrum: both solvers drop them
    op = ConvOperator.from_weights(
        np.ones((3, 3, 1)), input_shape=(6, 6, 1), stride=1, padding=1, padding_mode="circular"
    )
    assert is_periodic(op.geometry)
    dense = op.to_dense()
    y = np.random.default_rng(3).standard_normal((6, 6, 1))
    solution = polyphase_solve(op, y)
    reference = np.linalg.pinv(dense, rcond=solution.cutoff) @ y.ravel()
    assert solution.rank == np.linalg.matrix_rank(dense) < 36
    assert np.allclose(solution.image.ravel(), reference, atol=1e-10)


@pytest.mark.parametrize("c_out", [1, 2])  # the one-row closed form, the normal equations
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batches_are_solved_image_by_image(monkeypatch, c_out, dtype):
    import deconv_gui.core.solvers.polyphase as polyphase
    import deconv_gui.core.solvers.polyphase_normal as normal
    import deconv_gui.core.solvers.polyphase_spectra as spectra

    monkeypatch.setattr(spectra, "_CHUNK_BYTES", 1)  # a frequency row at a time
    monkeypatch.setattr(normal, "_PIECE_BYTES", 1)
    monkeypatch.setattr(normal, "_SOLVE_BYTES", 1)
    monkeypatch.setattr(polyphase, "_CHUNK_BYTES", 1)
    rng = np.random.default_rng(5)
    op = _periodic_op(
        rng,
        out_hw=(3, 5),
        stride=(2, 1),
        kernel=(3, 3),
        dilation=(1, 1),
        c_in=3,
        c_out=c_out,
        groups=1,
        flip=False,
    )
    ys = rng.standard_normal((4, *op.geometry.output_shape)).astype(dtype)
    batch = polyphase_solve(op, ys).image
    assert batch.dtype == dtype and batch.shape == (4, *op.geometry.input_shape)
    for y, x in zip(ys, batch, strict=True):
        assert np.allclose(
            polyphase_solve(op, y).image, x, atol=1e-12 if dtype == np.float64 else 1e-6
        )


def test_blocks_reproduce_the_operator():
    # y = IDFT(M(ω) DFT(polyphase split of x)) for a random image
    rng = np.random.default_rng(7)
    op = _periodic_op(
        rng,
        out_hw=(4, 3),
        stride=(2, 3),
        kernel=(3, 3),
        dilation=(2, 1),
        c_in=2,
        c_out=3,
        groups=1,
        flip=True,
    )
    x = rng.standard_normal(op.geometry.input_shape)
    (sh, sw), (h_out, w_out, _) = op.geometry.stride, op.geometry.output_shape
    poly = x.reshape(h_out, sh, w_out, sw, 2).transpose(0, 2, 1, 3, 4).reshape(h_out, w_out, -1)
    spectrum = np.fft.rfft2(poly, axes=(0, 1))
    y = np.fft.irfft2(
        np.einsum("...ij,...j->...i", polyphase_blocks(op), spectrum), s=(h_out, w_out), axes=(0, 1)
    )
    assert np.allclose(y, op.apply(x), atol=1e-12)


@pytest.mark.parametrize(
    ("padding_mode", "shape"),
    [("zeros", (8, 8, 1)), ("reflect", (8, 8, 1)), ("circular", (9, 8, 1))],
)
def test_non_periodic_geometries_are_refused_by_name(padding_mode, shape):
    geometry = ConvGeometry(shape, (3, 3, 1), 2, 1, padding_mode=padding_mode)
    assert not is_periodic(geometry)
    op = ConvOperator(geometry, np.ones((3, 3, 1)))
    with pytest.raises(ValueError, match="op must be periodic"):
        polyphase_solve(op, np.zeros(geometry.output_shape))


def test_bad_reg_and_shape_are_named():
    op = ConvOperator.from_weights(
        np.ones((3, 3, 1)), input_shape=(6, 6, 1), stride=2, padding=1, padding_mode="circular"
    )
    with pytest.raises(ValueError, match="reg"):
        polyphase_solve(op, np.zeros((3, 3, 1)), reg=-1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        polyphase_solve(op, np.zeros((4, 3, 1)))


def test_pinv_reconstruction_uses_the_per_frequency_solve_for_periodic_layers():
    from deconv_gui.core import pinv_reconstruction

    rng = np.random.default_rng(11)
    w = rng.random((3, 3, 3))
    op = ConvOperator.from_weights(
        w, input_shape=(48, 40, 3), stride=2, padding=1, padding_mode="circular"
    )
    x = rng.random((48, 40, 3))
    y = op.apply(x) + 0.5
    auto = pinv_reconstruction(y, op, 0.5)
    assert auto.report.method == "fourier" and auto.report.converged
    iterative = pinv_reconstruction(y, op, 0.5, method="iterative", rtol=1e-12)
    assert np.allclose(auto.image, iterative.image, atol=1e-8)
    tikhonov = pinv_reconstruction(y, op, 0.5, reg=0.1)
    assert tikhonov.report.method == "fourier"
    dense_ref = polyphase_solve(op, y - 0.5, reg=0.1).image
    assert np.allclose(tikhonov.image, dense_ref, atol=1e-10)
    with pytest.raises(ValueError, match="op must be periodic"):
        zeros = ConvOperator.from_weights(w, input_shape=(48, 40, 3), stride=2, padding=1)
        pinv_reconstruction(zeros.apply(x), zeros, method="fourier")


@pytest.mark.parametrize(
    ("kernel", "pads", "stride"),
    [
        ((2, 2), ((0, 1), (1, 0)), (1, 1)),
        ((4, 3), ((1, 2), (2, 0)), (2, 1)),
        ((3, 3), ((2, 0), (0, 2)), (2, 2)),
    ],
)
def test_asymmetric_circular_padding_is_exact_too(kernel, pads, stride):
    rng = np.random.default_rng(sum(kernel))
    w = rng.standard_normal((*kernel, 2, 2))
    op = ConvOperator.from_weights(
        w,
        input_shape=(6 * stride[0], 4 * stride[1], 2),
        stride=stride,
        padding=pads,
        padding_mode="circular",
    )
    assert is_periodic(op.geometry) and op.geometry.pads == pads
    y = rng.standard_normal(op.geometry.output_shape)
    solution = polyphase_solve(op, y)
    reference = np.linalg.pinv(op.to_dense(), rcond=solution.cutoff) @ y.ravel()
    assert np.allclose(
        solution.image.ravel(), reference, atol=1e-9 * max(1, np.abs(reference).max())
    )
