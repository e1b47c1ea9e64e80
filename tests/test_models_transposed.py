"""A model's ConvTranspose layers studied through ``--model``: the file's weights and
geometry (output_padding, asymmetric crops) become a ``conv_transpose`` Params, the input
is what the model feeds the layer and ``forward_output.npy`` equals the framework's own
output of that layer (torch hooks on the exported network, Keras sub-models)."""

import json
import os

import numpy as np
import pytest

from deconv_gui.cli import main as cli_main
from deconv_gui.io import load_image

torch = pytest.importorskip("torch")
nn = torch.nn


@pytest.fixture
def image(tmp_path):
    import imageio.v3 as iio

    rng = np.random.default_rng(0)
    path = tmp_path / "img.png"
    iio.imwrite(path, (rng.random((20, 18, 3)) * 255).astype(np.uint8))
    return path


def _run(tmp_path, *args, methods="transposed,pinv"):
    out = tmp_path / "out"
    code = cli_main(["run", *args, "--out", str(out), "--methods", methods])
    return code, out


def _torch_layer(net, layer, pixels):
    """(input, output) of ``layer`` in ``net`` run on ``pixels``, as (H, W, C)."""
    seen = {}
    layer.register_forward_hook(lambda m, i, o: seen.update(io=(i[0], o)))
    with torch.no_grad():
        net(torch.from_numpy(pixels.transpose(2, 0, 1)[None].copy()))
    fed, out = seen["io"]
    return fed[0].numpy().transpose(1, 2, 0), out[0].numpy().transpose(1, 2, 0)


@pytest.mark.parametrize("dynamo", [False, True])
def test_onnx_conv_transpose_layer_matches_torch(tmp_path, image, capsys, dynamo):
    torch.manual_seed(0)
    up = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=1)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.ReLU(), up, nn.ReLU()).eval()
    path = tmp_path / "dec.onnx"
    x = torch.randn(1, 3, 20, 18)
    if dynamo:
        pytest.importorskip("onnxscript")
        torch.onnx.export(net, (x,), str(path), dynamo=True, verbose=False)
    else:
        torch.onnx.export(net, x, str(path), dynamo=False)
    assert cli_main(["layers", str(path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["layers"]
    name = next(layer["name"] for layer in listed if layer["kind"] == "conv_transpose")
    code, out = _run(tmp_path, "--model", str(path), "--layer", name, "--image", str(image))
    assert code == 0, capsys.readouterr().err
    fed, want = _torch_layer(net, up, load_image(str(image)).pixels)
    np.testing.assert_allclose(np.load(out / "input.npy"), fed, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.load(out / "forward_output.npy"), want, rtol=1e-4, atol=1e-4)
    params = json.loads((out / "params.json").read_text())
    params = params.get("params", params)
    assert params["layer_kind"] == "conv_transpose" and params["output_padding"] == [1, 1]
    assert params["groups"] == 2 and params["stride"] == [2, 2]
    # the pseudo-inverse recovers the map the decoder was fed (B is injective here)
    np.testing.assert_allclose(np.load(out / "pinv.npy"), fed, atol=1e-3)


def test_onnx_auto_pad_conv_transpose_takes_the_crop_at_the_fed_size(tmp_path, image):
    """auto_pad SAME_UPPER on a ConvTranspose: output = input · stride, the crop resolved at
    the size the model feeds the layer (onnxruntime is the reference)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    w = rng.standard_normal((3, 2, 4, 4)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    node = helper.make_node(
        "ConvTranspose", ["x", "w", "b"], ["y"], name="up", strides=[2, 2], auto_pad="SAME_UPPER"
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 20, 18])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "auto.onnx"
    onnx.save(model, str(path))
    code, out = _run(tmp_path, "--model", str(path), "--layer", "up", "--image", str(image))
    assert code == 0
    pixels = load_image(str(image)).pixels.astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {"x": pixels.transpose(2, 0, 1)[None]})
    got = np.load(out / "forward_output.npy")
    assert got.shape == (40, 36, 2)
    np.testing.assert_allclose(got, want[0].transpose(1, 2, 0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("padding", "output_padding"), [("same", None), ("valid", 1), ("same", 1)])
def test_keras_conv2d_transpose_layer_matches_keras(tmp_path, image, padding, output_padding):
    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    layers = keras.layers
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input((20, 18, 3)),
            layers.Conv2D(5, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(
                4, 3, strides=2, padding=padding, output_padding=output_padding, name="up"
            ),
            layers.ReLU(),
        ]
    )
    model.save(tmp_path / "k.keras")
    code, out = _run(
        tmp_path, "--model", str(tmp_path / "k.keras"), "--layer", "up", "--image", str(image)
    )
    assert code == 0
    pixels = load_image(str(image)).pixels
    up = model.get_layer("up")
    probe = keras.Model(model.inputs, [up.input, up.output])
    fed, want = (np.asarray(v)[0] for v in probe.predict(pixels[None], verbose=0))
    np.testing.assert_allclose(np.load(out / "input.npy"), fed, rtol=1e-4, atol=1e-5)
    got = np.load(out / "forward_output.npy")
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_a_weights_only_conv_transpose_takes_its_kind_from_the_flags(tmp_path, image):
    """A state_dict does not say a weight is a ConvTranspose2d's: --layer-kind does."""
    torch.manual_seed(2)
    up = nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1)
    torch.save({"dec.weight": up.weight.data, "dec.bias": up.bias.data}, tmp_path / "w.pt")
    flags = ["--layer-kind", "conv_transpose", "--stride", "2", "--padding", "1"]
    code, out = _run(
        tmp_path, "--model", str(tmp_path / "w.pt"), "--layer", "dec", "--image", str(image), *flags
    )
    assert code == 0
    pixels = load_image(str(image)).pixels
    with torch.no_grad():
        want = up(torch.from_numpy(pixels.transpose(2, 0, 1)[None].copy()))[0]
    np.testing.assert_allclose(
        np.load(out / "forward_output.npy"), want.numpy().transpose(1, 2, 0), rtol=1e-4, atol=1e-5
    )
