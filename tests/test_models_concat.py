"""The network up to a layer past a Concat along the channels (a U-Net's skip connection,
DenseNet's stacked maps) in an ONNX and a Keras model: its forward pass against
onnxruntime, torch and Keras, Jᵀ·u against torch autograd, the deconvnet against torch
with the ReLU's backward replaced, a dot test, J⁺ against numpy.linalg.pinv of the dense
J, and the one-line refusal of a Concat along another axis."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.core.network import Concat, run_prefix
from deconv_gui.io.models import read_model
from deconv_gui.io.models.activations import onnx_tensors
from deconv_gui.io.models.network import model_network

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
nn = torch.nn


class _Deconvnet(torch.autograd.Function):
    """A ReLU whose backward is the deconvnet's: ``relu(u)``, whatever the input was."""

    @staticmethod
    def forward(ctx, x):
        return torch.relu(x)

    @staticmethod
    def backward(ctx, grad):
        return grad.clamp(min=0)


class _UNet(nn.Module):
    """conv → ReLU → max-pool → conv → ReLU → ConvTranspose2d up, stacked with the skip."""

    deconvnet = False  # the ReLUs' backward: autograd's, or the deconvnet's

    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.mid = nn.Conv2d(4, 6, 3, padding=1)
        self.up = nn.ConvTranspose2d(6, 3, 2, stride=2)
        self.head = nn.Conv2d(7, 2, 3, padding=1)

    def act(self, x):
        return _Deconvnet.apply(x) if self.deconvnet else torch.relu(x)

    def forward(self, x):
        skip = self.act(self.enc(x))
        up = self.up(self.act(self.mid(self.pool(skip))))
        return self.head(self.act(torch.cat([up, skip], dim=1)))


class _Dense(nn.Module):
    """DenseNet's stacking: each conv reads the stack of the maps before it."""

    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv2d(3, 2, 3, padding=1)
        self.c1 = nn.Conv2d(2, 3, 3, padding=1)
        self.c2 = nn.Conv2d(5, 2, 1)
        self.head = nn.Conv2d(7, 2, 3)

    def forward(self, x):
        x0 = torch.relu(self.c0(x))
        x1 = torch.relu(self.c1(x0))
        x2 = torch.relu(self.c2(torch.cat([x0, x1], dim=1)))
        return self.head(torch.cat([x0, x1, x2], dim=1))


class _Rows(nn.Module):
    """Two maps one above the other (a Concat along the height: no stack of channels)."""

    def __init__(self):
        super().__init__()
        self.c0, self.head = nn.Conv2d(3, 2, 3, padding=1), nn.Conv2d(2, 2, 3)

    def forward(self, x):
        x0 = torch.relu(self.c0(x))
        return self.head(torch.cat([x0, self.c0(x)], dim=2))


def _export(net, path, shape, dynamo=False):
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


def _head(model):
    (name,) = [r.name for r in model.layers if "head" in r.name]
    return model.layer(name)


def _unet(seed=0):
    torch.manual_seed(seed)
    return _UNet().eval()


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_a_unet_skip_equals_onnxruntime_and_torch_autograd(tmp_path, dynamo):
    net = _unet()
    path = tmp_path / "unet.onnx"
    _export(net, path, (12, 10), dynamo)
    model = read_model(path)
    rng = np.random.default_rng(1)
    x0 = rng.random((12, 10, 3))
    record = _head(model)
    network = model_network(model, record.name, x0.shape)
    assert [layer.kind for layer in network.layers] == ["conv", "relu", "concat", "relu", "conv"]
    block = network.layers[2]
    assert isinstance(block, Concat) and [len(b) for b in block.branches] == [4, 0]
    assert [layer.kind for layer in block.branches[0]] == [
        "maxpool", "conv", "relu", "conv_transpose",
    ]  # fmt: skip
    assert block.output_shape((12, 10, 4)) == (12, 10, 7)
    out = network.forward(x0)
    (ort,) = onnx_tensors(path, x0.astype(np.float32), [record.output])
    assert _error(out, ort) < 1e-5
    net64 = net.double()
    with torch.no_grad():
        assert _error(out, _hwc(net64(_nchw(x0)))) < 1e-5  # float32 weights
    lin = network.linearize(x0)
    v, u = rng.standard_normal(x0.shape), rng.standard_normal(lin.output_shape)
    _, jv = torch.func.jvp(net64, (_nchw(x0),), (_nchw(v),))
    assert _error(lin.apply(v), _hwc(jv)) < 1e-5
    _, pullback = torch.func.vjp(net64, _nchw(x0))
    assert _error(lin.apply_adjoint(u), _hwc(pullback(_nchw(u))[0])) < 1e-5
    left, right = np.vdot(lin.apply(v), u), np.vdot(v, lin.apply_adjoint(u))
    assert abs(left - right) <= 1e-12 * abs(left) + 1e-12  # the dot test


