"""Transposed, normalised-transposed and pseudo-inverse reconstructions vs dense matrices.

References are built from ``ConvOperator(geom, w).to_dense()`` and ``numpy.linalg``.
Tolerances: float64 dense computations agree to ~1e-12 relative (a few hundred
flops per entry, condition numbers below 1e3 for the kept cases); the dense path of
``pinv_reconstruction`` is compared at 1e-9 relative to leave room for pinv's own
rounding on rank-deficient matrices.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deconv_gui.core import (
    ConvGeometry,
    ConvOperator,
    Reconstruction,
    coverage_map,
    make_filter,
    normalized_transposed_reconstruction,
    pinv_reconstruction,
    transposed_reconstruction,
)

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@st.composite
def geometries(draw):
    h, w = draw(st.integers(3, 9)), draw(st.integers(3, 9))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    try:
        geom = ConvGeometry(
            (h, w, c_in),
            (fh, fw, c_in, c_out),
            (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
            (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
            (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        )
    except ValueError:
        assume(False)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = rng.standard_normal(geom.filter_shape)
    if draw(st.booleans()):
        weights[:] = weights[:, :, :1, :]  # same filter in every channel
    bias = rng.standard_normal(c_out)
    y = rng.standard_normal(geom.output_shape)
    return geom, weights, bias, y


def _kw(geom):
    return {
        "input_shape": geom.input_shape,
        "stride": geom.stride,
        "padding": geom.padding,
        "dilation": geom.dilation,
    }


@SETTINGS
@given(geometries())
def test_transposed_is_dense_adjoint_of_centred_output(case):
    geom, weights, bias, y = case
    matrix = ConvOperator(geom, weights).to_dense()
    got = transposed_reconstruction(y, weights, bias, **_kw(geom))
    expected = matrix.T @ (y - bias).ravel()
    np.testing.assert_allclose(got.ravel(), expected, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(geometries())
def test_coverage_and_normalised_transposed(case):
    geom, weights, bias, y = case
    matrix = ConvOperator(geom, weights).to_dense()
    cover = coverage_map(weights, **_kw(geom))
    np.testing.assert_allclose(cover.ravel(), matrix.T @ np.ones(matrix.shape[0]), atol=1e-12)
    got = normalized_transposed_reconstruction(y, weights, bias, **_kw(geom)).ravel()
    adjoint = matrix.T @ (y - bias).ravel()
    flat_cover = cover.ravel()
    covered = np.abs(flat_cover) > 1e-12 * max(np.abs(flat_cover).max(), 1e-300)
    np.testing.assert_allclose(got[covered], adjoint[covered] / flat_cover[covered], rtol=1e-9)
    assert not got[~covered].any()


@SETTINGS
@given(geometries())
def test_pinv_equals_numpy_pinv_of_dense_matrix(case):
    geom, weights, bias, y = case
    matrix = ConvOperator(geom, weights).to_dense()
    singular = np.linalg.svd(matrix, compute_uv=False)
    nonzero = singular[singular > 1e-9 * singular[0]]
    assume(nonzero[0] / nonzero[-1] < 1e3)  # avoid near-rank-ambiguous matrices
    got, report = pinv_reconstruction(y, weights, bias, **_kw(geom))
    expected = np.linalg.pinv(matrix, rcond=1e-9) @ (y - bias).ravel()
    assert report.method == "dense" and report.converged
    np.testing.assert_allclose(got.ravel(), expected, atol=1e-9 * max(1, np.abs(expected).max()))


@SETTINGS
@given(geometries(), st.sampled_from([1e-2, 1.0]))
def test_tikhonov_equals_closed_form(case, reg):
    geom, weights, bias, y = case
    matrix = ConvOperator(geom, weights).to_dense()
    got = pinv_reconstruction(y, weights, bias, **_kw(geom), reg=reg).image
    n = matrix.shape[1]
    expected = np.linalg.solve(matrix.T @ matrix + reg * np.eye(n), matrix.T @ (y - bias).ravel())
    np.testing.assert_allclose(got.ravel(), expected, atol=1e-9 * max(1, np.abs(expected).max()))


@pytest.mark.parametrize("method", ["dense", "iterative"])
def test_pinv_reproduces_consistent_y_and_has_no_null_component(method):
    geom = ConvGeometry((10, 9, 3), (3, 3, 3, 2), 2, 1)
    rng = np.random.default_rng(11)
    weights = rng.standard_normal(geom.filter_shape)
    matrix = ConvOperator(geom, weights).to_dense()
    x_true = rng.standard_normal(geom.input_shape)
    y = (matrix @ x_true.ravel()).reshape(geom.output_shape)
    got = pinv_reconstruction(y, weights, **_kw(geom), method=method, rtol=1e-12).image.ravel()
    np.testing.assert_allclose(matrix @ got, y.ravel(), atol=1e-9)  # A A⁺ y = y
    projector = np.linalg.pinv(matrix) @ matrix
    np.testing.assert_allclose(projector @ got, got, atol=1e-9)  # x̂ = A⁺ A x̂
    assert np.linalg.norm(got) < np.linalg.norm(x_true)  # minimum norm among solutions


def test_seed_example():
    """7×7×3 image, 3×3×3 filter, stride 2: 9 equations, 147 unknowns."""
    geom = ConvGeometry((7, 7, 3), (3, 3, 3, 1), 2, 0)
    assert (geom.n_equations, geom.n_unknowns) == (9, 147)
    weights = make_filter("seed_question")
    x = np.random.default_rng(0).standard_normal(geom.input_shape)
    matrix = ConvOperator(geom, weights).to_dense()
    y = (matrix @ x.ravel()).reshape(geom.output_shape)
    for method in ("dense", "iterative"):
        pinv = pinv_reconstruction(
            y, weights, input_shape=(7, 7, 3), stride=2, method=method, rtol=1e-12
        ).image
        np.testing.assert_allclose(matrix @ pinv.ravel(), y.ravel(), rtol=1e-9, atol=1e-9)
    transposed = transposed_reconstruction(y, weights, input_shape=(7, 7, 3), stride=2)
    gram = matrix @ matrix.T
    assert not np.allclose(gram, gram[0, 0] * np.eye(9))
    assert np.linalg.norm(pinv - transposed) > 0.1 * np.linalg.norm(pinv)


def test_seed_geometry_with_orthogonal_rows_makes_pinv_equal_transposed():
    """One tap at stride 2: A Aᵀ = I, so A⁺ = Aᵀ."""
    weights = np.zeros((3, 3, 3, 1))
    weights[1, 1, 0, 0] = 1.0
    geom = ConvGeometry((7, 7, 3), weights.shape, 2, 0)
    matrix = ConvOperator(geom, weights).to_dense()
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(9))
    y = np.random.default_rng(1).standard_normal(geom.output_shape)
    pinv = pinv_reconstruction(y, weights, input_shape=(7, 7, 3), stride=2).image
    transposed = transposed_reconstruction(y, weights, input_shape=(7, 7, 3), stride=2)
    np.testing.assert_allclose(pinv, transposed, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["dense", "iterative"])
def test_dtype_follows_y(dtype, method):
    geom = ConvGeometry((9, 9, 3), (3, 3, 3, 1), 2, 1)
    y = np.random.default_rng(0).standard_normal(geom.output_shape).astype(dtype)
    got = pinv_reconstruction(y, make_filter("random"), **_kw(geom), method=method).image
    assert got.dtype == dtype
    assert transposed_reconstruction(y, make_filter("random"), **_kw(geom)).dtype == dtype


def test_auto_uses_iterative_above_dense_limit():
    geom = ConvGeometry((48, 40, 3), (3, 3, 3, 1), 2, 1)
    y = np.random.default_rng(0).standard_normal(geom.output_shape)
    _, report = pinv_reconstruction(y, make_filter("random"), **_kw(geom))
    assert report.method == "pcg" and report.converged
    assert report.relative_residual <= 1e-8


def test_returns_pinv_result():
    geom = ConvGeometry((7, 7, 3), (3, 3, 3, 1), 2, 0)
    y = np.ones(geom.output_shape)
    out = pinv_reconstruction(y, make_filter("random"), **_kw(geom))
    assert isinstance(out, Reconstruction) and out.image.shape == (7, 7, 3)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"reg": -1.0}, "reg"),
        ({"reg": "a lot"}, "reg"),
        ({"rtol": 0.0}, "rtol"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"method": "magic"}, "method"),
        ({"bias": [1.0, 2.0]}, "bias"),
    ],
)
def test_pinv_rejects_bad_arguments(kwargs, name):
    y = np.zeros((3, 3, 1))
    with pytest.raises(ValueError, match=name):
        pinv_reconstruction(y, make_filter("random"), input_shape=(7, 7, 3), stride=2, **kwargs)


def test_wrong_y_shape_names_y():
    with pytest.raises(ValueError, match="y must have shape"):
        transposed_reconstruction(np.zeros((4, 3, 1)), make_filter("random"), input_shape=(7, 7, 3))


def test_missing_input_shape_is_a_value_error_everywhere():
    # every entry point validates through geometry.geometry_for / ConvGeometry: a None
    # input_shape used to reach tuple(None) (a TypeError) in some of them
    from deconv_gui.core import adjoint_dot_test, coverage_map, receptive_field

    w = make_filter("random")
    y = np.zeros((3, 3, 1))
    calls = [
        lambda: transposed_reconstruction(y, w, input_shape=None),
        lambda: pinv_reconstruction(y, w, input_shape=None).image,
        lambda: coverage_map(w, input_shape=None),
        lambda: receptive_field((0, 0), input_shape=None, filter_shape=w.shape),
        lambda: adjoint_dot_test(w, input_shape=None),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="input_shape"):
            call()


def test_dense_tikhonov_keeps_the_singular_values_below_rtol():
    """A singular value below rtol·σ_max still counts when reg > 0 (found by hypothesis:
    the dense solve dropped three at 8.6e-9 and was 8e-7 off the closed form)."""
    weights = np.array(
        [[[[0.15165999, 1.340842]], [[-0.5777315, 0.21482107]], [[0.95326199, -0.36928412]]]]
    )
    geom = ConvGeometry((3, 8, 1), weights.shape, (1, 2), (0, 1), (1, 1))
    matrix = ConvOperator(geom, weights).to_dense()
    assert np.linalg.svd(matrix, compute_uv=False)[-1] < 1e-8  # below the default rtol
    y = np.random.default_rng(3).normal(size=(3, 4, 2))
    got = pinv_reconstruction(y, weights, 0.0, **_kw(geom), reg=0.01).image
    n = matrix.shape[1]
    expected = np.linalg.solve(matrix.T @ matrix + 0.01 * np.eye(n), matrix.T @ y.ravel())
    np.testing.assert_allclose(got.ravel(), expected, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["transposed", "normalized_transposed"])
def test_a_transpose_that_overflows_names_y(dtype, name):
    """Data near the dtype's largest value gave inf and NumPy's overflow warnings."""
    import warnings

    method = {
        "transposed": transposed_reconstruction,
        "normalized_transposed": normalized_transposed_reconstruction,
    }[name]
    top = float(np.finfo(dtype).max) / 2
    w, hyper = np.ones((3, 3, 1, 1)), {"input_shape": (8, 8, 1), "stride": 2, "padding": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^y: y − b up to .* overflows Aᵀ\(y − b\) in"):
            method(np.full((4, 4, 1), top, dtype), w, **hyper)
        fine = method(np.full((4, 4, 1), top / 100, dtype), w, **hyper)  # 9·top/100 fits
    assert fine.dtype == dtype and np.isfinite(fine).all()
