"""The operator-centred core: every reconstruction and analysis takes a ConvOperator too.

A ready operator must give bit-for-bit the answer of the loose ``weights, input_shape,
stride, padding, dilation`` arguments it was built from, a geometry argument that
contradicts the operator must be refused by name, and the shared helpers (one
relative-norm rule, one locked cache) must hold their documented rules.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from reference import conv2d_loop, conv2d_transpose_loop

from deconv_gui.core import (
    ConvGeometry,
    ConvOperator,
    adjoint_dot_test,
    as_operator,
    compare_arrays,
    conv2d,
    coverage_map,
    dense_matrices,
    effective_kernel,
    make_filter,
    normalized_transposed_reconstruction,
    pinv_reconstruction,
    rank_info,
    relative_residual,
    singular_values,
    split_components,
    tikhonov_curve,
    transposed_reconstruction,
)
from deconv_gui.core._cache import LRUCache
from deconv_gui.core.norms import relative_norm

SHAPE = (9, 8, 2)
HYPER = {"stride": (2, 1), "padding": 1, "dilation": (1, 2)}


@pytest.fixture
def problem():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((3, 2, 2, 2))
    x = rng.standard_normal(SHAPE)
    y = conv2d(x, w, 0.5, **HYPER)
    return w, x, y


def _same(a, b):
    if isinstance(a, tuple):
        for left, right in zip(a, b, strict=True):
            _same(left, right)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif hasattr(a, "_fields"):
        _same(tuple(a), tuple(b))
    else:
        assert a == b


def test_each_function_gives_the_same_answer_from_an_operator(problem):
    w, x, y = problem
    op = as_operator(w, SHAPE, **HYPER)
    loose = {"input_shape": SHAPE, **HYPER}
    pairs = [
        (
            transposed_reconstruction(y, w, 0.5, **loose),
            transposed_reconstruction(y, op, 0.5),
        ),
        (
            normalized_transposed_reconstruction(y, w, 0.5, **loose),
            normalized_transposed_reconstruction(y, op, 0.5),
        ),
        (coverage_map(w, **loose), coverage_map(op)),
        (pinv_reconstruction(y, w, 0.5, **loose).image, pinv_reconstruction(y, op, 0.5).image),
        (
            pinv_reconstruction(y, w, 0.5, **loose, method="iterative").image,
            pinv_reconstruction(y, op, 0.5, method="iterative").image,
        ),
        (rank_info(w, **loose), rank_info(op)),
        (singular_values(w, **loose, method="symbol"), singular_values(op, method="symbol")),
        (split_components(x, w, **HYPER).lost, split_components(x, op).lost),
        (
            tikhonov_curve(y, w, 0.5, [0.0, 0.1], **loose).residual_norms,
            tikhonov_curve(y, op, 0.5, [0.0, 0.1]).residual_norms,
        ),
        (relative_residual(x, y, w, 0.5, **HYPER), relative_residual(x, y, op, 0.5)),
        (adjoint_dot_test(w, **loose), adjoint_dot_test(op)),
        (
            effective_kernel(w, (2, 3), **loose, method="iterative").image,
            effective_kernel(op, (2, 3), method="iterative").image,
        ),
        (dense_matrices(w, **loose).A_pinv, dense_matrices(op).A_pinv),
    ]
    for from_loose, from_operator in pairs:
        _same(from_loose, from_operator)


def test_operator_methods_match_the_literal_loops(problem):
    w, x, y = problem
    op = ConvOperator.from_weights(w, input_shape=SHAPE, **HYPER)
    np.testing.assert_allclose(op.apply(x), conv2d_loop(x, w, None, **HYPER), atol=1e-12)
    centred = y - 0.5
    np.testing.assert_allclose(
        op.apply_adjoint(centred), conv2d_transpose_loop(centred, w, SHAPE, **HYPER), atol=1e-12
    )
    batch = np.stack([x, 2 * x])
    np.testing.assert_allclose(op.apply(batch)[1], 2 * op.apply(x), atol=1e-12)
    assert op.apply(x.astype(np.float32)).dtype == np.float32
    assert op.apply(x.astype(int)).dtype == np.float64


def test_operator_refuses_an_array_of_the_wrong_shape(problem):
    w, x, _ = problem
    op = as_operator(w, SHAPE, **HYPER)
    with pytest.raises(ValueError, match="x must have shape"):
        op.apply(x[:-1])
    with pytest.raises(ValueError, match="y must have shape"):
        op.apply_adjoint(x)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"input_shape": (9, 9, 2)}, "input_shape"),
        ({"stride": 3}, "stride"),
        ({"padding": 2}, "padding"),
        ({"dilation": (2, 2)}, "dilation"),
    ],
)
def test_a_geometry_argument_that_contradicts_the_operator_is_refused(problem, kwargs, name):
    w, _, y = problem
    op = as_operator(w, SHAPE, **HYPER)
    with pytest.raises(ValueError, match=f"{name} .* disagrees with the operator's {name}"):
        transposed_reconstruction(y, op, **kwargs)


def test_geometry_arguments_that_repeat_the_operator_are_accepted(problem):
    w, _, y = problem
    op = as_operator(w, SHAPE, **HYPER)
    _same(
        pinv_reconstruction(y, op, input_shape=SHAPE, **HYPER).image,
        pinv_reconstruction(y, w, input_shape=SHAPE, **HYPER).image,
    )


def test_make_operator_from_geometry_and_from_weights_agree():
    w = make_filter("random")
    geometry = ConvGeometry((7, 7, 3), w.shape, 2)
    _same(
        ConvOperator(geometry, w).to_dense(),
        ConvOperator.from_weights(w, input_shape=(7, 7, 3), stride=2).to_dense(),
    )


def test_relative_norm_rule_is_shared_by_every_relative_number():
    assert relative_norm(3.0, 4.0) == 0.75
    assert relative_norm(0.0, 0.0) == 0.0
    assert relative_norm(1e-300, 0.0) == float("inf")
    w = np.ones((2, 2, 1))
    zero_y = np.zeros((2, 2, 1))
    # a zero output and a non-zero estimate: a residual relative to nothing is infinite
    assert relative_residual(np.ones((4, 4, 1)), zero_y, w, stride=2) == float("inf")
    assert relative_residual(np.zeros((4, 4, 1)), zero_y, w, stride=2) == 0.0
    assert compare_arrays(np.ones(3), np.zeros(3)).relative_error == float("inf")
    assert compare_arrays(np.zeros(3), np.zeros(3)).relative_error == 0.0
    # the solver's report and the dense solve agree on a zero right-hand side
    for method in ("dense", "iterative"):
        solved = pinv_reconstruction(zero_y, w, input_shape=(4, 4, 1), stride=2, method=method)
        assert solved.report.relative_residual == 0.0


def test_lru_cache_keeps_the_most_recent_entries():
    cache: LRUCache[int] = LRUCache(maxsize=2)
    calls = []

    def compute(value):
        calls.append(value)
        return value

    assert cache.get_or_compute("a", lambda: compute(1)) == 1
    assert cache.get_or_compute("b", lambda: compute(2)) == 2
    assert cache.get_or_compute("a", lambda: compute(9)) == 1  # hit: "a" is now the newest
    cache.get_or_compute("c", lambda: compute(3))  # evicts "b", the least recently used
    assert "a" in cache and "c" in cache and "b" not in cache
    assert calls == [1, 2, 3]
    with pytest.raises(ValueError, match="maxsize"):
        LRUCache(maxsize=0)


def test_lru_cache_survives_many_threads_filling_it_at_once():
    cache: LRUCache[int] = LRUCache(maxsize=4)
    start = threading.Barrier(8)

    def hammer(worker):
        start.wait()
        for i in range(2000):
            key = (worker + i) % 16
            assert cache.get_or_compute(key, lambda key=key: key * key) == key * key
        return True

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(hammer, range(8)))
    assert len(cache) == 4


def test_exact_rank_from_two_threads_agrees_with_numpy():
    w = make_filter("seed_question")
    shapes = [(7, 7, 3), (9, 7, 3), (8, 8, 3), (7, 9, 3)] * 3

    def rank_of(shape):
        return rank_info(w, input_shape=shape, stride=2).rank

    with ThreadPoolExecutor(2) as pool:
        ranks = list(pool.map(rank_of, shapes))
    for shape, rank in zip(shapes, ranks, strict=True):
        dense = as_operator(w, shape, stride=2).to_dense(np.float64)
        assert rank == np.linalg.matrix_rank(dense)
