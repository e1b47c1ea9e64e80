"""``deconv-gui run/info --model MODEL --layer NAME``: input.npy is the activation the model
feeds the layer and forward_output.npy its output before the activation, equal to the
framework's (torch hooks, Keras sub-models); file geometry completed or overridden by flags."""

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


def _hooks(net, modules):
    seen = {}
    for key, module in modules.items():
        module.register_forward_hook(lambda m, i, o, k=key: seen.__setitem__(k, (i[0], o)))
    return seen


def _run(tmp_path, *args):
    out = tmp_path / "out"
    code = cli_main(["run", *args, "--out", str(out), "--methods", "transposed"])
    return code, out


def test_onnx_layer_run_feeds_the_activation_and_matches_torch(tmp_path, image, capsys):
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 3, stride=2, padding=1)
    ).eval()
    path = tmp_path / "net.onnx"
    torch.onnx.export(net, torch.randn(1, 3, 20, 18), str(path), dynamo=False)
    assert cli_main(["layers", str(path), "--json"]) == 0
    name = json.loads(capsys.readouterr().out)["layers"][1]["name"]
    code, out = _run(tmp_path, "--model", str(path), "--layer", name, "--image", str(image))
    assert code == 0
    pixels = load_image(str(image)).pixels
    seen = _hooks(net, {"c2": net[2]})
    with torch.no_grad():
        net(torch.from_numpy(pixels.transpose(2, 0, 1)[None].copy()))
    fed = seen["c2"][0][0].numpy().transpose(1, 2, 0)
    want = seen["c2"][1][0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(np.load(out / "input.npy"), fed, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.load(out / "forward_output.npy"), want, rtol=1e-4, atol=1e-4)


def test_geometry_flags_override_the_file(tmp_path, image, capsys):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 2, 3, stride=2, padding=1)).eval()
    path = tmp_path / "one.onnx"
    torch.onnx.export(net, torch.randn(1, 3, 20, 18), str(path), dynamo=False)
    name = "/0/Conv"
    base = ["info", "--model", str(path), "--layer", name, "--image", str(image), "--json"]
    assert cli_main(base) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stride"] == [2, 2] and report["output_shape"][:2] == [10, 9]
    assert cli_main([*base, "--stride", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stride"] == [1, 1] and report["output_shape"][:2] == [20, 18]


def test_weights_only_file_takes_geometry_from_flags(tmp_path, image):
    torch.manual_seed(2)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    torch.save({"enc.weight": conv.weight.data, "enc.bias": conv.bias.data}, tmp_path / "w.pt")
    code, out = _run(
        tmp_path,
        "--model",
        str(tmp_path / "w.pt"),
        "--layer",
        "enc",
        "--image",
        str(image),
        "--stride",
        "2",
        "--padding",
        "1",
    )
    assert code == 0
    pixels = load_image(str(image)).pixels
    with torch.no_grad():
        want = conv(torch.from_numpy(pixels.transpose(2, 0, 1)[None].copy()))[0]
    np.testing.assert_allclose(np.load(out / "input.npy"), pixels)
    np.testing.assert_allclose(
        np.load(out / "forward_output.npy"), want.numpy().transpose(1, 2, 0), rtol=1e-4, atol=1e-5
    )


def test_keras_layer_run_matches_keras(tmp_path, image):
    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    layers = keras.layers
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input((20, 18, 3)),
            layers.Conv2D(5, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            # 'same' at stride 2 on 10 × 9: top 0, bottom 1, left 1, right 1
            layers.Conv2D(4, 3, strides=2, padding="same", name="deep", activation="relu"),
        ]
    )
    model.save(tmp_path / "k.keras")
    code, out = _run(
        tmp_path, "--model", str(tmp_path / "k.keras"), "--layer", "deep", "--image", str(image)
    )
    assert code == 0
    pixels = load_image(str(image)).pixels
    deep = model.get_layer("deep")
    probe = keras.Model(model.inputs, deep.input)
    fed = np.asarray(probe.predict(pixels[None], verbose=0))[0]
    w, b = (np.asarray(v) for v in deep.get_weights())
    np.testing.assert_allclose(np.load(out / "input.npy"), fed, rtol=1e-4, atol=1e-5)
    import torch.nn.functional as F

    want = (
        F.conv2d(
            F.pad(torch.from_numpy(fed.transpose(2, 0, 1)[None].copy()), (1, 1, 0, 1)),
            torch.from_numpy(w.transpose(3, 2, 0, 1).copy()),
            torch.from_numpy(b),
            stride=2,
        )[0]
        .numpy()
        .transpose(1, 2, 0)
    )
    np.testing.assert_allclose(np.load(out / "forward_output.npy"), want, rtol=1e-4, atol=1e-4)


def test_usage_and_data_errors(tmp_path, image, capsys):
    torch.save({"enc.weight": torch.zeros(2, 3, 3, 3)}, tmp_path / "w.pt")
    w = str(tmp_path / "w.pt")
    assert _run(tmp_path, "--model", w, "--image", str(image))[0] == 2  # no --layer
    assert "--layer" in capsys.readouterr().err
    assert (
        _run(tmp_path, "--model", w, "--layer", "enc", "--filter", "blur", "--image", str(image))[0]
        == 2
    )
    assert _run(tmp_path, "--image", str(image))[0] == 2  # neither --filter nor --model
    assert _run(tmp_path, "--model", w, "--layer", "nope", "--image", str(image))[0] == 1
    err = capsys.readouterr().err
    assert "no conv layer 'nope'" in err and not (tmp_path / "out" / "input.npy").exists()


def test_asymmetric_padding_layers_run(tmp_path, image):
    """A fused ZeroPad2d (ONNX) and Keras 'same' at stride 2 on an odd size: four sides."""
    torch.manual_seed(4)
    net = nn.Sequential(nn.ZeroPad2d((1, 2, 0, 3)), nn.Conv2d(3, 4, 3, stride=2)).eval()
    path = tmp_path / "pad.onnx"
    torch.onnx.export(net, torch.randn(1, 3, 20, 18), str(path), dynamo=False)
    code, out = _run(tmp_path, "--model", str(path), "--layer", "/1/Conv", "--image", str(image))
    assert code == 0
    pixels = load_image(str(image)).pixels
    with torch.no_grad():
        want = net(torch.from_numpy(pixels.transpose(2, 0, 1)[None].copy()))[0]
    np.testing.assert_allclose(
        np.load(out / "forward_output.npy"), want.numpy().transpose(1, 2, 0), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(np.load(out / "input.npy"), pixels, rtol=1e-6)


def _count_reads(monkeypatch):
    """How often each layer's weights are read from the model file (every reader's
    model passes through ``io.models.read_model``, called where it is used)."""
    from collections import Counter
    from dataclasses import replace

    from deconv_gui.io import models

    original, reads = models.read_model, Counter()

    def counted(layer):
        def load():
            reads[layer.name] += 1
            return layer.loader()

        return replace(layer, loader=load)

    def read_model(path):
        model = original(path)
        return replace(model, layers=tuple(counted(layer) for layer in model.layers))

    monkeypatch.setattr(models, "read_model", read_model)
    return reads


@pytest.mark.parametrize("through", [False, True])
def test_run_reads_the_layers_weights_from_the_file_once(tmp_path, image, monkeypatch, through):
    """Checked before any image and used for every image: one read, not one more per image."""
    import imageio.v3 as iio

    torch.manual_seed(5)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3)).eval()
    path = tmp_path / "net.onnx"
    torch.onnx.export(net, torch.randn(1, 3, 20, 18), str(path), dynamo=False)
    other = tmp_path / "other.png"
    iio.imwrite(other, (np.random.default_rng(1).random((20, 18, 3)) * 255).astype(np.uint8))
    reads = _count_reads(monkeypatch)
    args = ["--model", str(path), "--layer", "/2/Conv", "--image", str(image), str(other)]
    code, out = _run(tmp_path, *args, *(["--through"] if through else []))
    assert code == 0 and len(list(out.iterdir())) == 2  # a folder per image
    # the layers before it are run on each image (--through: the network, from the file)
    assert reads == ({"/0/Conv": 2, "/2/Conv": 1} if through else {"/2/Conv": 1})
    with torch.no_grad():  # the weights read once are the file's, for either image
        want = net(torch.from_numpy(load_image(str(other)).pixels.transpose(2, 0, 1)[None]))
    np.testing.assert_allclose(
        np.load(out / "other" / "forward_output.npy"),
        want[0].numpy().transpose(1, 2, 0),
        rtol=1e-4,
        atol=1e-4,
    )
