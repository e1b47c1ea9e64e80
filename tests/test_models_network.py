"""A model file's prefix as a core Network: its forward pass against onnxruntime, Keras and
torch, its J·v and Jᵀ·u against torch autograd, and the one-line refusals."""

from __future__ import annotations

import os

import numpy as np
import pytest

from deconv_gui.io.models import read_model
from deconv_gui.io.models.activations import onnx_tensors
from deconv_gui.io.models.network import model_network

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
nn = torch.nn


def _chain():
    """Conv-BN-ReLU-MaxPool-Conv(reflect)-LeakyReLU-ConvTranspose-ReLU-BN-AvgPool-Conv."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 5, 3, stride=2, padding=1, padding_mode="reflect"),
        nn.LeakyReLU(0.1),
        nn.ConvTranspose2d(5, 3, 3, stride=2, padding=1, output_padding=1),
        nn.ReLU(),
        nn.BatchNorm2d(3),  # after a ReLU: not folded into a conv, an affine layer
        nn.AvgPool2d(2, padding=1),
        nn.Conv2d(3, 2, 3, dilation=2),
    )
    with torch.no_grad():
        for bn in (net[1], net[8]):
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.5, 2)
            bn.weight.normal_()
            bn.bias.normal_()
    return net.eval()


def _export(net, path, dynamo):
    x = torch.randn(1, 3, 20, 16)
    if dynamo:
        pytest.importorskip("onnxscript")
        torch.onnx.export(net, (x,), str(path), dynamo=True, verbose=False)
    else:
        torch.onnx.export(net, x, str(path), dynamo=False)


def _nchw(a):
    return torch.from_numpy(np.ascontiguousarray(np.transpose(a, (2, 0, 1))[None]))


def _hwc(t):
    return t.detach().numpy()[0].transpose(1, 2, 0)


def _close(ours, reference, rtol=1e-5):
    """Equal to float32 precision, relative to the reference's largest value."""
    assert ours.shape == reference.shape
    return np.allclose(ours, reference, rtol=0, atol=rtol * max(1.0, np.abs(reference).max()))


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_onnx_prefixes_equal_onnxruntime_and_torch_autograd(tmp_path, dynamo):
    net = _chain()
    path = tmp_path / "chain.onnx"
    _export(net, path, dynamo)
    model = read_model(path)
    ends = [i for i, m in enumerate(net) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert len(model.layers) == len(ends)
    rng = np.random.default_rng(1)
    x0 = rng.random((20, 16, 3))
    v = rng.standard_normal(x0.shape)
    net64 = net.double()
    for record, end in zip(model.layers, ends, strict=True):
        network = model_network(model, record.name, x0.shape)
        (reference,) = onnx_tensors(path, x0.astype(np.float32), [record.output])
        out = network.forward(x0)
        assert out.shape == reference.shape
        assert _close(out, reference)
        prefix = net64[: end + 2] if end == 0 else net64[: end + 1]  # conv 0 with its BN
        # the file's float32 weights (a batch norm folded in float32 by the exporter)
        assert _close(out, _hwc(prefix(_nchw(x0))))
        lin = network.linearize(x0)
        _, jv = torch.func.jvp(prefix, (_nchw(x0),), (_nchw(v),))
        assert _close(lin.apply(v), _hwc(jv))
        u = rng.standard_normal(lin.output_shape)
        _, pullback = torch.func.vjp(prefix, _nchw(x0))
        (jtu,) = pullback(_nchw(u))
        assert _close(lin.apply_adjoint(u), _hwc(jtu))
    kinds = [layer.kind for layer in network.layers]
    assert kinds == [
        "conv",
        "relu",
        "maxpool",
        "conv",
        "leaky_relu",
        "conv_transpose",
        "relu",
        "batchnorm",
        "avgpool",
        "conv",
    ]


class _Softmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 3, 3, padding=1)
        self.b = nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, x):
        return self.b(torch.softmax(self.a(x), dim=1))  # mixes the channels: not element-wise


def test_branches_and_other_ops_are_refused_in_one_line_naming_the_node(tmp_path):
    torch.onnx.export(_Softmax(), torch.randn(1, 3, 8, 8), str(tmp_path / "r.onnx"), dynamo=False)
    model = read_model(tmp_path / "r.onnx")
    first, last = model.layers[0].name, model.layers[1].name
    assert len(model_network(model, first, (8, 8, 3)).layers) == 1
    with pytest.raises(ValueError) as info:
        model_network(model, last, (8, 8, 3))
    text = str(info.value)
    assert text.startswith(f"the prefix up to {last} contains a Softmax node '/Softmax'")
    assert "through conv/BN/activation/pool layers, residual Adds, channel Concats" in text
    assert "\n" not in text
    sig = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Softsign(), nn.Conv2d(2, 2, 3))
    torch.onnx.export(sig, torch.randn(1, 3, 8, 8), str(tmp_path / "s.onnx"), dynamo=False)
    model = read_model(tmp_path / "s.onnx")
    with pytest.raises(ValueError, match="contains a Div node '/1/Div'"):
        model_network(model, model.layers[1].name, (8, 8, 3))
    conv = nn.Conv2d(3, 2, 3)
    torch.save({"c.weight": conv.weight.data, "c.bias": conv.bias.data}, tmp_path / "w.pt")
    with pytest.raises(ValueError, match=r"^model w.pt: a pytorch file stores weights only"):
        model_network(read_model(tmp_path / "w.pt"), "c", (8, 8, 3))


