"""J⁺ of a conv and its (leaky) ReLU, preconditioned by the conv's symbol scaled by the
slopes: symmetric positive definite, the answer of numpy.linalg.pinv of the dense J (and of
Tikhonov's formula) for a y outside J's range, in fewer iterations than plain CG."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator, ConvTransposeOperator
from deconv_gui.core.network import Conv, LeakyReLU, Network, ReLU
from deconv_gui.core.network.precondition import (
    ActivationPreconditioner,
    PrefixPreconditioner,
    prefix_preconditioner,
)
from deconv_gui.core.network.single import layer_network


def _layer(rng, activation, size=10, c_out=3, stride=2):
    w = rng.standard_normal((3, 3, 2, c_out))
    op = ConvOperator.from_weights(w, input_shape=(size, size, 2), stride=stride, padding=1)
    return [Conv(op, rng.standard_normal(c_out) * 0.5), activation]


def _matrix(pre, shape):
    n = int(np.prod(shape))
    return np.stack([pre(e.reshape(shape)).ravel() for e in np.eye(n)], axis=1)


@pytest.mark.parametrize("activation", [LeakyReLU(0.01), LeakyReLU(0.3), ReLU()])
@pytest.mark.parametrize("reg", [0.0, 0.2])
def test_the_preconditioner_is_spd_and_keeps_jplus(activation, reg):
    rng = np.random.default_rng(int(activation.slope * 100) + int(reg * 10))
    net = Network(_layer(rng, activation))
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    pre = prefix_preconditioner(net, reg=reg, states=lin.states)
    assert isinstance(pre, ActivationPreconditioner)
    matrix = _matrix(pre, net.shapes[-1])
    assert np.allclose(matrix, matrix.T, atol=1e-10 * np.abs(matrix).max())
    assert np.linalg.eigvalsh(0.5 * (matrix + matrix.T)).min() > 0
    dense = lin.to_dense()
    y = lin.apply(x0) + 0.1 * rng.standard_normal(net.shapes[-1])  # noise: maybe off J's range
    if reg == 0:
        expected = np.linalg.pinv(dense) @ y.ravel()
    else:
        normal = dense.T @ dense + reg * np.eye(dense.shape[1])
        expected = np.linalg.solve(normal, dense.T @ y.ravel())
    x, report = lin.pinv(y, reg=reg, rtol=1e-12, max_iter=2000)
    assert report.converged
    np.testing.assert_allclose(x.ravel(), expected, atol=1e-7 * np.abs(expected).max())


def test_a_small_slope_converges_in_few_iterations_where_plain_cg_does_not():
    rng = np.random.default_rng(11)
    net = Network(_layer(rng, LeakyReLU(0.01), size=24, c_out=4))
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    y = lin.apply(x0) + 0.05 * rng.standard_normal(net.shapes[-1])
    _x, ours = lin.pinv(y, rtol=1e-10, max_iter=100)
    _x, plain = lin.pinv(y, rtol=1e-10, max_iter=100, preconditioner=None)
    assert ours.converged and ours.iterations < 60
    assert not plain.converged


def test_a_deeper_prefix_ending_in_an_activation_scales_its_last_convs_preconditioner():
    rng = np.random.default_rng(12)
    first = _layer(rng, ReLU(), size=8, stride=1)
    w = rng.standard_normal((3, 3, 3, 2))
    op = ConvOperator.from_weights(w, input_shape=(8, 8, 3), stride=2, padding=1)
    net = Network([*first, Conv(op), LeakyReLU(0.1)])
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    pre = prefix_preconditioner(net, states=lin.states)
    assert isinstance(pre, ActivationPreconditioner)
    assert isinstance(pre.inner, PrefixPreconditioner)
    target = lin.apply(x0)
    x, report = lin.pinv(target, rtol=1e-12, max_iter=2000, consistent=True)
    assert report.converged
    expected = np.linalg.pinv(lin.to_dense()) @ target.ravel()
    np.testing.assert_allclose(x.ravel(), expected, atol=1e-8 * np.abs(expected).max())
    # without the states (the mask) there is nothing to scale by: plain CG
    assert prefix_preconditioner(net) is None


def test_a_transposed_layer_with_its_activation_solves_without_the_symbol():
    # core.network.single wraps a decoder's operator in a Conv layer: no stationary symbol
    rng = np.random.default_rng(13)
    op = ConvTransposeOperator.from_weights(
        rng.standard_normal((3, 3, 2, 3)), input_shape=(4, 4, 3), stride=2, padding=1
    )
    net = layer_network(op, rng.standard_normal(2) * 0.3, "relu")
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    assert prefix_preconditioner(net, states=lin.states) is None
    y = lin.apply(x0) + 0.1 * rng.standard_normal(net.shapes[-1])
    x, report = lin.pinv(y, rtol=1e-12, max_iter=3000)
    assert report.converged
    expected = np.linalg.pinv(lin.to_dense()) @ y.ravel()
    np.testing.assert_allclose(x.ravel(), expected, atol=1e-7 * np.abs(expected).max())
