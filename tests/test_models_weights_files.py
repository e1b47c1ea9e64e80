"""PyTorch .pt/.pth (read without torch, never executing the pickle) and safetensors."""

import os
import pickle
import zipfile

import numpy as np
import pytest
from model_reference import ours_to_torch

from deconv_gui.io.models import model_format, read_model

torch = pytest.importorskip("torch")
nn = torch.nn


def _net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 4, (1, 5), bias=False),
        nn.ConvTranspose2d(4, 6, 4, stride=2),
    )


def _check(model, net):
    names = [layer.name for layer in model.layers]
    assert names == ["0", "3", "4"]
    for layer, module in zip(model.layers, (net[0], net[3], net[4]), strict=True):
        assert layer.weight_shape == tuple(module.weight.shape)
        assert layer.kernel == module.kernel_size
        assert layer.stride is layer.padding is layer.dilation is layer.groups is None
        loaded = layer.load()
        np.testing.assert_array_equal(ours_to_torch(loaded.weights), module.weight.detach().numpy())
        if module.bias is None:
            assert loaded.bias is None
        else:
            np.testing.assert_array_equal(loaded.bias, module.bias.detach().numpy())
    assert all("geometry not stored" in layer.notes[0] for layer in model.layers)
    # the bias's length tells a ConvTranspose2d from a Conv2d
    assert [layer.kind for layer in model.layers] == ["conv", "conv", "conv_transpose"]
    assert (model.layers[2].in_channels, model.layers[2].out_channels) == (4, 6)


def test_state_dict(tmp_path):
    net = _net()
    torch.save(net.state_dict(), tmp_path / "net.pt")
    model = read_model(tmp_path / "net.pt")
    assert model.format == model_format(tmp_path / "net.pt") == "pytorch"
    _check(model, net)
    assert model.layers[0].to_json()["stride"] is None


def test_checkpoint_holding_a_state_dict(tmp_path):
    net = _net()
    checkpoint = {
        "epoch": 7,
        "best": np.float64(0.93),
        "model_state_dict": net.state_dict(),
        "optimizer": {"lr": 0.1, "betas": (0.9, 0.99)},
    }
    torch.save(checkpoint, tmp_path / "ckpt.pth")
    _check(read_model(tmp_path / "ckpt.pth"), net)


def test_half_bfloat16_and_views(tmp_path):
    w = torch.randn(4, 2, 3, 3)
    state = {
        "a.weight": w.half(),
        "b.weight": w.bfloat16(),
        "c.weight": torch.randn(8, 2, 3, 3)[4:],
    }
    torch.save(state, tmp_path / "mixed.pt")
    layers = {layer.name: layer for layer in read_model(tmp_path / "mixed.pt").layers}
    np.testing.assert_array_equal(
        ours_to_torch(layers["a"].load().weights), w.half().float().numpy()
    )
    np.testing.assert_array_equal(
        ours_to_torch(layers["b"].load().weights), w.bfloat16().float().numpy()
    )
    np.testing.assert_array_equal(
        ours_to_torch(layers["c"].load().weights), state["c.weight"].numpy()
    )


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    state = {"conv.weight": torch.zeros(2, 1, 3, 3), "evil": _Payload(marker)}
    torch.save(state, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=r"refused.*(posix|os)\.system") as err:
        read_model(tmp_path / "evil.pt")
    assert "\n" not in str(err.value)
    assert not marker.exists()
    # the same as a plain pickle outside a zip
    (tmp_path / "plain.pth").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ValueError, match="refused"):
        read_model(tmp_path / "plain.pth")
    assert not marker.exists()


def test_a_pickled_module_is_refused_naming_its_class(tmp_path):
    torch.save(_net(), tmp_path / "whole.pt")
    with pytest.raises(ValueError, match=r"refused.*torch\.nn\.modules"):
        read_model(tmp_path / "whole.pt")


def test_legacy_format_is_refused(tmp_path):
    torch.save(_net().state_dict(), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match=r"refused|legacy"):
        read_model(tmp_path / "old.pt")


def test_a_tensor_reaching_past_its_storage_is_refused(tmp_path):
    torch.save({"w.weight": torch.zeros(2, 1, 3, 3)}, tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as src:
        members = {info.filename: src.read(info) for info in src.infolist()}
    (pkl,) = [n for n in members if n.endswith("data.pkl")]
    # the pickle says 18 elements; claim a shape of 2 × 1 × 3 × 30 over the same storage
    members[pkl] = members[pkl].replace(b"K\x03K\x03t", b"K\x03K\x1et")
    with zipfile.ZipFile(tmp_path / "bad.pt", "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    with pytest.raises(ValueError, match=r"past its storage|bad strides"):
        read_model(tmp_path / "bad.pt")


def test_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(0)
    tensors = {
        "enc.conv.weight": rng.standard_normal((16, 3, 5, 5)).astype(np.float32),
        "enc.conv.bias": rng.standard_normal(16).astype(np.float32),
        "fc.weight": rng.standard_normal((10, 16)).astype(np.float32),
    }
    st.save_file(tensors, tmp_path / "m.safetensors")
    model = read_model(tmp_path / "m.safetensors")
    (layer,) = model.layers
    assert model.format == model_format(tmp_path / "m.safetensors") == "safetensors"
    assert layer.name == "enc.conv"
    assert layer.out_channels == 16 and layer.kernel == (5, 5) and layer.groups is None
    loaded = layer.load()
    np.testing.assert_array_equal(ours_to_torch(loaded.weights), tensors["enc.conv.weight"])
    np.testing.assert_array_equal(loaded.bias, tensors["enc.conv.bias"])


def _safetensors_bytes(header: bytes, body: bytes = b"") -> bytes:
    return len(header).to_bytes(8, "little") + header + body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_safetensors_bytes(b"{}")[:5], "too short"),
        ((2**40).to_bytes(8, "little") + b"{}", "header of"),
        (_safetensors_bytes(b"not json"), "not JSON"),
        (
            _safetensors_bytes(
                b'{"w": {"dtype": "F32", "shape": [1048576, 1048576, 64, 64], '
                b'"data_offsets": [0, 4]}}',
                b"\0" * 4,
            ),
            "absurd",
        ),
        (
            _safetensors_bytes(
                b'{"w": {"dtype": "F32", "shape": [2, 1, 3, 3], "data_offsets": [0, 72]}}',
                b"\0" * 8,
            ),
            "truncated: the file ends before tensor 'w''s data",
        ),
        (
            _safetensors_bytes(
                b'{"w": {"dtype": "F32", "shape": [2, 1, 3, 3], "data_offsets": [0, 8]}}',
                b"\0" * 8,
            ),
            "offsets do not match its shape",
        ),
        (
            _safetensors_bytes(b'{"w": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}'),
            "unknown",
        ),
    ],
)
def test_bad_safetensors_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        read_model(path)
    assert "\n" not in str(err.value)
