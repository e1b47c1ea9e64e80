"""J⁺ of a prefix with its last convolution's symbol preconditioner: the same answer as
numpy.linalg.pinv of the dense J (and Tikhonov's formula), from an SPD preconditioner."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import Conv, ConvTranspose, MaxPool, Network, ReLU
from deconv_gui.core.network.precondition import PrefixPreconditioner, prefix_preconditioner


def _net(rng, stride=1, c_last=6):
    w1 = rng.standard_normal((3, 3, 2, 4))
    w2 = rng.standard_normal((3, 3, 4, c_last))
    op1 = ConvOperator.from_weights(w1, input_shape=(10, 10, 2), padding=1)
    op2 = ConvOperator.from_weights(w2, input_shape=(5, 5, 4), stride=stride, padding=1)
    return Network([Conv(op1, rng.standard_normal(4)), ReLU(), MaxPool(2), Conv(op2)])


@pytest.mark.parametrize(("stride", "c_last"), [(1, 6), (2, 3)])
def test_preconditioned_pinv_equals_numpy_pinv(stride, c_last):
    rng = np.random.default_rng(stride)
    net = _net(rng, stride, c_last)
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    assert isinstance(prefix_preconditioner(net), PrefixPreconditioner)
    dense = lin.to_dense()
    target = lin.apply(x0)
    reference = np.linalg.pinv(dense) @ target.ravel()
    x, report = lin.pinv(target, rtol=1e-12, max_iter=500)
    assert report.converged
    assert np.allclose(x.ravel(), reference, atol=1e-8 * np.linalg.norm(reference))
    # a target outside the range of J (more outputs than unknowns): least squares
    noisy = target + rng.standard_normal(target.shape)
    reference = np.linalg.pinv(dense) @ noisy.ravel()
    x, _ = lin.pinv(noisy, rtol=1e-12, max_iter=800)
    assert np.allclose(x.ravel(), reference, atol=1e-6 * np.linalg.norm(reference))
    reg = 0.5
    tikhonov = np.linalg.solve(
        dense.T @ dense + reg * np.eye(dense.shape[1]), dense.T @ noisy.ravel()
    )
    x, _ = lin.pinv(noisy, reg=reg, rtol=1e-12, max_iter=500)
    assert np.allclose(x.ravel(), tikhonov, atol=1e-7 * np.linalg.norm(tikhonov))


def test_the_preconditioner_is_symmetric_positive_definite():
    rng = np.random.default_rng(5)
    net = _net(rng)
    pre = prefix_preconditioner(net)
    shape = net.shapes[-1]
    n = int(np.prod(shape))
    matrix = np.stack([pre(e.reshape(shape)).ravel() for e in np.eye(n)], axis=1)
    assert np.allclose(matrix, matrix.T, atol=1e-12 * np.abs(matrix).max())
    assert np.linalg.eigvalsh(0.5 * (matrix + matrix.T)).min() > 0


def test_no_preconditioner_without_a_last_convolution():
    rng = np.random.default_rng(6)
    net = _net(rng)
    assert prefix_preconditioner(Network([*net.layers, ReLU()])) is None
    op = ConvOperator.from_weights(rng.standard_normal((3, 3, 2, 4)), input_shape=(6, 6, 2))
    assert prefix_preconditioner(Network([ConvTranspose(op)])) is None
    with pytest.raises(ValueError, match=r"^preconditioner must be 'auto', None or a callable"):
        net.linearize(np.zeros(net.input_shape)).pinv(np.zeros(net.shapes[-1]), preconditioner="x")