def test_the_deconvnet_sends_each_channel_back_through_its_branch_as_torch(tmp_path):
    net = _unet(1)
    path = tmp_path / "unet.onnx"
    _export(net, path, (8, 6))
    model = read_model(path)
    rng = np.random.default_rng(2)
    x0 = rng.random((8, 6, 3))
    lin = model_network(model, _head(model).name, x0.shape).linearize(x0)
    u = rng.standard_normal(lin.output_shape)
    x = _nchw(x0).requires_grad_(True)
    net64 = net.double()
    net64.deconvnet = True
    (net64(x) * _nchw(u)).sum().backward()
    assert _error(lin.project(u, "deconvnet"), _hwc(x.grad)) < 1e-5
    assert _error(lin.project(u, "backprop"), _hwc(x.grad)) > 1e-3  # the rules differ here


def test_pinv_past_a_skip_equals_numpy_pinv_and_every_panel_runs(tmp_path):
    """J⁺ u for u outside the range (ReLUs zero some rows of J): numpy.linalg.pinv's
    minimum-norm least squares answer on the dense J; the prefix's panels all run."""
    path = tmp_path / "unet.onnx"
    _export(_unet(2), path, (8, 6))
    model = read_model(path)
    rng = np.random.default_rng(3)
    x0 = rng.random((8, 6, 3))
    lin = model_network(model, _head(model).name, x0.shape).linearize(x0)
    dense = lin.to_dense()
    assert dense.shape == (8 * 6 * 2, 8 * 6 * 3)
    u = rng.standard_normal(lin.output_shape)
    want = (np.linalg.pinv(dense) @ u.ravel()).reshape(x0.shape)
    got, report = lin.pinv(u, rtol=1e-12, max_iter=20_000)
    assert _error(got, want) < 1e-6, report.message
    result = run_prefix(lin.network, x0, ("transposed", "pinv", "nullspace", "guided_backprop"))
    assert all(np.isfinite(image).all() for image in result.images.values())
    null = result.images["nullspace"]  # x₀'s part in the null space: J maps it to 0
    assert np.abs(lin.apply(null)).max() < 1e-6 * np.abs(lin.apply(x0)).max()


def test_nested_dense_stacks_equal_onnxruntime_and_torch(tmp_path):
    """Three maps stacked, the last computed from a stack of the first two: blocks of
    three branches, one nested in another, forking from the same map."""
    torch.manual_seed(3)
    net = _Dense().eval()
    path = tmp_path / "dense.onnx"
    _export(net, path, (9, 7))
    model = read_model(path)
    rng = np.random.default_rng(4)
    x0 = rng.random((9, 7, 3))
    record = _head(model)
    network = model_network(model, record.name, x0.shape)
    assert [layer.kind for layer in network.layers] == ["conv", "relu", "concat", "conv"]
    branches = network.layers[2].branches
    assert [[layer.kind for layer in b] for b in branches] == [
        [], ["conv", "relu"], ["concat", "conv", "relu"],
    ]  # fmt: skip
    (ort,) = onnx_tensors(path, x0.astype(np.float32), [record.output])
    assert _error(network.forward(x0), ort) < 1e-5
    lin = network.linearize(x0)
    u = rng.standard_normal(lin.output_shape)
    _, pullback = torch.func.vjp(net.double(), _nchw(x0))
    assert _error(lin.apply_adjoint(u), _hwc(pullback(_nchw(u))[0])) < 1e-5


