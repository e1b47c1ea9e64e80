"""ConvOperator: the dense matrix, scipy's LinearOperator protocol, and its validation."""

from __future__ import annotations

import numpy as np
import pytest
from reference import conv2d_loop, conv2d_transpose_loop
from scipy.sparse.linalg import LinearOperator, aslinearoperator, lsqr

from deconv_gui.core import (
    DENSE_COLUMN_LIMIT,
    ConvGeometry,
    ConvOperator,
    conv2d,
    conv2d_transpose,
)

GEOMETRIES = [
    # (input_shape, filter_shape, stride, padding, dilation)
    ((7, 7, 3), (3, 3, 3, 1), 2, 0, 1),  # the seed example
    ((6, 5, 2), (2, 3, 2, 3), (2, 1), (1, 0), 1),
    ((8, 9, 1), (3, 2, 1, 2), 1, 2, (2, 1)),
    ((5, 7, 4), (1, 1, 4, 2), 3, 1, 1),
]


def make_operator(case, dtype=np.float64, seed=0):
    input_shape, filter_shape, stride, padding, dilation = case
    geom = ConvGeometry(input_shape, filter_shape, stride, padding, dilation)
    w = np.random.default_rng(seed).standard_normal(filter_shape).astype(dtype)
    return ConvOperator(geom, w), w


@pytest.mark.parametrize("case", GEOMETRIES)
def test_dense_matrix_matches_conv2d_and_its_transpose(case):
    op, w = make_operator(case)
    geom = op.geometry
    kw = {"stride": geom.stride, "padding": geom.padding, "dilation": geom.dilation}
    rng = np.random.default_rng(1)
    dense = op.to_dense()
    assert dense.shape == (geom.n_equations, geom.n_unknowns) == op.shape
    x = rng.standard_normal(geom.input_shape)
    y = rng.standard_normal(geom.output_shape)
    np.testing.assert_allclose(dense @ x.ravel(), conv2d(x, w, **kw).ravel(), rtol=1e-12)
    np.testing.assert_allclose(dense @ x.ravel(), conv2d_loop(x, w, **kw).ravel(), rtol=1e-12)
    adj = conv2d_transpose(y, w, input_shape=geom.input_shape, **kw)
    np.testing.assert_allclose(dense.T @ y.ravel(), adj.ravel(), rtol=1e-12, atol=1e-13)
    want = conv2d_transpose_loop(y, w, geom.input_shape, **kw).ravel()
    np.testing.assert_allclose(dense.T @ y.ravel(), want, rtol=1e-12, atol=1e-13)


def test_seed_example_loses_at_least_138_dimensions():
    op, _ = make_operator(GEOMETRIES[0])
    assert op.shape == (9, 147)
    assert op.geometry.min_nullity == 138
    assert np.linalg.matrix_rank(op.to_dense()) <= 9


def test_to_dense_refuses_large_operators():
    geom = ConvGeometry((64, 65, 1), (3, 3, 1, 1))
    assert geom.n_unknowns > DENSE_COLUMN_LIMIT
    with pytest.raises(ValueError, match="to_dense"):
        ConvOperator(geom, np.ones((3, 3, 1))).to_dense()


def test_to_dense_accepts_the_limit_exactly():
    geom = ConvGeometry((64, 64, 1), (1, 1, 1, 1))
    assert geom.n_unknowns == DENSE_COLUMN_LIMIT
    dense = ConvOperator(geom, np.full((1, 1, 1), 2.0)).to_dense()
    np.testing.assert_array_equal(np.diag(dense), 2.0)


@pytest.mark.parametrize("case", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matvec_rmatvec_and_adjoint_operator(case, dtype):
    op, w = make_operator(case, dtype)
    geom = op.geometry
    kw = {"stride": geom.stride, "padding": geom.padding, "dilation": geom.dilation}
    assert op.dtype == dtype
    rng = np.random.default_rng(2)
    x = rng.standard_normal(geom.n_unknowns).astype(dtype)
    y = rng.standard_normal(geom.n_equations).astype(dtype)
    ax = op.matvec(x)
    assert ax.dtype == dtype and ax.shape == (geom.n_equations,)
    np.testing.assert_array_equal(ax, conv2d(x.reshape(geom.input_shape), w, **kw).ravel())
    aty = op.H.matvec(y)
    want = conv2d_transpose(y.reshape(geom.output_shape), w, input_shape=geom.input_shape, **kw)
    np.testing.assert_array_equal(aty, want.ravel())
    np.testing.assert_array_equal(op.rmatvec(y), want.ravel())
    # matmat/rmatmat agree with column-by-column products
    xs = rng.standard_normal((geom.n_unknowns, 3)).astype(dtype)
    cols = np.stack([op.matvec(xs[:, k]) for k in range(3)], axis=1)
    np.testing.assert_allclose(op.matmat(xs), cols, rtol=1e-5)
    ys = rng.standard_normal((geom.n_equations, 2)).astype(dtype)
    np.testing.assert_allclose(
        op.H.matmat(ys), np.stack([op.rmatvec(ys[:, k]) for k in range(2)], axis=1), rtol=1e-5
    )


def test_lsqr_finds_the_minimum_norm_solution():
    """From x0 = 0, LSQR stays in range(Aᵀ) and converges to the pseudo-inverse solution."""
    op, _ = make_operator(GEOMETRIES[0])
    assert isinstance(op, LinearOperator)
    rng = np.random.default_rng(4)
    y = op.matvec(rng.standard_normal(op.shape[1]))
    result = lsqr(aslinearoperator(op), y, atol=1e-14, btol=1e-14, iter_lim=500)
    x_hat = result[0]
    np.testing.assert_allclose(op.matvec(x_hat), y, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(x_hat, np.linalg.pinv(op.to_dense()) @ y, rtol=1e-6, atol=1e-8)


def test_float32_operator():
    op, _ = make_operator(GEOMETRIES[1], np.float32)
    assert op.to_dense().dtype == np.float32
    assert op.matvec(np.ones(op.shape[1], dtype=np.float64)).dtype == np.float32


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("not a geometry", np.ones((3, 3, 3))), "geometry"),
        ((ConvGeometry((7, 7, 3), (3, 3, 3)), np.ones((2, 2, 3))), "weights"),
        ((ConvGeometry((7, 7, 3), (3, 3, 3)), np.full((3, 3, 3), np.nan)), "weights"),
    ],
)
def test_operator_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        ConvOperator(*args)


def test_operator_rejects_non_float_dtype():
    with pytest.raises(ValueError, match="dtype"):
        ConvOperator(ConvGeometry((7, 7, 3), (3, 3, 3)), np.ones((3, 3, 3)), dtype=np.int32)