def test_keras_chain_equals_keras_and_its_autograd(tmp_path):
    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((14, 12, 3)),
            layers.Rescaling(2.0, offset=-1.0),
            layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
            layers.BatchNormalization(name="bn"),
            layers.MaxPooling2D(2, name="pool"),
            layers.ZeroPadding2D(((1, 0), (2, 1)), name="pad"),
            layers.Conv2D(5, 3, strides=2, name="c2"),
            layers.LeakyReLU(0.2, name="leaky"),
            layers.Conv2DTranspose(3, 3, strides=2, padding="same", name="t1"),
            layers.ReLU(name="relu"),
            layers.AveragePooling2D(2, name="avg"),
            layers.Conv2D(2, 3, padding="same", name="c3"),
        ]
    )
    rng = np.random.default_rng(2)
    bn = model.get_layer("bn")
    bn.set_weights([rng.random(4) + 0.5, *rng.standard_normal((2, 4)), rng.random(4) + 0.5])
    model.save(tmp_path / "k.keras")
    record = read_model(tmp_path / "k.keras")
    x0 = rng.random((14, 12, 3))
    xt = torch.from_numpy(x0[None].astype(np.float32))
    for name in ("c2", "t1", "c3"):  # linear layers: Keras' output is before any activation
        network = model_network(record, name, x0.shape)
        reference = keras.Model(model.inputs, model.get_layer(name).output)(xt)
        reference = reference.detach().numpy()[0]
        assert _close(network.forward(x0), reference)
    # J·v and Jᵀ·u at x0 against the torch backend's autograd, on the whole chain
    sub = keras.Model(model.inputs, model.get_layer("c3").output)
    lin = network.linearize(x0)
    x = torch.from_numpy(x0[None].astype(np.float32)).requires_grad_(True)
    u = rng.standard_normal(lin.output_shape)
    (sub(x) * torch.from_numpy(u[None].astype(np.float32))).sum().backward()
    jtu = x.grad.numpy()[0]
    assert _close(lin.apply_adjoint(u), jtu)
    kinds = [layer.kind for layer in network.layers]
    assert kinds[:4] == ["batchnorm", "conv", "relu", "batchnorm"]


def test_keras_branches_and_other_layers_are_refused(tmp_path):
    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    layers = keras.layers
    inputs = keras.Input((8, 8, 3))
    a = layers.Conv2D(3, 3, padding="same", name="a")(inputs)
    joined = layers.Subtract(name="join")([a, inputs])  # neither a chain nor a block
    out = layers.Conv2D(2, 3, name="b")(joined)
    keras.Model(inputs, out).save(tmp_path / "res.keras")
    model = read_model(tmp_path / "res.keras")
    assert len(model_network(model, "a", (8, 8, 3)).layers) == 1
    with pytest.raises(ValueError, match=r"^the prefix up to b contains a Subtract layer 'join'"):
        model_network(model, "b", (8, 8, 3))
    chain = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            layers.Conv2D(2, 3, activation="softsign", name="c1"),
            layers.Conv2D(2, 3, name="c2"),
        ]
    )
    chain.save(tmp_path / "sig.keras")
    with pytest.raises(ValueError, match="contains a softsign activation in layer 'c1'"):
        model_network(read_model(tmp_path / "sig.keras"), "c2", (8, 8, 3))


class _Normalised(nn.Module):
    """A normalisation written in the graph (constants), then a chain."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.4, 0.5, 0.6]).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.2, 0.25, 0.3]).reshape(1, 3, 1, 1))
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 2, 3)

    def forward(self, x):
        y = self.conv((2.0 * x - self.mean) / self.std)
        return self.conv2(1.0 - torch.relu(y) * 0.5)


def test_arithmetic_by_constants_is_an_affine_layer(tmp_path):
    torch.manual_seed(3)
    net = _Normalised().eval()
    torch.onnx.export(net, torch.randn(1, 3, 10, 8), str(tmp_path / "n.onnx"), dynamo=False)
    model = read_model(tmp_path / "n.onnx")
    x0 = np.random.default_rng(4).random((10, 8, 3))
    network = model_network(model, model.layers[1].name, x0.shape)
    assert [layer.kind for layer in network.layers].count("batchnorm") == 5  # the affine maps
    (reference,) = onnx_tensors(
        tmp_path / "n.onnx", x0.astype(np.float32), [model.layers[1].output]
    )
    assert _close(network.forward(x0), reference)
    with torch.no_grad():
        want = net.double()(_nchw(x0))
    assert _close(network.forward(x0), _hwc(want))