class _DenseBlock(nn.Module):
    """A DenseNet block of ``n`` layers: each conv reads the stack of every map before it,
    the head the stack of all."""

    def __init__(self, n=3, growth=2):
        super().__init__()
        self.c0 = nn.Conv2d(3, growth, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(growth * (i + 1), growth, 1) for i in range(n))
        self.head = nn.Conv2d(growth * (n + 1), 2, 3)

    def forward(self, x):
        maps = [torch.relu(self.c0(x))]
        for conv in self.convs:
            maps.append(torch.relu(conv(torch.cat(maps, dim=1))))
        return self.head(torch.cat(maps, dim=1))


def test_a_map_that_several_dense_stacks_hold_is_listed_once_with_what_it_feeds(tmp_path):
    """Each map is a branch of every later stack (its path one layer in each), so the
    dock lists every node once, where it comes first, and a map with what it feeds."""
    from deconv_gui.core.network import flat_layers
    from deconv_gui.gui.network.listing import network_rows

    torch.manual_seed(5)
    net = _DenseBlock().eval()
    path = tmp_path / "dense.onnx"
    _export(net, path, (8, 6))
    model = read_model(path)
    x0 = np.random.default_rng(5).random((8, 6, 3))
    network = model_network(model, _head(model).name, x0.shape)
    flat = [layer for layer, _ in flat_layers(network.layers)]
    names = {layer.name for layer in flat}
    assert len(flat) == len(names) == len({id(layer) for layer in flat})  # each node once
    rows = network_rows(network)
    listed = [row.name for row in rows]
    assert len(set(listed)) == len(listed) and names <= set(listed)  # each node once
    assert [(row.text, row.label) for row in rows] == [
        ("conv 3×3, 3→2", "c0"),
        ("ReLU → Concat, Concat_1, Concat_2, Concat_3", "Relu"),
        ("┆ branch 2: ⧺ concat: 1 branch, channels 2", "Concat"),  # torch.cat([x])
        ("┆ branch 2: conv 1×1, 2→2", "convs.0"),
        ("┆ branch 2: ReLU → Concat_1, Concat_2, Concat_3", "Relu_1"),
        ("┆ branch 3: ⧺ concat: 2 branches, channels 2+2", "Concat_1"),
        ("┆ branch 3: conv 1×1, 4→2", "convs.1"),
        ("┆ branch 3: ReLU → Concat_2, Concat_3", "Relu_2"),
        ("┆ branch 4: ⧺ concat: 3 branches, channels 2+2+2", "Concat_2"),
        ("┆ branch 4: conv 1×1, 6→2", "convs.2"),
        ("┆ branch 4: ReLU", "Relu_3"),
        ("⧺ concat: 4 branches, channels 2+2+2+2", "Concat_3"),
        ("conv 3×3, 8→2", "head"),
    ]
    (ort,) = onnx_tensors(path, x0.astype(np.float32), [_head(model).output])
    assert _error(network.forward(x0), ort) < 1e-5
    lin = network.linearize(x0)
    u = np.random.default_rng(6).standard_normal(lin.output_shape)
    _, pullback = torch.func.vjp(net.double(), _nchw(x0))
    assert _error(lin.apply_adjoint(u), _hwc(pullback(_nchw(u))[0])) < 1e-9


def test_a_concat_along_another_axis_is_refused_in_one_line(tmp_path):
    path = tmp_path / "rows.onnx"
    _export(_Rows().eval(), path, (6, 6))
    model = read_model(path)
    with pytest.raises(ValueError) as info:
        model_network(model, _head(model).name, (6, 6, 3))
    text = str(info.value)
    assert text.startswith(f"the prefix up to {_head(model).name} contains a Concat node on axis 2")
    assert text.endswith("channel Concats and Muls of branches only") and "\n" not in text


def test_cli_through_a_unet_lists_the_stack_in_its_sidecar(tmp_path, capsys):
    from deconv_gui.cli import main as cli_main

    path = tmp_path / "unet.onnx"
    _export(_unet(), path, (8, 8))
    head = _head(read_model(path)).name
    out = tmp_path / "out"
    args = ["run", "--model", str(path), "--layer", head, "--through", "--image", "chelsea"]
    args += ["--methods", "transposed,deconvnet", "--out", str(out)]
    assert cli_main(args) == 0
    capsys.readouterr()
    record = json.loads((out / "through.json").read_text())
    (block,) = [layer for layer in record["layers"] if layer["kind"] == "concat"]
    kinds = [[layer["kind"] for layer in branch] for branch in block["branches"]]
    assert kinds == [["maxpool", "conv", "relu", "conv_transpose"], []]
    assert block["output_shape"][2] == 7


