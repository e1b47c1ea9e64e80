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


def _degenerate_cases():
    """Exactly reachable outputs whose optimum is degenerate, and what gives them."""
    rng = np.random.default_rng(0)
    # all outputs positive on a tall layer (1 -> 3 channels at stride 1, 108 × 36): A Aᵀ
    # is singular, the equations consistent
    tall = ConvOperator.from_weights(
        np.abs(rng.standard_normal((3, 3, 1, 3))), input_shape=(6, 6, 1), padding=1
    )
    y_tall = tall.apply(rng.random((6, 6, 1)) + 0.1) + 0.2
    # every output zero and a positive bias on a square 3 -> 3 layer: 126 inequalities
    # A x <= -b, feasible; the active set hands over and L-BFGS-B stops without its own
    # success at an x that meets the KKT conditions (reported unconverged before)
    w = np.random.default_rng(5).standard_normal((3, 3, 3, 3))
    square = ConvOperator.from_weights(w, input_shape=(7, 6, 3), padding=1)
    # ties: zeros whose pre-activation is exactly 0 at the given image (x0 has A_T x0 = 0)
    rng = np.random.default_rng(6)
    op = ConvOperator.from_weights(rng.standard_normal((3, 3, 2, 2)), input_shape=(8, 8, 2))
    a = op.to_dense().astype(np.float64)
    tied = rng.random(a.shape[0]) < 0.3
    x0 = rng.standard_normal(a.shape[1])
    x0 -= np.linalg.pinv(a[tied]) @ (a[tied] @ x0)
    y_tied = np.maximum(a @ x0, 0).reshape(op.geometry.output_shape)
    y_tied.ravel()[tied] = 0.0
    return {
        "all positive, tall": (tall, y_tall, 0.2),
        "all zero, positive bias": (square, np.zeros(square.geometry.output_shape), 0.6),
        "ties at zero": (op, y_tied, 0.0),
    }


@pytest.mark.parametrize("name", ["all positive, tall", "all zero, positive bias", "ties at zero"])
def test_degenerate_but_solved_outputs_are_converged(name):
    op, y, b = _degenerate_cases()[name]
    ours = relu_preimage(y, op, b)
    expected = _convex(op, y, b)
    assert np.allclose(ours.image.ravel(), expected, atol=1e-6 * max(np.abs(expected).max(), 1))
    assert ours.converged, ours
    if name == "all positive, tall":  # only equations: the pseudo-inverse
        a = op.to_dense().astype(np.float64)
        expected = np.linalg.pinv(a) @ (y.ravel() - b)
        np.testing.assert_allclose(ours.image.ravel(), expected, atol=1e-8)


def test_the_verdict_is_the_kkt_conditions_not_the_solvers_stop(monkeypatch):
    """An unreachable y (border outputs that read only padding, so A_i = 0 and b > 0 > −b),
    and a solver claiming success with a dual off by half: both not converged."""
    op = ConvOperator.from_weights(np.ones((1, 1, 2, 1)), input_shape=(5, 5, 2), padding=1)
    found = relu_preimage(np.zeros(op.geometry.output_shape), op, 0.5)
    assert not found.converged and found.max_violation == pytest.approx(1.0)
    op, y, b = _degenerate_cases()["ties at zero"]
    module = sys.modules[relu_preimage.__module__]
    solve = module._active_set

    def halved(*args):
        z, iterations, _ = solve(*args)
        return 0.5 * z, iterations, True

    monkeypatch.setattr(module, "_active_set", halved)
    assert not relu_preimage(y, op, b).converged
