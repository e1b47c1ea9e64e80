"""The minimum-norm ReLU preimage against a convex solver."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator, make_filter
from deconv_gui.core.network.relu_preimage import relu_preimage

cp = pytest.importorskip("cvxpy")


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "c_out", "shift"),
    [((7, 7, 3), 3, 2, 1, 0.3), ((6, 8, 2), 3, 1, 2, 0.1), ((8, 8, 1), 2, 2, 3, -0.2)],
)
def test_equals_the_convex_solver(shape, kernel, stride, c_out, shift):
    rng = np.random.default_rng(sum(shape) + c_out)
    w = rng.standard_normal((kernel, kernel, shape[2], c_out))
    op = ConvOperator.from_weights(w, input_shape=shape, stride=stride)
    b = rng.standard_normal(c_out) * 0.2 - shift
    y = np.maximum(op.apply(rng.standard_normal(shape)) + b, 0)
    ours = relu_preimage(y, op, b)
    a = op.to_dense().astype(np.float64)
    eq = y.ravel() > 0
    bb = np.broadcast_to(b, y.shape).ravel()
    x = cp.Variable(a.shape[1])
    constraints = [a[eq] @ x == y.ravel()[eq] - bb[eq]]
    if (~eq).any():
        constraints.append(a[~eq] @ x <= -bb[~eq])
    cp.Problem(cp.Minimize(cp.sum_squares(x)), constraints).solve(solver=cp.CLARABEL)
    assert np.allclose(ours.image.ravel(), x.value, atol=1e-6 * max(np.abs(x.value).max(), 1))
    assert ours.converged and ours.equality_residual < 1e-7 and ours.max_violation < 1e-7
    assert ours.n_equalities == eq.sum() and ours.n_inequalities == (~eq).sum()
    assert ours.free_directions == a.shape[1] - np.linalg.matrix_rank(a[eq])


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
