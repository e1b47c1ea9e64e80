"""The smooth activations and the product join in the core, against torch: each layer's
forward and slope against torch.nn.functional and autograd in float64, a product with a
1×1×C gate against torch.func jvp/vjp, its dot test, and the Keras executor's
activations against the same."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import (
    ELU,
    GELU,
    SELU,
    AvgPool,
    Conv,
    Erf,
    HardSigmoid,
    HardSwish,
    Network,
    Product,
    ReLU,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
    first_order,
    linearity_words,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional

CASES = [
    (Sigmoid(), torch.sigmoid),
    (Tanh(), torch.tanh),
    (SiLU(), F.silu),
    (GELU(), F.gelu),
    (GELU(approximate="tanh"), lambda x: F.gelu(x, approximate="tanh")),
    (Erf(), torch.erf),
    (HardSigmoid(), F.hardsigmoid),
    (HardSwish(), F.hardswish),
    (ELU(), F.elu),
    (ELU(0.5), lambda x: F.elu(x, 0.5)),
    (SELU(), F.selu),
    (Softplus(), F.softplus),
    (Softplus(2.0), lambda x: F.softplus(x, beta=2.0)),
]


@pytest.mark.parametrize(("layer", "reference"), CASES, ids=lambda c: getattr(c, "kind", ""))
def test_each_activation_and_its_slope_equal_torch(layer, reference):
    x = np.concatenate([np.linspace(-8, 8, 161) + 0.013, [-30.0, 30.0]])  # off the bends
    xt = torch.from_numpy(x).requires_grad_(True)
    y = reference(xt)
    (slope,) = torch.autograd.grad(y.sum(), xt)
    ours, state = layer.forward(x)
    assert np.allclose(ours, y.detach().numpy(), rtol=1e-12, atol=1e-14)
    # torch's hard sigmoid backward multiplies by 1/6 in float32 even on float64 (3·10⁻⁸)
    rtol = 1e-7 if layer.kind in ("hardsigmoid", "hardswish") else 1e-10
    assert np.allclose(state, slope.numpy(), rtol=rtol, atol=1e-14)
    v = np.random.default_rng(0).standard_normal(x.shape)
    assert np.array_equal(layer.jvp(v, state), layer.vjp(v, state))  # a diagonal
    assert np.array_equal(layer.deconvnet(v, state), layer.vjp(v, state))  # ReLUs only


def _gated(shape):
    """conv → SiLU → x · σ(conv(mean(x))) → ReLU: a squeeze-excitation over the map."""
    rng = np.random.default_rng(1)
    conv = Conv(
        ConvOperator.from_weights(rng.standard_normal((3, 3, 3, 4)), input_shape=shape, padding=1)
    )
    gate_op = ConvOperator.from_weights(rng.standard_normal((1, 1, 4, 4)), input_shape=(1, 1, 4))
    gate = Product([[], [AvgPool(shape[:2], shape[:2]), Conv(gate_op, np.ones(4)), Sigmoid()]])
    return Network([conv, SiLU(), gate, ReLU()], shape)


def test_a_gate_equals_central_differences_and_passes_the_dot_test():
    """J against the dense Jacobian by central differences of the forward pass, Jᵀ against
    its transpose, and the dot test."""
    shape = (6, 5, 3)
    net = _gated(shape)
    rng = np.random.default_rng(2)
    x0, v = rng.random(shape), rng.standard_normal(shape)
    lin = net.linearize(x0)
    u = rng.standard_normal(lin.output_shape)
    eps = 1e-6
    columns = [
        (net.forward(x0 + eps * e) - net.forward(x0 - eps * e)).ravel() / (2 * eps)
        for e in np.eye(x0.size).reshape(x0.size, *shape)
    ]
    numeric, dense = np.stack(columns, 1), lin.to_dense()
    assert np.abs(dense - numeric).max() < 1e-6 * np.abs(numeric).max()
    assert np.allclose(lin.apply_adjoint(u).ravel(), dense.T @ u.ravel(), atol=1e-12)
    left, right = np.vdot(lin.apply(v), u), np.vdot(v, lin.apply_adjoint(u))
    assert abs(left - right) <= 1e-12 * abs(left)
    assert first_order(net.layers) and linearity_words([ReLU()]) == "exact on x₀'s linear region"
    assert not first_order([HardSigmoid(), ReLU()])


def test_a_product_of_shapes_that_do_not_broadcast_is_refused_naming_it():
    pool = AvgPool(2, 2)
    with pytest.raises(ValueError, match="product 'p': its branches give 6×6×2, 3×3×2"):
        Product([[], [pool]], name="p").output_shape((6, 6, 2))


@pytest.mark.parametrize("name", ["gelu", "hard_sigmoid", "hard_swish", "silu", "selu"])
def test_the_keras_executor_activations_equal_torch(name):
    from deconv_gui.io.models.keras_run import apply_activation

    reference = {
        "gelu": F.gelu,
        "hard_sigmoid": F.hardsigmoid,
        "hard_swish": F.hardswish,
        "silu": F.silu,
        "selu": F.selu,
    }[name]
    x = np.linspace(-6, 6, 97)
    want = reference(torch.from_numpy(x)).numpy()
    assert np.allclose(apply_activation(name, x, "layer"), want, rtol=1e-12, atol=1e-14)