def test_keras_concatenate_equals_keras_and_its_autograd(tmp_path):
    import os

    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    layers = keras.layers
    inputs = keras.Input((8, 6, 3))
    skip = layers.Conv2D(4, 3, padding="same", activation="relu", name="enc")(inputs)
    x = layers.MaxPooling2D(2, name="pool")(skip)
    x = layers.Conv2D(6, 3, padding="same", activation="relu", name="mid")(x)
    x = layers.Conv2DTranspose(3, 2, strides=2, name="up")(x)
    x = layers.Concatenate(name="cat")([x, skip])
    model = keras.Model(inputs, layers.Conv2D(2, 3, padding="same", name="head")(x))
    model.save(tmp_path / "unet.keras")
    rows = layers.Concatenate(axis=1, name="rows")([skip, skip])
    side = keras.Model(inputs, layers.Conv2D(2, 3, name="head")(rows))
    side.save(tmp_path / "rows.keras")
    record = read_model(tmp_path / "unet.keras")
    rng = np.random.default_rng(5)
    x0 = rng.random((8, 6, 3))
    network = model_network(record, "head", x0.shape)
    assert [layer.kind for layer in network.layers] == ["conv", "relu", "concat", "conv"]
    xt = torch.from_numpy(x0[None].astype(np.float32))
    assert _error(network.forward(x0), model(xt).detach().numpy()[0]) < 1e-5
    from deconv_gui.io.models.keras_run import run_keras  # the layer alone's executor

    fed, out = run_keras(record, record.layer("head"), x0)
    reference = keras.Model(model.inputs, model.get_layer("cat").output)(xt)
    assert _error(fed, reference.detach().numpy()[0]) < 1e-5
    assert _error(out, network.forward(x0)) < 1e-12
    lin = network.linearize(x0)
    u = rng.standard_normal(lin.output_shape)
    x = xt.clone().requires_grad_(True)
    (model(x) * torch.from_numpy(u[None].astype(np.float32))).sum().backward()
    assert _error(lin.apply_adjoint(u), x.grad.numpy()[0]) < 1e-5
    with pytest.raises(ValueError, match=r"contains a Concatenate layer on axis 1 'rows': .*"):
        model_network(read_model(tmp_path / "rows.keras"), "head", x0.shape)


def test_a_keras_dense_stack_lists_each_layer_once_and_equals_keras(tmp_path):
    import os

    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    from deconv_gui.gui.network.listing import network_rows

    layers = keras.layers
    inputs = keras.Input((8, 6, 3))
    x0 = layers.Conv2D(2, 3, padding="same", activation="relu", name="c0")(inputs)
    x1 = layers.Conv2D(2, 3, padding="same", activation="relu", name="c1")(x0)
    x2 = layers.Conv2D(2, 1, activation="relu", name="c2")(layers.Concatenate(name="a")([x0, x1]))
    stack = layers.Concatenate(name="b")([x0, x1, x2])
    model = keras.Model(inputs, layers.Conv2D(2, 3, name="head")(stack))
    model.save(tmp_path / "dense.keras")
    x = np.random.default_rng(7).random((8, 6, 3))
    network = model_network(read_model(tmp_path / "dense.keras"), "head", x.shape)
    assert [(row.text, row.label) for row in network_rows(network)] == [
        ("conv 3×3, 3→2", "c0"),
        ("ReLU → c1, a, b", "c0.activation"),
        ("┆ branch 2: conv 3×3, 2→2", "c1"),
        ("┆ branch 2: ReLU → a, b", "c1.activation"),
        ("┆ branch 3: ⧺ concat: 2 branches, channels 2+2", "a"),
        ("┆ branch 3: conv 1×1, 4→2", "c2"),
        ("┆ branch 3: ReLU", "c2.activation"),
        ("⧺ concat: 3 branches, channels 2+2+2", "b"),
        ("conv 3×3, 6→2", "head"),
    ]
    want = model(torch.from_numpy(x[None].astype(np.float32))).detach().numpy()[0]
    assert _error(network.forward(x), want) < 1e-5
