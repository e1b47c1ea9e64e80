"""The network up to a layer past smooth activations (SiLU, GELU, hard swish, sigmoid, …)
and Muls of branches (SiLU as ``x · σ(x)``, a gated branch, a squeeze-excitation gate) in
ONNX and Keras models: the forward pass against onnxruntime and torch, J v and Jᵀ u
against torch.func.jvp and vjp at x₀, a dot test, J⁺ against numpy.linalg.pinv of the
dense J, the deconvnet and guided backprop against torch with only the ReLUs' backward
replaced, and the one-line refusal of a Softmax."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.core.network import FIRST_ORDER_WORDS, Product, first_order, flat_layers, run_prefix
from deconv_gui.io.models import read_model
from deconv_gui.io.models.activations import onnx_tensors
from deconv_gui.io.models.network import model_network

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
nn, F = torch.nn, torch.nn.functional


class _Rule(torch.autograd.Function):
    """A ReLU whose backward is the deconvnet's (``relu(u)``) or guided backprop's."""

    guided = False

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.relu(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        out = grad.clamp(min=0)
        return out * (x > 0) if _Rule.guided else out


class _Gated(nn.Module):
    """conv → SiLU → conv → GELU → gated by σ(conv) → squeeze-excitation → ReLU → hard
    swish → conv: the blocks of EfficientNet and MobileNetV3."""

    rule = ""  # the ReLUs' backward: autograd's, or "deconvnet" / "guided"

    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv2d(3, 4, 3, padding=1)
        self.c1 = nn.Conv2d(4, 4, 3, padding=1)
        self.gate = nn.Conv2d(4, 4, 1)
        self.squeeze, self.excite = nn.Conv2d(4, 2, 1), nn.Conv2d(2, 4, 1)
        self.head = nn.Conv2d(4, 2, 3)

    def relu(self, x):
        if self.rule:
            _Rule.guided = self.rule == "guided"
            return _Rule.apply(x)
        return torch.relu(x)

    def forward(self, x):
        x = F.gelu(self.c1(F.silu(self.c0(x))))
        x = x * torch.sigmoid(self.gate(x))
        s = torch.sigmoid(self.excite(self.relu(self.squeeze(F.adaptive_avg_pool2d(x, 1)))))
        return self.head(F.hardswish(self.relu(x * s)))


_ACTIVATIONS = [
    F.silu,
    F.gelu,
    lambda x: F.gelu(x, approximate="tanh"),
    F.hardswish,
    F.hardsigmoid,
    torch.sigmoid,
    torch.tanh,
    F.elu,
    F.selu,
    F.softplus,
]


class _Chain(nn.Module):
    """Each activation after a 1×1 conv, then a 3×3 head."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(3, 3, 1) for _ in _ACTIVATIONS)
        self.head = nn.Conv2d(3, 2, 3)

    def forward(self, x):
        for conv, act in zip(self.convs, _ACTIVATIONS, strict=True):
            x = act(conv(x))
        return self.head(x)


class _Softmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.c0, self.head = nn.Conv2d(3, 2, 3, padding=1), nn.Conv2d(2, 2, 3)

    def forward(self, x):
        return self.head(torch.softmax(self.c0(x), dim=1))


def _export(net, path, shape, opset=17, dynamo=False):
    x = torch.randn(1, 3, *shape)
    if dynamo:  # opset 20: Gelu nodes, the squeeze a ReduceMean
        pytest.importorskip("onnxscript")
        torch.onnx.export(net, (x,), str(path), dynamo=True, verbose=False)
    else:
        torch.onnx.export(net, x, str(path), dynamo=False, opset_version=opset)


def _nchw(a):
    return torch.from_numpy(np.ascontiguousarray(np.transpose(a, (2, 0, 1))[None]))


def _hwc(t):
    return t.detach().numpy()[0].transpose(1, 2, 0)


def _error(ours, reference):
    """The largest difference relative to the reference's largest value."""
    assert ours.shape == reference.shape
    return float(np.abs(ours - reference).max() / max(1.0, np.abs(reference).max()))


def _head(model):
    (name,) = [r.name for r in model.layers if "head" in r.name]
    return model.layer(name)


def _net(cls, seed=0):
    torch.manual_seed(seed)
    return cls().eval()


def _check_against_torch(network, net, path, record, x0, rng):
    """Forward against onnxruntime, J v and Jᵀ u against torch at x₀, the dot test."""
    out = network.forward(x0)
    (ort,) = onnx_tensors(path, x0.astype(np.float32), [record.output])
    assert _error(out, ort) < 1e-5
    net64 = net.double()
    lin = network.linearize(x0)
    v, u = rng.standard_normal(x0.shape), rng.standard_normal(lin.output_shape)
    _, jv = torch.func.jvp(net64, (_nchw(x0),), (_nchw(v),))
    assert _error(lin.apply(v), _hwc(jv)) < 1e-9
    _, pullback = torch.func.vjp(net64, _nchw(x0))
    assert _error(lin.apply_adjoint(u), _hwc(pullback(_nchw(u))[0])) < 1e-9
    left, right = np.vdot(lin.apply(v), u), np.vdot(v, lin.apply_adjoint(u))
    assert abs(left - right) <= 1e-12 * abs(left) + 1e-12  # the dot test
    return lin


