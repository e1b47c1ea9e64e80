"""The animation model: each step's cells against the dense matrix and the pixel links,
and every view of the transpose against conv2d_transpose."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import (
    ANIMATION_MODES,
    ConvGeometry,
    ConvOperator,
    StepAnimation,
    conv2d,
    conv2d_transpose,
    crop_window,
    receptive_field,
    touching_outputs,
)
from deconv_gui.core.filters import seed_question_filter
from deconv_gui.io.images import seed_toy_image


def _random_geometries(count: int, seed: int = 0):
    """Small geometries with stride > filter, dilation and padding > d (f - 1) among them."""
    rng = np.random.default_rng(seed)
    made = 0
    while made < count:
        f = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        stride = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        dilation = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        padding = (int(rng.integers(0, 4)), int(rng.integers(0, 4)))
        shape = (int(rng.integers(3, 10)), int(rng.integers(3, 10)), int(rng.integers(1, 3)))
        c_out = int(rng.integers(1, 3))
        try:
            geometry = ConvGeometry(shape, (*f, shape[2], c_out), stride, padding, dilation)
        except ValueError:
            continue
        made += 1
        weights = rng.standard_normal(geometry.filter_shape)
        weights[rng.random(weights.shape) < 0.2] = 0.0  # zero taps are not matrix entries
        yield geometry, weights, rng.standard_normal(shape)


def _links(geometry):
    return {
        "input_shape": geometry.input_shape,
        "filter_shape": geometry.filter_shape,
        "stride": geometry.stride,
        "padding": geometry.padding,
        "dilation": geometry.dilation,
    }


CASES = list(_random_geometries(40))
FIXED = [
    # stride 3 > filter 2 with dilation 2, and padding larger than d (f - 1)
    (ConvGeometry((8, 9, 2), (2, 2, 2, 2), stride=3, padding=1, dilation=2), 1),
    (ConvGeometry((7, 7, 1), (3, 3, 1, 1), stride=2, padding=5, dilation=2), 2),
    (ConvGeometry((5, 6, 1), (1, 2, 1, 1), stride=(4, 1), padding=(2, 0), dilation=(1, 3)), 3),
]


def _all_cases():
    yield from CASES
    for geometry, seed in FIXED:
        rng = np.random.default_rng(seed)
        yield (
            geometry,
            rng.standard_normal(geometry.filter_shape),
            rng.standard_normal(geometry.input_shape),
        )


@pytest.mark.parametrize("mode", ["forward", "scatter"])
def test_step_cells_are_the_rows_of_the_dense_matrix(mode):
    for geometry, weights, image in _all_cases():
        dense = ConvOperator(geometry, weights).to_dense()
        anim = StepAnimation(geometry, weights, image, mode)
        assert len(anim) == dense.shape[0]
        for k, step in enumerate(anim):
            rows, cols, ti, tj = anim.input_cells(k)
            # every channel of each cell, kept where the tap's weight is non-zero
            cells = {
                (int(r), int(c), ch)
                for r, c, i, j in zip(rows, cols, ti, tj, strict=True)
                for ch in range(geometry.input_shape[2])
                if weights[i, j, ch, step.channel] != 0
            }
            nonzero = np.flatnonzero(dense[k])
            expected = {tuple(map(int, np.unravel_index(n, geometry.input_shape))) for n in nonzero}
            assert cells == expected
            field = receptive_field((*step.pixel, step.channel), **_links(geometry))
            for mine, theirs in zip((rows, cols, ti, tj), field[:4], strict=True):
                assert np.array_equal(mine, theirs)
            # the weights shown are the matrix entries of the row
            for r, c, i, j in zip(rows, cols, ti, tj, strict=True):
                columns = np.ravel_multi_index((r, c, 0), geometry.input_shape)
                got = dense[k, columns : columns + geometry.input_shape[2]]
                assert np.array_equal(got, step.kernel[i, j])


def test_forward_steps_sum_to_conv2d():
    for geometry, weights, image in _all_cases():
        anim = StepAnimation(geometry, weights, image, "forward")
        y = conv2d(
            image, weights, **{k: getattr(geometry, k) for k in ("stride", "padding", "dilation")}
        )
        last = None
        for step in anim:
            np.testing.assert_allclose(
                step.products.sum(), y[(*step.pixel, step.channel)], atol=1e-12
            )
            assert float(step.result) == pytest.approx(float(step.products.sum()), abs=1e-12)
            last = step
        np.testing.assert_allclose(last.canvas, y, rtol=1e-12, atol=1e-12)


def _transpose(geometry, weights, y):
    return conv2d_transpose(
        y,
        weights,
        input_shape=geometry.input_shape,
        stride=geometry.stride,
        padding=geometry.padding,
        dilation=geometry.dilation,
    )


@pytest.mark.parametrize("mode", ["scatter", "zero-insertion"])
def test_transposed_views_equal_conv2d_transpose(mode):
    for geometry, weights, image in _all_cases():
        anim = StepAnimation(geometry, weights, image, mode)
        expected = _transpose(geometry, weights, anim.output)
        scale = np.abs(expected).max() + 1
        np.testing.assert_allclose(anim.transposed(), expected, rtol=0, atol=1e-12 * scale)
        last = anim.step(len(anim) - 1)
        (ph, pw), (h, w, _) = geometry.padding, geometry.input_shape
        final = last.canvas[ph : ph + h, pw : pw + w] if mode == "scatter" else last.canvas
        np.testing.assert_allclose(final, expected, rtol=0, atol=1e-12 * scale)


def test_integer_scatter_ends_at_exactly_conv2d_transpose():
    geometry = ConvGeometry((7, 7, 3), (3, 3, 3, 1), stride=2)
    weights, image = seed_question_filter(), seed_toy_image()
    anim = StepAnimation(geometry, weights, image, "scatter")
    canvases = [step.canvas for step in anim]
    assert np.array_equal(canvases[-1], anim.grid)
    assert np.array_equal(canvases[4], anim.step(4).canvas)  # iteration = random access
    assert np.array_equal(anim.transposed(), _transpose(geometry, weights, anim.output))
    # each step adds exactly its kernel × value block
    for k in range(1, len(canvases)):
        step = anim.step(k)
        added = canvases[k] - canvases[k - 1]
        assert np.array_equal(added.sum(axis=(0, 1)), step.products.sum(axis=(0, 1)))
    zero = StepAnimation(geometry, weights, image, "zero-insertion")
    assert np.array_equal(zero.transposed(), anim.transposed())


def test_zero_insertion_cells_are_the_touching_outputs():
    for geometry, weights, image in _all_cases():
        dense = ConvOperator(geometry, weights).to_dense()
        anim = StepAnimation(geometry, weights, image, "zero-insertion")
        h, w, c_in = geometry.input_shape
        assert len(anim) == h * w
        for k, step in enumerate(anim):
            rows, cols, ti, tj = anim.input_cells(k)
            links = touching_outputs(step.pixel, **_links(geometry))
            mine = sorted(zip(*(a.tolist() for a in (rows, cols, ti, tj)), strict=True))
            theirs = sorted(zip(*(a.tolist() for a in links[:4]), strict=True))
            assert mine == theirs
            # column (r, c, ch) of A: the outputs whose tap weight is non-zero
            for ch in range(c_in):
                column = dense[:, np.ravel_multi_index((*step.pixel, ch), geometry.input_shape)]
                expected = {
                    tuple(map(int, np.unravel_index(n, geometry.output_shape)))
                    for n in np.flatnonzero(column)
                }
                cells = {
                    (int(r), int(c), o)
                    for r, c, i, j in zip(rows, cols, ti, tj, strict=True)
                    for o in range(geometry.output_shape[2])
                    if weights[i, j, ch, o] != 0
                }
                assert cells == expected
            # the grid under the window holds y exactly at those cells, zeros elsewhere
            assert np.count_nonzero(
                anim.structural_zeros[
                    step.origin[0] : step.origin[0]
                    + geometry.dilation[0] * (geometry.filter_shape[0] - 1)
                    + 1 : geometry.dilation[0],
                    step.origin[1] : step.origin[1]
                    + geometry.dilation[1] * (geometry.filter_shape[1] - 1)
                    + 1 : geometry.dilation[1],
                ]
                == 0
            ) == len(rows)


def test_zero_insertion_grid_is_spread_and_padded():
    geometry = ConvGeometry((7, 7, 3), (3, 3, 3, 1), stride=2)
    anim = StepAnimation(geometry, seed_question_filter(), seed_toy_image(), "zero-insertion")
    # 3 outputs spread to 5, padded by d (f - 1) - p = 2 on each side: 9 = 7 + 2
    assert anim.grid.shape == (9, 9, 1)
    assert np.array_equal(anim.grid[2:7:2, 2:7:2], anim.output)
    codes = anim.structural_zeros
    assert (codes[:2] == 1).all() and (codes[2:7:2, 2:7:2] == 0).all() and codes[3, 3] == 2
    # stride 2 on 8 pixels leaves the last row unread: output_padding 1 at the bottom
    geometry = ConvGeometry((8, 8, 1), (3, 3, 1, 1), stride=2)
    anim = StepAnimation(geometry, np.ones((3, 3, 1, 1)), np.ones((8, 8, 1)), "zero-insertion")
    assert anim.grid.shape == (10, 10, 1) and (anim.structural_zeros[-3:, :] == 1).all()


def test_bad_arguments_name_themselves():
    geometry = ConvGeometry((7, 7, 3), (3, 3, 3, 1), stride=2)
    weights, image = seed_question_filter(), seed_toy_image()
    with pytest.raises(ValueError, match="mode"):
        StepAnimation(geometry, weights, image, "backward")
    with pytest.raises(ValueError, match="image"):
        StepAnimation(geometry, weights, image[:5], "forward")
    with pytest.raises(ValueError, match="weights"):
        StepAnimation(geometry, weights[:2], image, "forward")
    with pytest.raises(ValueError, match="k must"):
        StepAnimation(geometry, weights, image).step(9)
    big = ConvGeometry((100, 100, 1), (1, 1, 1, 1))
    with pytest.raises(ValueError, match="steps"):
        StepAnimation(big, np.ones((1, 1, 1, 1)), np.zeros((100, 100, 1)))
    assert ANIMATION_MODES == ("forward", "scatter", "zero-insertion")


# -- padding modes, groups and flip -----------------------------------------------------
def _mode_cases(count: int = 24, seed: int = 5):
    """Random small problems with every padding mode, groups and flip."""
    rng = np.random.default_rng(seed)
    made = 0
    modes = ("reflect", "replicate", "circular", "zeros")
    while made < count:
        mode = modes[made % len(modes)]
        groups = int(rng.choice([1, 1, 2]))
        c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        f = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        shape = (int(rng.integers(3, 9)), int(rng.integers(3, 9)), c_in)
        try:
            geometry = ConvGeometry(
                shape,
                (*f, c_in // groups, c_out),
                stride=(int(rng.integers(1, 4)), int(rng.integers(1, 4))),
                padding=(int(rng.integers(0, 3)), int(rng.integers(0, 3))),
                dilation=(int(rng.integers(1, 3)), int(rng.integers(1, 3))),
                padding_mode=mode,
                groups=groups,
                flip=bool(rng.integers(0, 2)),
            )
        except ValueError:
            continue
        made += 1
        yield geometry, rng.standard_normal(geometry.filter_shape), rng.standard_normal(shape)


MODE_CASES = list(_mode_cases())


@pytest.mark.parametrize("mode", ["forward", "scatter"])
def test_padding_modes_cells_are_the_rows_of_the_dense_matrix(mode):
    for geometry, weights, image in MODE_CASES:
        dense = ConvOperator(geometry, weights).to_dense()
        anim = StepAnimation(geometry, weights, image, mode)
        assert len(anim) == dense.shape[0]
        for k in range(len(anim)):
            step = anim.step(k)
            rows, cols, ti, tj = anim.input_cells(k)
            # the row of A, rebuilt from the frame: each tap adds its weights at its cell
            row = np.zeros(geometry.input_shape)
            for r, c, i, j in zip(rows, cols, ti, tj, strict=True):
                row[r, c] += step.kernel[i, j]
            np.testing.assert_allclose(row.ravel(), dense[k], rtol=0, atol=1e-12)
            if mode == "forward":  # the window reads the copied values
                rr, cc = anim.padding_source()
                fh, fw = geometry.filter_shape[:2]
                for i, j in np.ndindex(fh, fw):
                    pr = step.origin[0] + geometry.dilation[0] * i
                    pc = step.origin[1] + geometry.dilation[1] * j
                    expected = (
                        image[rr[pr], cc[pc]] if rr[pr] >= 0 and cc[pc] >= 0 else 0.0 * image[0, 0]
                    )
                    np.testing.assert_array_equal(step.values[i, j], expected)


@pytest.mark.parametrize("mode", ["scatter", "zero-insertion"])
def test_padding_modes_transposed_views_equal_the_adjoint(mode):
    for geometry, weights, image in MODE_CASES:
        op = ConvOperator(geometry, weights)
        anim = StepAnimation(geometry, weights, image, mode)
        np.testing.assert_allclose(anim.output, op.apply(image), rtol=0, atol=1e-12)
        expected = op.apply_adjoint(anim.output)
        scale = np.abs(expected).max() + 1
        np.testing.assert_allclose(anim.transposed(), expected, rtol=0, atol=1e-12 * scale)
        if mode == "zero-insertion":  # both views give the same A^T y
            other = StepAnimation(geometry, weights, image, "scatter").transposed()
            np.testing.assert_allclose(anim.transposed(), other, rtol=0, atol=1e-12 * scale)


def test_padding_modes_zero_insertion_cells_are_columns_of_the_padded_matrix():
    for geometry, weights, image in MODE_CASES:
        if geometry.padding_mode == "zeros":
            continue
        anim = StepAnimation(geometry, weights, image, "zero-insertion")
        padded = geometry.unpadded()
        dense = ConvOperator(padded, anim.weights).to_dense()
        assert len(anim) == padded.input_shape[0] * padded.input_shape[1]
        for k in range(len(anim)):
            step = anim.step(k)
            rows, cols, ti, tj = anim.input_cells(k)
            for ch in range(geometry.input_shape[2]):
                column = np.zeros(geometry.output_shape)
                for r, c, i, j in zip(rows, cols, ti, tj, strict=True):
                    column[r, c] += anim.weights[i, j, ch]
                index = np.ravel_multi_index((*step.pixel, ch), padded.input_shape)
                np.testing.assert_allclose(column.ravel(), dense[:, index], atol=1e-12)


def test_padded_grid_shows_the_copied_values():
    geometry = ConvGeometry((4, 5, 1), (3, 3, 1, 1), padding=2, padding_mode="reflect")
    image = np.arange(20.0).reshape(4, 5, 1)
    anim = StepAnimation(geometry, np.ones((3, 3, 1, 1)), image)
    assert np.array_equal(anim.grid[:, :, 0], np.pad(image[:, :, 0], 2, mode="reflect"))
    assert (anim.structural_zeros[:2] == 1).all() and (anim.structural_zeros[2:6, 2:7] == 0).all()
    rows, _cols = anim.padding_source()
    assert rows.tolist() == [2, 1, 0, 1, 2, 3, 2, 1]
    assert (
        anim.folds
        and not StepAnimation(ConvGeometry((4, 5, 1), (3, 3, 1)), np.ones((3, 3, 1)), image).folds
    )


def test_crop_window_keeps_the_centre_and_the_stride_grid():
    geometry = ConvGeometry((200, 90, 3), (3, 3, 3, 1), stride=3, padding=1, dilation=2)
    for centre in [(0, 0), (199, 89), (100, 45), (57, 3)]:
        r0, c0, h, w = crop_window(geometry, centre, 16)
        assert (h, w) == (16, 16)
        assert r0 <= centre[0] < r0 + h and c0 <= centre[1] < c0 + w
        assert 0 <= r0 <= 200 - h and 0 <= c0 <= 90 - w
    assert crop_window(geometry, (100, 45), 16)[0] % 3 == 0
    # the crop is never larger than the image, and large enough for the dilated filter
    assert crop_window(ConvGeometry((5, 40, 1), (3, 3, 1)), None, 16) == (0, 12, 5, 16)
    big = ConvGeometry((64, 64, 1), (5, 5, 1), dilation=5)
    assert crop_window(big, None, 8, min_outputs=1)[2:] == (21, 21)
    # four outputs a side by default: stride 3, dilation 2, 3×3, padding 1 needs 12
    strided = ConvGeometry((64, 64, 1), (3, 3, 1), stride=3, padding=1, dilation=2)
    r0, c0, h, w = crop_window(strided, None, 8)
    assert (h, w) == (12, 12)
    assert ConvGeometry((h, w, 1), (3, 3, 1), stride=3, padding=1, dilation=2).output_shape[:2] == (
        4,
        4,
    )
    with pytest.raises(ValueError, match="size"):
        crop_window(big, None, 0)


def test_pixel_links_follow_the_padding_mode():
    """receptive_field and touching_outputs rebuild the rows and columns of A."""
    for geometry, weights, _ in MODE_CASES:
        if geometry.groups != 1 or geometry.flip:
            continue
        dense = ConvOperator(geometry, weights).to_dense()
        links = {**_links(geometry), "padding_mode": geometry.padding_mode}
        for k in range(dense.shape[0]):
            h, w, o = np.unravel_index(k, geometry.output_shape)
            field = receptive_field((int(h), int(w)), **links)
            row = np.zeros(geometry.input_shape)
            for r, c, i, j in zip(*field[:4], strict=True):
                row[r, c] += weights[i, j, :, o]
            np.testing.assert_allclose(row.ravel(), dense[k], atol=1e-12)
        h_in, w_in, _c_in = geometry.input_shape
        for r, c in np.ndindex(h_in, w_in):
            touched = touching_outputs((r, c), **links)
            column = np.zeros(geometry.output_shape)
            for a, b, i, j in zip(*touched[:4], strict=True):
                column[a, b] += weights[i, j, 0]
            index = np.ravel_multi_index((r, c, 0), geometry.input_shape)
            np.testing.assert_allclose(column.ravel(), dense[:, index], atol=1e-12)


def test_window_counts_are_the_coverage_of_a_ones_filter():
    for geometry, _, image in CASES[:12]:
        anim = StepAnimation(geometry, np.ones(geometry.filter_shape), image)
        single = ConvGeometry(geometry.input_shape, (*geometry.filter_shape[:3], 1),
                              geometry.stride, geometry.padding, geometry.dilation)  # fmt: skip
        coverage = ConvOperator(single, np.ones(single.filter_shape)).apply_adjoint(
            np.ones(single.output_shape)
        )
        (ph, pw), (h, w, _) = geometry.padding, geometry.input_shape
        counts = anim.window_counts()[ph : ph + h, pw : pw + w]
        np.testing.assert_array_equal(counts, coverage[:, :, 0])
