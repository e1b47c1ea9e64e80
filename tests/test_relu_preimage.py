"""The minimum-norm ReLU preimage against a convex solver."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from deconv_gui.core import ConvOperator, ConvTransposeOperator, make_filter
from deconv_gui.core.network.relu_preimage import relu_preimage

cp = pytest.importorskip("cvxpy")


def _convex(op, y, b) -> np.ndarray:
    """The QP by cvxpy (Clarabel) on the dense matrix."""
    a = op.to_dense().astype(np.float64)
    eq = y.ravel() > 0
    bb = np.broadcast_to(b, y.shape).ravel()
    x = cp.Variable(a.shape[1])
    constraints = [a[eq] @ x == y.ravel()[eq] - bb[eq]]
    if (~eq).any():
        constraints.append(a[~eq] @ x <= -bb[~eq])
    # Clarabel's default gap (1e-8 of ‖x‖²) leaves x off by ~1e-4 on the larger layer
    tight = {"tol_gap_abs": 1e-13, "tol_gap_rel": 1e-13, "tol_feas": 1e-12}
    cp.Problem(cp.Minimize(cp.sum_squares(x)), constraints).solve(solver=cp.CLARABEL, **tight)
    return x.value


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "c_out", "shift"),
    [
        ((7, 7, 3), 3, 2, 1, 0.3),
        ((6, 8, 2), 3, 1, 2, 0.1),
        ((8, 8, 1), 2, 2, 3, -0.2),
        ((16, 14, 3), 3, 2, 4, 0.5),  # most outputs zero, many of them tight
    ],
)
def test_equals_the_convex_solver(shape, kernel, stride, c_out, shift):
    rng = np.random.default_rng(sum(shape) + c_out)
    w = rng.standard_normal((kernel, kernel, shape[2], c_out))
    op = ConvOperator.from_weights(w, input_shape=shape, stride=stride)
    b = rng.standard_normal(c_out) * 0.2 - shift
    y = np.maximum(op.apply(rng.standard_normal(shape)) + b, 0)
    ours = relu_preimage(y, op, b)
    expected = _convex(op, y, b)
    assert np.allclose(ours.image.ravel(), expected, atol=1e-6 * max(np.abs(expected).max(), 1))
    assert ours.converged and ours.equality_residual < 1e-7 and ours.max_violation < 1e-7
    a = op.to_dense().astype(np.float64)
    eq = y.ravel() > 0
    assert ours.n_equalities == eq.sum() and ours.n_inequalities == (~eq).sum()
    assert ours.free_directions == a.shape[1] - np.linalg.matrix_rank(a[eq])


def test_a_working_set_with_no_common_solution_falls_back_to_the_dual(monkeypatch):
    # more outputs than unknowns and a noisy y: the inequalities the active set takes in
    # over-determine its equations; L-BFGS-B on the dual goes on from the last good pass
    rng = np.random.default_rng(3)
    op = ConvOperator.from_weights(rng.standard_normal((3, 3, 1, 3)), input_shape=(8, 8, 1))
    clean = op.apply(rng.standard_normal((8, 8, 1)))
    y = np.maximum(clean + 0.5 * rng.standard_normal(clean.shape), 0)
    module = sys.modules[relu_preimage.__module__]
    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        return lbfgsb(*args, **kwargs)

    lbfgsb = module._lbfgsb
    monkeypatch.setattr(module, "_lbfgsb", spy)
    ours = relu_preimage(y, op, 0.0)
    assert calls  # the active set handed over
    expected = _convex(op, y, 0.0)  # feasible: 51 positive outputs, 64 unknowns
    assert np.allclose(ours.image.ravel(), expected, atol=1e-5 * np.abs(expected).max())
    assert ours.equality_residual < 1e-6 and ours.max_violation < 1e-6
    # an output no image gives (more positive outputs than unknowns): never converged,
    # though L-BFGS-B on the dual (unbounded below) stops "successfully" on it
    y = np.maximum(clean + 0.5 * rng.standard_normal(clean.shape), 0) + 0.1
    for limit in (300, 2000):
        found = relu_preimage(y, op, 0.0, max_iter=limit)
        assert not found.converged and found.equality_residual > 0.1


def test_a_transposed_layer_is_solved_without_the_symbol():
    rng = np.random.default_rng(4)
    op = ConvTransposeOperator.from_weights(
        rng.standard_normal((3, 3, 2, 3)), input_shape=(4, 4, 3), stride=2, padding=1
    )
    b = np.array([0.1, -0.3])
    y = np.maximum(op.apply(rng.standard_normal(op.geometry.input_shape)) + b, 0)
    ours = relu_preimage(y, op, b)
    expected = _convex(op, y, b)
    assert ours.converged
    assert np.allclose(ours.image.ravel(), expected, atol=1e-6 * max(np.abs(expected).max(), 1))


def test_the_questions_layer_loses_more_with_a_relu():
    # the 7×7×3 image, 3×3×3 filter, stride 2: 138 dimensions lost by the linear map; every
    # zero of ReLU's output frees one more (its equation becomes a half-space)
    op = ConvOperator.from_weights(make_filter("seed_question"), input_shape=(7, 7, 3), stride=2)
    x = np.random.default_rng(0).random((7, 7, 3))
    y_lin = op.apply(x)
    b = -np.median(y_lin)
    y = np.maximum(y_lin + b, 0)
    pre = relu_preimage(y, op, b)
    zeros = int((y == 0).sum())
    assert zeros > 0 and pre.free_directions == 138 + zeros
    assert np.allclose(np.maximum(op.apply(pre.image) + b, 0), y, atol=1e-8)


def test_bad_outputs_are_named():
    op = ConvOperator.from_weights(np.ones((3, 3, 1)), input_shape=(5, 5, 1))
    with pytest.raises(ValueError, match="y must have shape"):
        relu_preimage(np.zeros((4, 4, 1)), op)
    with pytest.raises(ValueError, match=">= 0"):
        relu_preimage(-np.ones((3, 3, 1)), op)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"bias": [0.1, 0.2]}, "bias"),
        ({"bias": [np.nan, 0.1, 0.2]}, "bias"),
        ({"rtol": 0.0}, "rtol"),
        ({"rtol": "1e-8"}, "rtol"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, named):
    rng = np.random.default_rng(5)
    op = ConvOperator.from_weights(rng.standard_normal((3, 3, 1, 3)), input_shape=(6, 6, 1))
    y = np.maximum(op.apply(rng.standard_normal((6, 6, 1))), 0)
    with pytest.raises(ValueError, match=f"^{named} must"):
        relu_preimage(y, op, **kwargs)