@pytest.mark.parametrize("opset", [17, 20, "dynamo"])
def test_each_smooth_activation_equals_onnxruntime_and_torch_autograd(tmp_path, opset):
    """At opset 17 torch writes GELU out (Div, Erf, Add, Mul, Mul) and its tanh form as
    Muls and a Tanh; at 20 as Gelu nodes; the dynamo exporter writes softplus's threshold
    as a Where: all give torch's forward and derivatives."""
    net = _net(_Chain)
    path = tmp_path / "chain.onnx"
    _export(net, path, (7, 6), 20 if opset == "dynamo" else opset, dynamo=opset == "dynamo")
    model = read_model(path)
    rng = np.random.default_rng(1)
    x0 = 2 * rng.standard_normal((7, 6, 3))  # both sides of every bend
    record = _head(model)
    network = model_network(model, record.name, x0.shape)
    top = [layer.kind for layer in network.layers]
    kinds = top + [layer.kind for layer, _ in flat_layers(network.layers)]
    for kind in ("hardswish", "hardsigmoid", "sigmoid", "tanh", "elu", "selu", "softplus"):
        assert kind in kinds
    if opset != 17:
        assert top.count("gelu") == 2 and "product" in top  # SiLU: x · σ(x)
    else:
        assert "erf" in kinds and top.count("product") >= 3
    assert first_order(network.layers)
    _check_against_torch(network, net, path, record, x0, rng)


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_gated_blocks_equal_onnxruntime_and_torch_autograd(tmp_path, dynamo):
    net = _net(_Gated)
    path = tmp_path / "gated.onnx"
    _export(net, path, (8, 7), dynamo=dynamo)
    model = read_model(path)
    rng = np.random.default_rng(2)
    x0 = rng.random((8, 7, 3))
    record = _head(model)
    network = model_network(model, record.name, x0.shape)
    products = [layer for layer in network.layers if isinstance(layer, Product)]
    # SiLU, GELU (written out at opset 17, a Gelu node at 20), the gate, the excitation
    assert len(products) == (3 if dynamo else 4)
    se = products[-1]
    assert se.branch_shapes((8, 7, 4)) == [(8, 7, 4), (1, 1, 4)]
    assert [layer.kind for layer in se.branches[1]][:2] == ["avgpool", "conv"]
    _check_against_torch(network, net, path, record, x0, rng)


@pytest.mark.parametrize("rule", ["deconvnet", "guided"])
def test_deconvnet_and_guided_change_only_the_relus_as_torch(tmp_path, rule):
    net = _net(_Gated, 1)
    path = tmp_path / "gated.onnx"
    _export(net, path, (8, 6))
    model = read_model(path)
    rng = np.random.default_rng(3)
    x0 = rng.random((8, 6, 3))
    lin = model_network(model, _head(model).name, x0.shape).linearize(x0)
    u = rng.standard_normal(lin.output_shape)
    x = _nchw(x0).requires_grad_(True)
    net64 = net.double()
    net64.rule = rule
    (net64(x) * _nchw(u)).sum().backward()
    ours = lin.project(u, "deconvnet" if rule == "deconvnet" else "guided_backprop")
    assert _error(ours, _hwc(x.grad)) < 1e-9
    assert _error(lin.project(u, "backprop"), _hwc(x.grad)) > 1e-3  # the rules differ here


def test_pinv_past_smooth_layers_equals_numpy_pinv_and_every_panel_runs(tmp_path):
    path = tmp_path / "gated.onnx"
    _export(_net(_Gated, 2), path, (6, 5))
    model = read_model(path)
    rng = np.random.default_rng(4)
    x0 = rng.random((6, 5, 3))
    lin = model_network(model, _head(model).name, x0.shape).linearize(x0)
    dense = lin.to_dense()
    assert dense.shape == (4 * 3 * 2, 6 * 5 * 3)
    u = rng.standard_normal(lin.output_shape)
    want = (np.linalg.pinv(dense) @ u.ravel()).reshape(x0.shape)
    got, report = lin.pinv(u, rtol=1e-12, max_iter=20_000)
    assert _error(got, want) < 1e-6, report.message
    result = run_prefix(lin.network, x0, ("transposed", "pinv", "nullspace", "guided_backprop"))
    assert all(np.isfinite(image).all() for image in result.images.values())


def test_a_softmax_over_the_channels_is_refused_in_one_line(tmp_path):
    path = tmp_path / "softmax.onnx"
    _export(_net(_Softmax), path, (6, 6))
    model = read_model(path)
    with pytest.raises(ValueError) as info:
        model_network(model, _head(model).name, (6, 6, 3))
    text = str(info.value)
    assert text.startswith(f"the prefix up to {_head(model).name} contains a Softmax node")
    assert "Muls of branches only" in text and "\n" not in text


