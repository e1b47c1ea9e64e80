"""The cell symbol preconditioner (many output channels): SPD, exact answers, few pairs."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deconv_gui.core import ConvOperator, lapack, pinv_reconstruction
from deconv_gui.core.solvers import SolveCancelled, symbol_cells
from deconv_gui.core.solvers import preconditioner as precond
from deconv_gui.core.solvers.preconditioner import SymbolPreconditioner, periodic_symbol
from deconv_gui.core.solvers.symbol_cells import CellInverse, affordable_cells, cell_index

# --- the cells ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "cells", "period"), [(30, 6, 1), (28, 4, 1), (9, 3, 1), (12, 2, 2), (15, 5, 3), (8, 8, 1)]
)
def test_a_cells_mirror_is_a_cell_and_a_period_repeats_the_cells(n, cells, period) -> None:
    index = cell_index(n, cells, period)
    j = np.arange(n)
    np.testing.assert_array_equal(index[(-j) % n], (-index) % cells)
    np.testing.assert_array_equal(index, index[(j + n // period) % n])
    assert set(index.tolist()) == set(range(cells))


def _random_op(c_in=4, c_out=8, shape=(8, 8), **geometry) -> ConvOperator:
    rng = np.random.default_rng(geometry.pop("seed", 0))
    groups = geometry.get("groups", 1)
    w = rng.standard_normal((3, 3, c_in // groups, c_out)) * np.sqrt(2 / (9 * c_in))
    geometry.setdefault("stride", 2)
    geometry.setdefault("padding", 1)
    return ConvOperator.from_weights(w, input_shape=(*shape, c_in), **geometry)


@pytest.mark.parametrize("geometry", [{}, {"dilation": 2, "shape": (12, 12)}])
def test_a_cells_matrix_is_the_mean_of_the_symbol_over_its_frequencies(geometry) -> None:
    op = _random_op(**geometry)
    grid = precond.symbol_grid(op)
    kernel = precond.stationary_kernel(op)
    cells = CellInverse(kernel, grid, (4, 4), (1, 1), 0.0, 1e-3)
    symbol = periodic_symbol(op, grid, onesided=False)  # every bin, both halves
    rows, columns = (cell_index(n, c) for n, c in zip(grid, cells.cells, strict=True))
    used = np.unique(columns[: grid[1] // 2 + 1])
    for c, inverse in enumerate(cells.inverse):
        k_h, k_w = divmod(c, len(used))
        bins = (rows[:, None] == k_h) & (columns[None, :] == used[k_w])
        mean = symbol[bins].mean(axis=0) + 1e-3 * cells.top * np.eye(len(inverse))
        # the stored inverse is transposed (the bins' vectors are rows)
        tol = 1e-3 if cells.single else 1e-9
        np.testing.assert_allclose(inverse.T @ mean, np.eye(len(mean)), atol=tol)


# --- the preconditioner ---------------------------------------------------------------


@pytest.fixture
def cells(monkeypatch):
    """Every layer takes the cell symbol (2 cells per axis), in the precision asked."""

    def force(count=2, single=None):
        precond.clear_preconditioner_cache()  # kept ones were built without the cells
        monkeypatch.setattr(precond, "FULL_SYMBOL_COST", 0)
        monkeypatch.setattr(precond, "affordable_cells", lambda op, grid: count)
        if single is not None:
            kappa = np.inf if single else 0.0
            monkeypatch.setattr(symbol_cells, "SINGLE_PRECISION_KAPPA", kappa)

    yield force
    precond.clear_preconditioner_cache()  # nor may later tests find cells kept


def _dense(pre: SymbolPreconditioner, shape) -> np.ndarray:
    n = int(np.prod(shape))
    return np.stack([pre(e.reshape(shape)).ravel() for e in np.eye(n)], axis=1)


@pytest.mark.parametrize("single", [False, True])
@pytest.mark.parametrize("padding", [1, "same", ((0, 1), (2, 0))])
def test_the_cell_preconditioner_is_symmetric_positive_definite(cells, single, padding) -> None:
    cells(single=single)
    op = _random_op(padding=padding)
    pre = SymbolPreconditioner(op)
    assert pre.kind == "cells" and pre.cells.single == single
    m = _dense(pre, op.geometry.output_shape)
    tol = 1e-5 if single else 1e-12
    np.testing.assert_allclose(m, m.T, atol=tol * np.abs(m).max())
    assert np.linalg.eigvalsh(0.5 * (m + m.T)).min() > 0


GEOMETRIES = [
    {},
    {"padding": "same"},
    {"padding": ((0, 1), (2, 0))},
    {"groups": 2},
    {"dilation": 2, "shape": (12, 12)},
    {"flip": True, "padding": "same_lower"},
    {"stride": 1, "c_out": 3},
]


@pytest.mark.parametrize("single", [False, True])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_the_cell_preconditioned_pinv_is_numpys(cells, single, geometry) -> None:
    cells(single=single)
    op = _random_op(**geometry)
    assert SymbolPreconditioner(op).kind == "cells"
    y = np.random.default_rng(5).standard_normal(op.geometry.output_shape)
    got = pinv_reconstruction(y, op, rtol=1e-12, max_iter=3000, method="iterative")
    assert got.report.converged
    expected = np.linalg.pinv(op.to_dense()) @ y.ravel()
    np.testing.assert_allclose(got.image.ravel(), expected, atol=1e-8 * np.abs(expected).max())


@pytest.mark.parametrize("geometry", [{}, {"padding": "same", "groups": 2}])
def test_tikhonov_with_the_cell_preconditioner_is_the_dense_formula(cells, geometry) -> None:
    cells()
    op = _random_op(**geometry)
    y = np.random.default_rng(6).standard_normal(op.geometry.output_shape)
    reg = 0.05
    got = pinv_reconstruction(y, op, reg=reg, rtol=1e-12, method="iterative")
    a = op.to_dense()
    expected = np.linalg.solve(a.T @ a + reg * np.eye(a.shape[1]), a.T @ y.ravel())
    np.testing.assert_allclose(got.image.ravel(), expected, atol=1e-9 * np.abs(expected).max())


def test_the_cell_set_up_is_cancellable(cells) -> None:
    cells()
    event = threading.Event()
    event.set()
    with pytest.raises(SolveCancelled):
        SymbolPreconditioner(_random_op(), cancel=event)


def test_hermitian_inverse_is_numpys_and_survives_a_singular_matrix() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 8)) + 1j * rng.standard_normal((3, 5, 8))
    stack = x @ np.conj(np.swapaxes(x, -1, -2))
    np.testing.assert_allclose(lapack.hermitian_inverse(stack), np.linalg.inv(stack), rtol=1e-8)
    singular = stack[:1].copy()
    singular[0, :, 0] = singular[0, 0, :] = 0.0  # positive semi-definite, not definite
    inverse = lapack.hermitian_inverse(singular)[0]
    assert np.isfinite(inverse).all()
    np.testing.assert_allclose(inverse, np.conj(inverse.T))


# --- the layer of the benchmark -------------------------------------------------------


def _real_layer(dtype, padding):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((3, 3, 64, 128)) * np.sqrt(2 / 576)).astype(dtype)
    op = ConvOperator.from_weights(w, input_shape=(56, 56, 64), stride=2, padding=padding)
    return op, op.apply(rng.random((56, 56, 64)).astype(dtype))


def test_a_layer_of_128_channels_takes_six_cells_per_axis_in_single_precision() -> None:
    op, _ = _real_layer(np.float32, 1)
    assert affordable_cells(op, precond.symbol_grid(op)) == 6
    pre = SymbolPreconditioner(op)
    assert pre.kind == "cells" and pre.cells.cells == (6, 6) and pre.cells.single
    assert pre.border is not None and pre.border.matrices


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", [1, "same"])
def test_the_56x64_to_128_stride_2_pinv_converges_within_30_pairs(dtype, padding) -> None:
    # 61 pairs with the diagonal symbol; the issue asks for 40 (the preconditioner's own
    # set-up and products included: benchmarks/bench_real_layers_pinv.py measures those)
    op, y = _real_layer(dtype, padding)
    report = pinv_reconstruction(y, op, rtol=1e-6).report
    assert report.method == "pcg" and report.converged
    assert report.iterations <= 30
    assert report.relative_residual <= 1e-6


def test_a_preconditioner_is_kept_for_the_same_layer_and_reg_only(cells) -> None:
    cells()  # (whose set-up checks the cancel before its first batch)
    op = _random_op()
    kept = precond.symbol_preconditioner(op, 0.1)
    assert precond.symbol_preconditioner(op, 0.1) is kept
    assert precond.symbol_preconditioner(op, 0.2) is not kept
    other = op.replace(op.weights * 2)  # same geometry, other weights
    assert precond.symbol_preconditioner(other, 0.1) is not kept
    event = threading.Event()
    event.set()
    precond.clear_preconditioner_cache()
    with pytest.raises(SolveCancelled):  # a cancelled set-up is not kept
        precond.symbol_preconditioner(op, 0.1, cancel=event)
    assert precond.symbol_preconditioner(op, 0.1) is not kept


def test_a_preconditioner_larger_than_an_entry_is_built_afresh(monkeypatch) -> None:
    precond.clear_preconditioner_cache()
    op = _random_op()
    monkeypatch.setattr(precond, "_CACHE_ENTRY_LIMIT", precond.SymbolPreconditioner(op).nbytes - 1)
    assert precond.symbol_preconditioner(op) is not precond.symbol_preconditioner(op)
    monkeypatch.setattr(precond, "_CACHE_ENTRY_LIMIT", 64 * 2**20)
    assert precond.symbol_preconditioner(op) is precond.symbol_preconditioner(op)
