"""The network up to a layer of a ResNet-like ONNX model (residual blocks: an Add of two
branches): its forward pass against onnxruntime and torch, J·v and Jᵀ·u against torch
autograd, the deconvnet and guided backprop against torch with the ReLU's backward
replaced, a dot test, and J⁺ against numpy.linalg.pinv of the dense J."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core.network import Residual
from deconv_gui.io.models import read_model
from deconv_gui.io.models.activations import onnx_tensors
from deconv_gui.io.models.network import model_network

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
nn = torch.nn


class _Rule(torch.autograd.Function):
    """A ReLU whose backward is the deconvnet's (``relu(u)``) or guided backprop's."""

    @staticmethod
    def forward(ctx, x, guided):
        ctx.save_for_backward(x)
        ctx.guided = guided
        return torch.relu(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        out = grad.clamp(min=0)
        return (out * (x > 0) if ctx.guided else out), None


class _Act(nn.Module):
    rule: str | None = None  # None: the ReLU; "deconvnet", "guided_backprop"

    def forward(self, x):
        if _Act.rule is None:
            return torch.relu(x)
        return _Rule.apply(x, _Act.rule == "guided_backprop")


class _Block(nn.Module):
    """torchvision's BasicBlock: conv-BN-ReLU-conv-BN, plus the input or its projection."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.act = _Act()
        self.down = None
        if stride != 1 or c_in != c_out:
            self.down = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def body(self, x):
        return self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))

    def forward(self, x):
        return self.act(self.body(x) + (x if self.down is None else self.down(x)))


class _ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4))
        self.act = _Act()
        self.layer1 = _Block(4, 4, 1)
        self.layer2 = _Block(4, 6, 2)
        self.head = nn.Conv2d(6, 2, 3, padding=1)

    def forward(self, x):
        return self.head(self.layer2(self.layer1(self.act(self.stem(x)))))


def _resnet():
    torch.manual_seed(0)
    net = _ResNet()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_()
                module.running_var.uniform_(0.5, 2)
                module.weight.normal_()
                module.bias.normal_()
    return net.eval()


def _prefixes(net):
    """The torch prefix up to each conv (its batch norm included), by the conv's name."""

    def h1(x):
        return net.layer1(net.act(net.stem(x)))

    l2 = net.layer2
    return {
        "layer2.conv1": lambda x: l2.bn1(l2.conv1(h1(x))),
        "layer2.conv2": lambda x: l2.body(h1(x)),
        "layer2.down": lambda x: l2.down(h1(x)),
        "head": net,
    }


def _export(net, path, dynamo, shape):
    x = torch.randn(1, 3, *shape)
    if dynamo:
        pytest.importorskip("onnxscript")
        torch.onnx.export(net, (x,), str(path), dynamo=True, verbose=False)
    else:
        torch.onnx.export(net, x, str(path), dynamo=False)


def _nchw(a):
    return torch.from_numpy(np.ascontiguousarray(np.transpose(a, (2, 0, 1))[None]))


def _hwc(t):
    return t.detach().numpy()[0].transpose(1, 2, 0)


def _error(ours, reference):
    """The largest difference relative to the reference's largest value."""
    assert ours.shape == reference.shape
    return float(np.abs(ours - reference).max() / max(1.0, np.abs(reference).max()))


def _record(model, key):
    (name,) = [r.name for r in model.layers if key in r.name.replace("/", ".")]
    return model.layer(name)


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_prefixes_through_residual_blocks_equal_onnxruntime_and_torch(tmp_path, dynamo):
    net = _resnet()
    path = tmp_path / "resnet.onnx"
    _export(net, path, dynamo, (12, 10))
    model = read_model(path)
    rng = np.random.default_rng(1)
    x0 = rng.random((12, 10, 3))
    references = _prefixes(net.double())
    for key, prefix in references.items():
        record = _record(model, key)
        network = model_network(model, record.name, x0.shape)
        out = network.forward(x0)
        (ort,) = onnx_tensors(path, x0.astype(np.float32), [record.output])
        assert _error(out, ort) < 1e-5, key
        with torch.no_grad():
            assert _error(out, _hwc(prefix(_nchw(x0)))) < 1e-5, key  # float32 weights
        lin = network.linearize(x0)
        v = rng.standard_normal(x0.shape)
        u = rng.standard_normal(lin.output_shape)
        _, jv = torch.func.jvp(prefix, (_nchw(x0),), (_nchw(v),))
        assert _error(lin.apply(v), _hwc(jv)) < 1e-5, key
        _, pullback = torch.func.vjp(prefix, _nchw(x0))
        assert _error(lin.apply_adjoint(u), _hwc(pullback(_nchw(u))[0])) < 1e-5, key
        # the dot test: <J v, u> = <v, Jᵀ u>
        left, right = np.vdot(lin.apply(v), u), np.vdot(v, lin.apply_adjoint(u))
        assert abs(left - right) <= 1e-12 * abs(left) + 1e-12
    blocks = [layer for layer in network.layers if isinstance(layer, Residual)]
    assert [(len(b.body), len(b.shortcut)) for b in blocks] == [(3, 0), (3, 1)]
    assert [layer.kind for layer in network.layers] == [
        "conv", "relu", "residual", "relu", "residual", "relu", "conv",
    ]  # fmt: skip