def test_cli_through_says_first_order_in_its_sidecar_and_summary(tmp_path, capsys):
    from deconv_gui.cli import main as cli_main

    path = tmp_path / "gated.onnx"
    _export(_net(_Gated), path, (8, 8))
    head = _head(read_model(path)).name
    out = tmp_path / "out"
    args = ["run", "--model", str(path), "--layer", head, "--through", "--image", "chelsea"]
    args += ["--methods", "transposed,guided_backprop", "--out", str(out)]
    assert cli_main(args) == 0
    assert FIRST_ORDER_WORDS in capsys.readouterr().out
    record = json.loads((out / "through.json").read_text())
    assert record["linearisation"] == FIRST_ORDER_WORDS
    kinds = [layer["kind"] for layer in record["layers"]]
    assert kinds.count("product") == 4 and "conv" in kinds
    info = ["info", "--model", str(path), "--layer", head, "--through", "--image", "chelsea"]
    assert cli_main(info) == 0
    assert f"J at the image ({FIRST_ORDER_WORDS})" in capsys.readouterr().out


def test_keras_swish_gelu_and_multiply_equal_keras_and_its_autograd(tmp_path):
    import os

    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    layers = keras.layers
    inputs = keras.Input((8, 6, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="swish", name="c0")(inputs)
    x = layers.Conv2D(4, 3, padding="same", activation="gelu", name="c1")(x)
    gate = layers.Conv2D(4, 1, activation="sigmoid", name="gate")(x)
    x = layers.Multiply(name="gated")([x, gate])
    s = layers.GlobalAveragePooling2D(keepdims=True, name="squeeze")(x)
    s = layers.Conv2D(4, 1, activation="hard_sigmoid", name="excite")(s)
    x = layers.Multiply(name="se")([x, s])
    x = layers.Activation("hard_swish", name="hs")(x)
    model = keras.Model(inputs, layers.Conv2D(2, 3, name="head")(x))
    model.save(tmp_path / "gated.keras")
    record = read_model(tmp_path / "gated.keras")
    rng = np.random.default_rng(5)
    x0 = rng.random((8, 6, 3))
    network = model_network(record, "head", x0.shape)
    assert [layer.kind for layer in network.layers] == [
        "conv", "silu", "conv", "gelu", "product", "product", "hardswish", "conv",
    ]  # fmt: skip
    xt = torch.from_numpy(x0[None].astype(np.float32))
    assert _error(network.forward(x0), model(xt).detach().numpy()[0]) < 1e-5
    lin = network.linearize(x0)
    u = rng.standard_normal(lin.output_shape)
    x = xt.clone().requires_grad_(True)
    (model(x) * torch.from_numpy(u[None].astype(np.float32))).sum().backward()
    assert _error(lin.apply_adjoint(u), x.grad.numpy()[0]) < 1e-5


class _Softplus(nn.Module):
    """conv → softplus(β, threshold) → conv → softplus(β = 1/2) → head."""

    def __init__(self, threshold):
        super().__init__()
        self.c0, self.c1 = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1)
        self.act = nn.Softplus(beta=2.0, threshold=threshold)
        self.head = nn.Conv2d(3, 2, 3)

    def forward(self, x):
        return self.head(F.softplus(self.c1(self.act(self.c0(x))), beta=0.5))


@pytest.mark.parametrize("threshold", [3.0, 20.0])
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_softplus_with_beta_and_threshold_equals_torch_and_onnxruntime(tmp_path, dynamo, threshold):
    """The dynamo exporter writes ``Where(βx > t, x, Softplus(βx) / β)``: read as one layer
    with β and t, torch's own, linear region included. The TorchScript exporter writes
    ``Softplus(βx) / β`` and drops the threshold: read as the file says (onnxruntime),
    torch's with no threshold."""
    torch.manual_seed(5)
    net = _Softplus(threshold).eval()
    path = tmp_path / "softplus.onnx"
    _export(net, path, (6, 5), dynamo=dynamo)
    model = read_model(path)
    rng = np.random.default_rng(5)
    x0 = 3 * rng.standard_normal((6, 5, 3))
    with torch.no_grad():
        scaled = 2 * net.c0(_nchw(x0).float()).numpy()
    assert 0 < (scaled > threshold).sum() < scaled.size or threshold == 20  # both regions
    record = _head(model)
    network = model_network(model, record.name, x0.shape)
    softplus = [layer for layer in network.layers if layer.kind == "softplus"]
    assert len(softplus) == 2
    if dynamo:
        assert [(s.beta, s.threshold) for s in softplus] == [(2.0, threshold), (0.5, 20.0)]
    else:  # a scale before and after each, no threshold (the second's, 20, is not reached)
        assert all(s.threshold == np.inf for s in softplus)
        net.act.threshold = np.inf
    _check_against_torch(network, net, path, record, x0, rng)
    if threshold == 3:  # the linear region is reached: with the threshold or without differ
        net.act.threshold = np.inf if dynamo else 3.0
        with torch.no_grad():
            other = _hwc(net.double()(_nchw(x0)))
        assert _error(network.forward(x0), other) > 1e-4  # against 1e-9 with it
