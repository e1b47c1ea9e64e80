"""A network's local linear map J against PyTorch's autograd, and J⁺ against numpy.linalg.pinv."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import (
    Affine,
    AvgPool,
    Conv,
    ConvTranspose,
    LeakyReLU,
    MaxPool,
    Network,
    ReLU,
    receptive_field,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _chain(rng, kind):
    """Our network and the same network as a torch function on NCHW tensors."""
    c0, h = 2, 12
    w1 = rng.standard_normal((3, 3, c0, 4))
    b1 = rng.standard_normal(4)
    op1 = ConvOperator.from_weights(w1, input_shape=(h, h, c0), stride=1, padding=1)
    gamma, beta = rng.random(4) + 0.5, rng.standard_normal(4)
    mean, var = rng.standard_normal(4), rng.random(4) + 0.1
    w2 = rng.standard_normal((3, 3, 4, 3))
    b2 = rng.standard_normal(3)
    h2 = h // 2  # after the 2×2 pooling
    op2 = ConvOperator.from_weights(
        w2, input_shape=(h2, h2, 4), stride=2, padding=1, padding_mode="reflect"
    )
    pool = MaxPool(2) if kind == "max" else AvgPool(2)
    act = ReLU() if kind == "max" else LeakyReLU(0.1)
    layers = [
        Conv(op1, b1),
        Affine.from_batchnorm(gamma, beta, mean, var),
        act,
        pool,
        Conv(op2, b2),
        ReLU(),
    ]
    # a transposed convolution back up (a decoder's layer): B maps 6×6×5 → 3×3×3
    wt = rng.standard_normal((3, 3, 5, 3))
    opt = ConvOperator.from_weights(wt, input_shape=(6, 6, 5), stride=2, padding=1)
    layers.append(ConvTranspose(opt, rng.standard_normal(5)))

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a))

    def torch_net(x, relu=F.relu, leaky=None):
        y = F.conv2d(x, t(w1.transpose(3, 2, 0, 1)), t(b1), padding=1)
        y = F.batch_norm(y, t(mean), t(var), t(gamma), t(beta), training=False, eps=1e-5)
        y = relu(y) if kind == "max" else (leaky or (lambda z: F.leaky_relu(z, 0.1)))(y)
        y = F.max_pool2d(y, 2) if kind == "max" else F.avg_pool2d(y, 2)
        y = F.conv2d(
            F.pad(y, (1, 1, 1, 1), mode="reflect"), t(w2.transpose(3, 2, 0, 1)), t(b2), stride=2
        )
        y = relu(y)
        return F.conv_transpose2d(
            y,
            t(wt.transpose(3, 2, 0, 1)),
            t(layers[-1].bias),
            stride=2,
            padding=1,
            output_padding=1,
        )

    return Network(layers), torch_net


def _nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)[None]))


def _hwc(t):
    return t.detach().numpy()[0].transpose(1, 2, 0)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_forward_jvp_and_vjp_equal_torch_autograd(kind):
    rng = np.random.default_rng(1 if kind == "max" else 2)
    net, torch_net = _chain(rng, kind)
    x0 = rng.standard_normal(net.input_shape)
    assert np.allclose(net.forward(x0), _hwc(torch_net(_nchw(x0))), atol=1e-10)
    lin = net.linearize(x0)
    v = rng.standard_normal(net.input_shape)
    _, jv = torch.func.jvp(torch_net, (_nchw(x0),), (_nchw(v),))
    assert np.allclose(lin.apply(v), _hwc(jv), atol=1e-9)
    u = rng.standard_normal(lin.output_shape)
    xt = _nchw(x0).requires_grad_(True)
    (torch_net(xt) * _nchw(u)).sum().backward()
    assert np.allclose(lin.apply_adjoint(u), _hwc(xt.grad), atol=1e-9)
    assert np.allclose(lin.apply(x0) + lin.offset, net.forward(x0), atol=1e-10)


class _DeconvReLU(torch.autograd.Function):
    """ReLU whose backward applies a ReLU to the signal (deconvnet); guided also masks."""

    guided = False

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        out = g.clamp(min=0)
        return out * (x > 0) if _DeconvReLU.guided else out


@pytest.mark.parametrize("guided", [False, True])
def test_deconvnet_and_guided_backprop_equal_a_custom_autograd_relu(guided):
    rng = np.random.default_rng(3)
    net, torch_net = _chain(rng, "max")
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    g = lin.output  # project the whole map, as Zeiler & Fergus project an activation
    _DeconvReLU.guided = guided
    xt = _nchw(x0).requires_grad_(True)
    (torch_net(xt, relu=_DeconvReLU.apply) * _nchw(g)).sum().backward()
    rule = "guided_backprop" if guided else "deconvnet"
    assert np.allclose(lin.project(g, rule), _hwc(xt.grad), atol=1e-9)


def test_full_jacobian_and_pinv_equal_dense_references():
    rng = np.random.default_rng(4)
    w1 = rng.standard_normal((3, 3, 1, 3))
    w2 = rng.standard_normal((3, 3, 3, 2))
    op1 = ConvOperator.from_weights(w1, input_shape=(8, 8, 1), padding=1)
    op2 = ConvOperator.from_weights(w2, input_shape=(4, 4, 3), stride=2, padding=1)
    net = Network([Conv(op1, rng.standard_normal(3)), ReLU(), MaxPool(2), Conv(op2), ReLU()])
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    dense = lin.to_dense()

    def f(x):
        y = F.conv2d(
            x,
            torch.from_numpy(w1.transpose(3, 2, 0, 1).copy()),
            torch.from_numpy(net.layers[0].bias),
            padding=1,
        )
        y = F.max_pool2d(F.relu(y), 2)
        return F.relu(
            F.conv2d(y, torch.from_numpy(w2.transpose(3, 2, 0, 1).copy()), stride=2, padding=1)
        )

    jac = torch.autograd.functional.jacobian(f, _nchw(x0))  # (1, C, H, W, 1, C0, H0, W0)
    jac = jac.numpy()[0].transpose(1, 2, 0, 3, 4, 5, 6)[..., 0, :, :, :].transpose(0, 1, 2, 4, 5, 3)
    assert np.allclose(dense, jac.reshape(dense.shape), atol=1e-10)
    target = lin.apply(x0)
    x, report = lin.pinv(target, rtol=1e-12, max_iter=500)
    assert report.converged
    reference = np.linalg.pinv(dense) @ target.ravel()
    assert np.allclose(x.ravel(), reference, atol=1e-7 * np.linalg.norm(reference))


def test_receptive_field_and_prefix():
    op = ConvOperator.from_weights(np.ones((3, 3, 1)), input_shape=(32, 32, 1), stride=2, padding=1)
    op2 = ConvOperator.from_weights(
        np.ones((3, 3, 1, 1)), input_shape=(16, 16, 1), padding=1, dilation=1
    )
    net = Network(
        [Conv(op, name="c1"), ReLU(name="r1"), Conv(op2, name="c2"), MaxPool(2, name="p")]
    )
    fields = receptive_field(net)
    assert [f.size for f in fields] == [(3, 3), (3, 3), (7, 7), (9, 9)]
    assert [f.jump for f in fields] == [(2, 2), (2, 2), (2, 2), (4, 4)]
    assert net.prefix("c2").shapes[-1] == (16, 16, 1)
    with pytest.raises(ValueError, match="layer 'nope' not found"):
        net.prefix("nope")
    with pytest.raises(ValueError, match="rule must be one of"):
        net.linearize(np.zeros((32, 32, 1))).project(np.zeros(net.shapes[-1]), "lrp")


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, 2, 0), (3, 2, 1), (2, 3, 1)])
def test_max_pool_switches_adjoint_equal_torch(kernel, stride, padding):
    """Windows apart (the winners written once) or overlapping (accumulated)."""
    rng = np.random.default_rng(kernel + 10 * stride)
    pool = MaxPool(kernel, stride, padding)
    x0 = rng.standard_normal((9, 11, 3))
    out, state = pool.forward(x0)
    u = rng.standard_normal(out.shape)
    xt = _nchw(x0).requires_grad_(True)
    y = F.max_pool2d(xt, kernel, stride, padding)
    (y * _nchw(u)).sum().backward()
    assert np.allclose(out, _hwc(y))
    assert np.allclose(pool.vjp(u, state), _hwc(xt.grad))
    assert np.allclose(pool.vjp(np.stack([u, 2 * u]), state)[1], 2 * _hwc(xt.grad))