@pytest.mark.parametrize("rule", ["deconvnet", "guided_backprop"])
def test_backward_rules_through_residual_blocks_equal_torch_with_their_relu(tmp_path, rule):
    """Each branch sends the signal back by the rule and the two add up, as torch's
    autograd does at the fork with the ReLU's backward replaced by the rule's."""
    net = _resnet()
    path = tmp_path / "resnet.onnx"
    _export(net, path, False, (12, 10))
    model = read_model(path)
    rng = np.random.default_rng(2)
    x0 = rng.random((12, 10, 3))
    network = model_network(model, _record(model, "head").name, x0.shape)
    lin = network.linearize(x0)
    u = rng.standard_normal(lin.output_shape)
    x = _nchw(x0).requires_grad_(True)
    net64 = net.double()
    try:
        _Act.rule = rule
        (net64(x) * _nchw(u)).sum().backward()
    finally:
        _Act.rule = None
    reference = _hwc(x.grad)
    assert _error(lin.project(u, rule), reference) < 1e-5
    assert _error(lin.project(u, "backprop"), reference) > 1e-3  # the rules differ here


def test_pinv_through_residual_blocks_equals_numpy_pinv(tmp_path):
    """J⁺ u for u outside the range (ReLUs zero some rows of J): the minimum-norm least
    squares answer of numpy.linalg.pinv on the dense J, by the preconditioned solve."""
    net = _resnet()
    path = tmp_path / "resnet.onnx"
    _export(net, path, False, (8, 8))
    model = read_model(path)
    rng = np.random.default_rng(3)
    x0 = rng.random((8, 8, 3))
    for key in ("head", "layer2.conv1"):
        network = model_network(model, _record(model, key).name, x0.shape)
        lin = network.linearize(x0)
        dense = lin.to_dense()
        u = rng.standard_normal(lin.output_shape)
        want = (np.linalg.pinv(dense) @ u.ravel()).reshape(x0.shape)
        got, report = lin.pinv(u, rtol=1e-12, max_iter=20_000)
        assert _error(got, want) < 1e-6, (key, report.message)
        # the same as the plain solver's (the preconditioners leave J⁺ as it is)
        plain, _ = lin.pinv(u, rtol=1e-12, max_iter=20_000, preconditioner=None)
        assert _error(plain, want) < 1e-6


def test_cli_through_a_residual_model_writes_j_plus_and_the_blocks(tmp_path, capsys):
    """``run --model M --layer L --through`` past two blocks: J⁺J x₀ of numpy.linalg.pinv,
    and the sidecar lists each block with its body and shortcut."""
    import json

    from deconv_gui.cli import main as cli_main

    path = tmp_path / "resnet.onnx"
    _export(_resnet(), path, False, (8, 8))
    model = read_model(path)
    head = _record(model, "head").name
    out = tmp_path / "out"
    args = ["run", "--model", str(path), "--layer", head, "--through", "--image", "chelsea"]
    args += ["--methods", "transposed,pinv", "--rtol", "1e-10", "--max-iter", "5000"]
    assert cli_main([*args, "--out", str(out)]) == 0
    assert "J⁺ converged: " in capsys.readouterr().out
    x0 = np.load(out / "input.npy")
    lin = model_network(model, head, x0.shape).linearize(x0)
    dense = lin.to_dense()
    want = np.linalg.pinv(dense) @ (dense @ x0.ravel())
    assert _error(np.load(out / "pinv.npy").ravel(), want) < 1e-6
    record = json.loads((out / "through.json").read_text())
    blocks = [layer for layer in record["layers"] if layer["kind"] == "residual"]
    assert [[b["kind"] for b in block["body"]] for block in blocks] == [
        ["conv", "relu", "conv"]
    ] * 2
    assert [len(block["shortcut"]) for block in blocks] == [0, 1]
    assert blocks[1]["shortcut"][0]["output_shape"] == blocks[1]["output_shape"]


