"""ONNX models made by torch.onnx.export (both exporters): every conv layer's geometry and
weights equal the torch module's, and the activations onnxruntime feeds a layer, pushed
through the record by torch, give the module's output."""

import numpy as np
import pytest
from model_reference import ours_to_torch, torch_forward

from deconv_gui.io.models import model_format, read_model
from deconv_gui.io.models.activations import layer_activation, model_input, onnx_tensors

torch = pytest.importorskip("torch")
nn = torch.nn


class Net(nn.Module):
    """Every case of the reader: BN after a conv, reflect padding inside Conv2d (a Pad
    node), an asymmetric ZeroPad2d, a rectangular kernel and stride, groups, dilation,
    and a ConvTranspose2d with output_padding."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=2, padding_mode="reflect", dilation=2, groups=2)
        self.pad = nn.ZeroPad2d((1, 2, 0, 3))
        self.c3 = nn.Conv2d(8, 4, (3, 5), stride=(1, 2))
        self.t = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)

    def forward(self, x):
        x = torch.relu(self.bn(self.c1(x)))
        x = torch.relu(self.c2(x))
        x = self.c3(self.pad(x))
        return self.t(x)


def _net():
    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():  # a BN that is not the identity, so that folding shows
        net.bn.running_mean.uniform_(-1, 1)
        net.bn.running_var.uniform_(0.5, 2)
        net.bn.weight.uniform_(0.5, 2)
        net.bn.bias.uniform_(-1, 1)
    return net.eval()


def _export(net, path, dynamo):
    x = torch.randn(1, 3, 33, 30)
    if dynamo:
        pytest.importorskip("onnxscript")
        torch.onnx.export(net, (x,), str(path), dynamo=True, verbose=False)
    else:
        torch.onnx.export(net, x, str(path), dynamo=False)


def _folded(net):
    """c1 followed by bn, as one conv (both exporters fold it in eval mode)."""
    bn = net.bn
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().numpy()
    w = net.c1.weight.detach().numpy() * scale[:, None, None, None]
    b = (net.c1.bias.detach().numpy() - bn.running_mean.numpy()) * scale + bn.bias.detach().numpy()
    return w, b


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_geometry_and_weights_equal_the_modules(tmp_path, dynamo):
    net = _net()
    path = tmp_path / "net.onnx"
    _export(net, path, dynamo)
    model = read_model(path)
    assert model.format == model_format(path) == "onnx" and model.input_shape == (3, 33, 30)
    c1, c2, c3, t = model.layers
    if dynamo:  # its made-up node names (node_Conv_12) give way to the modules' paths
        assert [layer.name for layer in model.layers] == ["c1", "c2", "c3", "t"]
        for layer in model.layers:
            assert layer.node.startswith("node_") and model.layer(layer.node) is layer
    else:  # the TorchScript exporter's scope names say the module already
        assert c1.name == "/c1/Conv" and c1.node is None
    for layer, module in zip(model.layers, (net.c1, net.c2, net.c3, net.t), strict=True):
        assert layer.kernel == module.kernel_size and layer.stride == module.stride
        assert layer.dilation == module.dilation and layer.groups == module.groups
        assert (layer.in_channels, layer.out_channels) == (module.in_channels, module.out_channels)
        assert layer.weight_shape == tuple(module.weight.shape)
    assert c1.padding == ((1, 1), (1, 1)) and c1.padding_mode == "zeros"
    assert c2.padding == ((2, 2), (2, 2)) and c2.padding_mode == "reflect"
    assert c3.padding == ((0, 3), (1, 2)) and c3.padding_mode == "zeros"  # ZeroPad2d fused
    assert t.kind == "conv_transpose" and t.padding == ((1, 1), (1, 1))
    assert t.output_padding == (1, 1) and c1.output_padding is None
    w, b = _folded(net)
    np.testing.assert_allclose(ours_to_torch(c1.load().weights), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c1.load().bias, b, rtol=1e-5, atol=1e-6)
    for layer, module in ((c2, net.c2), (c3, net.c3), (t, net.t)):
        loaded = layer.load()
        np.testing.assert_array_equal(ours_to_torch(loaded.weights), module.weight.detach().numpy())
        np.testing.assert_array_equal(loaded.bias, module.bias.detach().numpy())


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_activations_and_outputs_equal_torch(tmp_path, dynamo):
    """onnxruntime's tensors at each layer = the module's input (forward hooks), and the
    record run by torch on it = the module's output (c1's: after the folded BN)."""
    net = _net()
    path = tmp_path / "net.onnx"
    _export(net, path, dynamo)
    model = read_model(path)
    image = np.random.default_rng(1).random((33, 30, 3))
    seen = {}
    hooks = [
        m.register_forward_hook(lambda mod, i, o, k=k: seen.__setitem__(k, (i[0], o)))
        for k, m in (
            ("c1", net.c1),
            ("bn", net.bn),
            ("c2", net.c2),
            ("pad", net.pad),
            ("c3", net.c3),
            ("t", net.t),
        )
    ]
    with torch.no_grad():
        net(torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32)))
    for h in hooks:
        h.remove()
    inputs = {"c1": "c1", "c2": "c2", "c3": "pad", "t": "t"}
    outputs = {"c1": "bn", "c2": "c2", "c3": "c3", "t": "t"}
    for layer, key in zip(model.layers, ("c1", "c2", "c3", "t"), strict=True):
        act = layer_activation(model, layer, image)
        assert act.runner == "onnxruntime"
        fed = seen[inputs[key]][0][0].numpy().transpose(1, 2, 0)
        np.testing.assert_allclose(act.input, fed, rtol=1e-4, atol=1e-5)
        want = seen[outputs[key]][1][0].numpy().transpose(1, 2, 0)
        np.testing.assert_allclose(act.output, want, rtol=1e-4, atol=1e-4)
        ours = torch_forward(layer, layer.load(), act.input.transpose(2, 0, 1)[None])
        np.testing.assert_allclose(ours[0].transpose(1, 2, 0), want, rtol=1e-4, atol=1e-4)


def test_batchnorm_kept_by_the_exporter_is_folded_and_said(tmp_path):
    torch.manual_seed(2)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)).eval()
    with torch.no_grad():
        net[1].running_var.uniform_(0.5, 2)
        net[1].running_mean.uniform_(-1, 1)
    path = tmp_path / "bn.onnx"
    torch.onnx.export(
        net,
        torch.randn(1, 3, 9, 9),
        str(path),
        dynamo=False,
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=False,
    )
    import onnx

    assert "BatchNormalization" in [n.op_type for n in onnx.load(str(path)).graph.node]
    (layer,) = read_model(path).layers
    assert any("BatchNormalization" in note and "folded" in note for note in layer.notes)
    x = np.random.default_rng(3).random((1, 3, 9, 9))
    with torch.no_grad():
        want = net.double()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(torch_forward(layer, layer.load(), x), want, rtol=1e-5, atol=1e-5)


def _conv_model(path, auto_pad, size, op="Conv", extra=None):
    """A one-node model written with onnx.helper (auto_pad SAME_*; ConvTranspose)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(4)
    shape = (5, 3, 3, 4) if op == "Conv" else (3, 5, 3, 4)
    w = numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), "w")
    attrs = {"strides": [2, 2], "auto_pad": auto_pad, **(extra or {})}
    node = helper.make_node(op, ["x", "w"], ["y"], name="layer", **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, *size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_auto_pad_resolved_at_the_input_size_as_onnxruntime_runs_it(tmp_path, auto_pad):
    path = tmp_path / "same.onnx"
    _conv_model(path, auto_pad, (12, 11))
    model = read_model(path)
    (layer,) = model.layers
    assert layer.padding_rule is None
    expected = {
        "SAME_UPPER": ((0, 1), (1, 2)),
        "SAME_LOWER": ((1, 0), (2, 1)),
        "VALID": ((0, 0), (0, 0)),
    }[auto_pad]
    assert layer.input_size == (12, 11) and layer.padding == expected
    x = np.random.default_rng(5).random((12, 11, 3))
    (y,) = onnx_tensors(path, x, ["y"])
    ours = torch_forward(layer, layer.load(), x.transpose(2, 0, 1)[None])[0].transpose(1, 2, 0)
    np.testing.assert_allclose(ours, y, rtol=1e-5, atol=1e-5)


def test_conv_transpose_output_shape_gives_the_pads_onnxruntime_uses(tmp_path):
    path = tmp_path / "t.onnx"
    _conv_model(path, "NOTSET", (6, 5), op="ConvTranspose", extra={"output_shape": [12, 9]})
    (layer,) = read_model(path).layers
    assert layer.kind == "conv_transpose" and layer.padding is not None
    x = np.random.default_rng(6).random((6, 5, 3))
    (y,) = onnx_tensors(path, x, ["y"])
    ours = torch_forward(layer, layer.load(), x.transpose(2, 0, 1)[None])[0].transpose(1, 2, 0)
    assert ours.shape == y.shape == (12, 9, 5)
    np.testing.assert_allclose(ours, y, rtol=1e-5, atol=1e-5)


def test_free_input_size_leaves_same_padding_as_a_rule(tmp_path):
    path = tmp_path / "free.onnx"
    _conv_model(path, "SAME_UPPER", ("h", "w"))
    (layer,) = read_model(path).layers
    assert layer.padding is None and layer.padding_rule == "same"
    assert layer.to_json()["padding"] is None


def test_model_input_resizes_and_scales():
    from deconv_gui.io.models.record import Model

    model = Model("m.onnx", "onnx", (), input_shape=(3, 4, 6))
    x = model_input(np.ones((8, 12, 3)) * 0.5, model, "imagenet")
    assert x.shape == (4, 6, 3)
    np.testing.assert_allclose(
        x[0, 0], (0.5 - np.array([0.485, 0.456, 0.406])) / [0.229, 0.224, 0.225], rtol=1e-6
    )
    with pytest.raises(ValueError, match="scaling"):
        model_input(np.ones((4, 6, 3)), model, "half")


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_conv_transpose_auto_pad_as_onnxruntime_runs_it(tmp_path, auto_pad):
    path = tmp_path / "t_same.onnx"
    _conv_model(path, auto_pad, (5, 6), op="ConvTranspose")
    (layer,) = read_model(path).layers
    assert layer.padding is not None
    x = np.random.default_rng(7).random((5, 6, 3))
    (y,) = onnx_tensors(path, x, ["y"])
    ours = torch_forward(layer, layer.load(), x.transpose(2, 0, 1)[None])[0].transpose(1, 2, 0)
    assert ours.shape == y.shape == (10, 12, 5)
    np.testing.assert_allclose(ours, y, rtol=1e-5, atol=1e-5)
