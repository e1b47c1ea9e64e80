"""The Fourier view's numbers against dense matrices and literal definitions."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator, conv2d_transpose
from deconv_gui.core.analysis.fourier import (
    alias_order,
    filter_spectrum,
    periodic_twin,
    recoverable_fraction,
    transposed_overlaps,
    transposed_subkernels,
)


def _unit_fourier(h, w, c_in, k, col, c):
    e = np.zeros((h, w, c_in), complex)
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    e[..., c] = np.exp(2j * np.pi * (k * rows / h + col * cols / w)) / np.sqrt(h * w)
    return e.ravel()


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "groups", "c_out", "dilation"),
    [
        ((6, 8, 2), (3, 3), (2, 2), 1, 1, 1),
        ((6, 6, 2), (3, 1), (3, 2), 2, 2, 1),
        ((4, 6, 3), (3, 3), (1, 2), 1, 2, (1, 2)),
        ((8, 4, 1), (5, 3), (2, 1), 1, 3, 1),
    ],
)
def test_recoverable_fraction_is_the_row_space_projection(
    shape, kernel, stride, groups, c_out, dilation
):
    rng = np.random.default_rng(sum(shape))
    w = rng.standard_normal((*kernel, shape[2] // groups, c_out))
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    pad = ((kernel[0] - 1) * d[0] // 2, (kernel[1] - 1) * d[1] // 2)
    op = ConvOperator.from_weights(
        w,
        input_shape=shape,
        stride=stride,
        padding=pad,
        dilation=dilation,
        padding_mode="circular",
        groups=groups,
    )
    dense = op.to_dense().astype(np.float64)
    projector = np.linalg.pinv(dense, rcond=1e-10) @ dense
    ours = np.fft.ifftshift(recoverable_fraction(op), axes=(0, 1))
    h, wd, c_in = shape
    for k in range(h):
        for col in range(wd):
            for c in range(c_in):
                e = _unit_fourier(h, wd, c_in, k, col, c)
                expected = float(np.real(e.conj() @ projector @ e))
                assert ours[k, col, c] == pytest.approx(expected, abs=1e-9)


def test_filter_spectrum_is_the_dft_of_the_dilated_taps():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 2, 2, 3))
    spectrum = np.fft.ifftshift(filter_spectrum(w, (7, 6), dilation=(2, 1)), axes=(0, 1))
    for k in range(7):
        for col in range(6):
            literal = sum(
                w[u, v] * np.exp(-2j * np.pi * (k * 2 * u / 7 + col * v / 6))
                for u in range(3)
                for v in range(2)
            )
            assert np.allclose(spectrum[k, col], np.abs(literal))


def test_filter_spectrum_of_groups_is_zero_across_groups():
    w = np.ones((3, 3, 1, 2))
    s = filter_spectrum(w, (4, 4), groups=2)
    assert s.shape == (4, 4, 2, 2) and np.all(s[:, :, 0, 1] == 0) and np.all(s[:, :, 1, 0] == 0)


def test_alias_order_matches_the_fold():
    order = np.fft.ifftshift(alias_order((6, 4), (3, 2)))
    for k in range(6):
        for col in range(4):
            assert order[k, col] == (k // 2) * 2 + (col // 2)
    with pytest.raises(ValueError, match="input_hw"):
        alias_order((5, 4), 2)


def test_periodic_twin_of_zero_padding_keeps_filter_and_stride():
    w = np.random.default_rng(1).standard_normal((3, 3, 2))
    op = ConvOperator.from_weights(w, input_shape=(9, 10, 2), stride=2, padding=1)
    twin = periodic_twin(op)
    assert twin.geometry.padding_mode == "circular"
    assert twin.geometry.input_shape == (8, 10, 2) and twin.geometry.stride == (2, 2)
    assert np.array_equal(twin.weights, op.weights)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"), [(3, 2, 0), (3, 2, 1), (4, 2, 1), (5, 3, 2), (2, 3, 0)]
)
def test_overlaps_are_what_a_transposed_conv_of_ones_gives(kernel, stride, padding):
    y = np.ones((6, 6, 1))
    w = np.ones((kernel, kernel, 1))
    size = (6 - 1) * stride - 2 * padding + kernel  # output_padding 0
    out = conv2d_transpose(y, w, stride=stride, padding=padding, input_shape=(size, size, 1))[
        ..., 0
    ]
    counts = transposed_overlaps(kernel, stride=stride, padding=padding)
    # away from the borders the output repeats the counts with the stride's period
    margin = kernel
    for i in range(margin, out.shape[0] - margin):
        for j in range(margin, out.shape[1] - margin):
            assert out[i, j] == counts[i % stride, j % stride]


def test_subkernels_partition_the_kernel():
    w = np.random.default_rng(2).standard_normal((5, 4, 2, 3))
    sub = transposed_subkernels(w, stride=(2, 3), padding=(1, 0))
    counts = transposed_overlaps((5, 4), stride=(2, 3), padding=(1, 0))
    total = 0
    for a in range(2):
        for b in range(3):
            assert sub[a][b].shape[:2] == (
                len({u for u in range(5) if (u - 1 - a) % 2 == 0}),
                len({v for v in range(4) if (v - b) % 3 == 0}),
            )
            assert sub[a][b].shape[0] * sub[a][b].shape[1] == counts[a, b]
            total += sub[a][b].size
    assert total == w.size


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(3, 2, 1), (4, 2, 1), (5, 3, 2)])
def test_summary_coverage_is_the_checkerboard_and_resize_is_flat(kernel, stride, padding):
    from deconv_gui.core.analysis.fourier import fourier_summary

    op = ConvOperator.from_weights(
        np.ones((kernel, kernel, 2)), input_shape=(30, 24, 2), stride=stride, padding=padding
    )
    s = fourier_summary(op, max_side=64)
    assert s.spectrum.shape == s.alias.shape == s.recoverable.shape == s.grid
    inner = s.coverage[kernel:-kernel, kernel:-kernel] / 2  # two input channels summed
    rows = np.arange(kernel, s.grid[0] - kernel)
    cols = np.arange(kernel, s.grid[1] - kernel)
    assert np.array_equal(inner, s.overlaps[np.ix_(rows % stride, cols % stride)])
    flat = s.resize_coverage[kernel:-kernel, kernel:-kernel]
    assert np.all(flat == 2 * kernel * kernel)  # every tap of both channels, everywhere
    assert 0 <= s.recoverable.min() and s.recoverable.max() <= 1


def test_periodic_twin_of_an_even_kernel_at_stride_1_pads_one_side_more():
    op = ConvOperator.from_weights(
        np.ones((2, 4, 1)), input_shape=(9, 10, 1), padding=((1, 0), (2, 1))
    )
    twin = periodic_twin(op)
    assert twin.geometry.pads == ((0, 1), (1, 2)) and twin.geometry.output_shape == (9, 10, 1)
    fraction = recoverable_fraction(op)
    assert fraction.shape == (9, 10, 1) and 0 <= fraction.min() <= fraction.max() <= 1