def _keras_block(layers, x, filters, stride, name):
    """Keras's ResNet block: conv-BN-ReLU-conv-BN plus the input or its projection."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_0")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_0_bn")(shortcut)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", name=f"{name}_1")(x)
    y = layers.BatchNormalization(name=f"{name}_1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.ZeroPadding2D(1, name=f"{name}_2_pad")(y)
    y = layers.Conv2D(filters, 3, name=f"{name}_2")(y)
    y = layers.BatchNormalization(name=f"{name}_2_bn")(y)
    return layers.Activation("relu", name=f"{name}_out")(
        layers.Add(name=f"{name}_add")([shortcut, y])
    )


def test_keras_functional_residual_blocks_equal_keras_and_its_autograd(tmp_path):
    import os

    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    layers = keras.layers
    inputs = keras.Input((12, 10, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(inputs)
    x = layers.ZeroPadding2D(1, name="pool_pad")(x)  # ResNet50's: zeros, then the max-pool
    x = layers.MaxPooling2D(3, strides=2, name="pool")(x)
    x = _keras_block(layers, x, 4, 1, "block1")
    x = _keras_block(layers, x, 6, 2, "block2")
    head = layers.Conv2D(2, 3, padding="same", name="head")(x)
    model = keras.Model(inputs, head)
    rng = np.random.default_rng(5)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            c = layer.get_weights()[0].shape[0]
            layer.set_weights(
                [rng.random(c) + 0.5, *rng.standard_normal((2, c)), rng.random(c) + 0.5]
            )
    model.save(tmp_path / "res.keras")
    record = read_model(tmp_path / "res.keras")
    x0 = rng.random((12, 10, 3))
    network = model_network(record, "head", x0.shape)
    blocks = [layer for layer in network.layers if isinstance(layer, Residual)]
    assert [(len(b.body), len(b.shortcut)) for b in blocks] == [(5, 0), (5, 2)]  # BN unfolded
    assert [layer.kind for layer in blocks[1].shortcut] == ["conv", "batchnorm"]
    assert [layer.kind for layer in network.layers[:4]] == ["conv", "relu", "pad", "maxpool"]
    xt = torch.from_numpy(x0[None].astype(np.float32))
    assert _error(network.forward(x0), model(xt).detach().numpy()[0]) < 1e-5
    inner = model_network(record, "block2_2", x0.shape)  # inside the second block's body
    reference = keras.Model(model.inputs, model.get_layer("block2_2").output)(xt)
    assert _error(inner.forward(x0), reference.detach().numpy()[0]) < 1e-5
    # the layer alone: the executor feeds it what Keras does, through the blocks' Adds
    from deconv_gui.io.models.keras_run import run_keras

    fed, out = run_keras(record, record.layer("head"), x0)
    reference = keras.Model(model.inputs, model.get_layer("block2_out").output)(xt)
    assert _error(fed, reference.detach().numpy()[0]) < 1e-5
    assert _error(out, network.forward(x0)) < 1e-12
    lin = network.linearize(x0)
    u = rng.standard_normal(lin.output_shape)
    x = xt.clone().requires_grad_(True)
    (model(x) * torch.from_numpy(u[None].astype(np.float32))).sum().backward()
    assert _error(lin.apply_adjoint(u), x.grad.numpy()[0]) < 1e-5


class _Nested(nn.Module):
    """A block whose body holds a block, and a stem read by two Adds."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.c1, self.c2, self.c3 = (nn.Conv2d(4, 4, 3, padding=1) for _ in range(3))
        self.head = nn.Conv2d(4, 2, 3)

    def forward(self, x):
        stem = self.stem(x)
        a = torch.relu(self.c1(stem))
        return self.head(torch.relu(stem + self.c3(a + self.c2(a))) + stem)


def test_nested_blocks_equal_onnxruntime_and_torch(tmp_path):
    torch.manual_seed(4)
    net = _Nested().eval()
    path = tmp_path / "nested.onnx"
    _export(net, path, False, (10, 9))
    model = read_model(path)
    rng = np.random.default_rng(6)
    x0 = rng.random((10, 9, 3))
    record = _record(model, "head")
    network = model_network(model, record.name, x0.shape)
    assert [layer.kind for layer in network.layers] == ["conv", "residual", "conv"]
    outer = network.layers[1]
    assert [layer.kind for layer in outer.body] == ["residual", "relu"] and not outer.shortcut
    assert [layer.kind for layer in outer.body[0].body] == ["conv", "relu", "residual", "conv"]
    (ort,) = onnx_tensors(path, x0.astype(np.float32), [record.output])
    assert _error(network.forward(x0), ort) < 1e-5
    lin = network.linearize(x0)
    u = rng.standard_normal(lin.output_shape)
    _, pullback = torch.func.vjp(net.double(), _nchw(x0))
    assert _error(lin.apply_adjoint(u), _hwc(pullback(_nchw(u))[0])) < 1e-5
