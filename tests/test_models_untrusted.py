"""Model files are untrusted: bombs, absurd shapes and oversized files are refused in one
line before anything large is allocated; ``deconv-gui layers`` lists and refuses."""

import json
import zipfile

import numpy as np
import pytest

from deconv_gui.cli import main as cli_main
from deconv_gui.io.models import onnx_model, read_model, safety


def _one_line_error(path, match):
    with pytest.raises(ValueError, match=match) as err:
        read_model(path)
    assert "\n" not in str(err.value) and path.name in str(err.value)


def test_zip_bomb_refused_from_its_directory(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b"\0" * 20_000_000)  # compresses ~1000×
        archive.writestr("model.weights.h5", b"")
    _one_line_error(path, "zip bomb")


def test_zip_member_larger_than_the_cap_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "MAX_MEMBER_BYTES", 1000)
    path = tmp_path / "big.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("big/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("big/data/0", b"\0" * 5000)
    _one_line_error(path, "would unpack to 5000 bytes")


def test_oversized_onnx_refused_before_parsing(tmp_path, monkeypatch):
    path = tmp_path / "big.onnx"
    path.write_bytes(b"\0" * 4096)
    monkeypatch.setattr(onnx_model, "MAX_ONNX_BYTES", 1024)
    _one_line_error(path, "2 GB limit")


def test_absurd_onnx_weight_shape_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**20, 2**20, 3, 3])
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="huge")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2**20, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "huge.onnx"))
    _one_line_error(tmp_path / "huge.onnx", "absurd")


def test_garbage_and_unsupported_files_named_in_one_line(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\xff\xfe not protobuf at all" * 10)
    _one_line_error(tmp_path / "junk.onnx", "not an ONNX model")
    (tmp_path / "notes.txt").write_text("hello")
    _one_line_error(tmp_path / "notes.txt", "not a model file this tool reads")
    (tmp_path / "empty.pt").write_bytes(b"")
    _one_line_error(tmp_path / "empty.pt", "not")


def test_unsupported_op_only_model_says_what_was_skipped(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((2, 1, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1d")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "c1d.onnx"))
    _one_line_error(tmp_path / "c1d.onnx", r"no 2-D conv layer.*1-D")


def test_onnx_external_data_outside_the_folder_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 1, 3, 3])
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../../etc/passwd"), ("offset", "0"), ("length", "72")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "ext.onnx"))
    (layer,) = read_model(tmp_path / "ext.onnx").layers  # listing needs shapes only
    with pytest.raises(ValueError, match="outside the model's folder"):
        layer.load()


def _onnx_file(tmp_path):
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, stride=2, padding=(1, 2)),
        torch.nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1),
    )
    path = tmp_path / "two.onnx"
    torch.onnx.export(net, torch.randn(1, 3, 16, 16), str(path), dynamo=False)
    return net, path


def test_cli_layers_json_matches_the_modules(tmp_path, capsys):
    net, path = _onnx_file(tmp_path)
    assert cli_main(["layers", str(path), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    keys = {
        "name",
        "kind",
        "in_channels",
        "out_channels",
        "kernel",
        "stride",
        "padding",
        "dilation",
        "groups",
        "padding_mode",
        "output_padding",
        "input",
        "output",
        "weight_shape",
    }
    first, second = listing["layers"]
    assert keys <= set(first)
    assert first["padding"] == [[1, 1], [2, 2]] and first["stride"] == [2, 2]
    assert first["weight_shape"] == list(net[0].weight.shape) and first["kind"] == "conv"
    assert second["kind"] == "conv_transpose" and second["output_padding"] == [1, 1]
    assert (second["in_channels"], second["out_channels"]) == (4, 2)
    assert second["input"] == first["output"]


def test_cli_layers_table_and_exit_codes(tmp_path, capsys):
    _, path = _onnx_file(tmp_path)
    assert cli_main(["layers", str(path)]) == 0
    out = capsys.readouterr().out
    assert "conv_transpose" in out and "2×2" in out and "t1 b1 l2 r2" in out
    assert cli_main(["layers", str(tmp_path / "missing.onnx")]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "bad.onnx").write_bytes(b"\xff" * 64)
    assert cli_main(["layers", str(tmp_path / "bad.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an ONNX model" in err
    assert cli_main(["layers"]) == 2


def _mutations(data: bytes, seed: int, count: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        buf = bytearray(data)
        for _ in range(int(rng.integers(1, 6))):
            buf[int(rng.integers(len(buf)))] = int(rng.integers(256))
        if rng.random() < 0.2:
            buf = buf[: int(rng.integers(1, len(buf)))]
        yield bytes(buf)


def _only_value_errors(path, variants):
    """Every corrupted file is either read or refused with a one-line ValueError."""
    for content in variants:
        path.write_bytes(content)
        try:
            model = read_model(path)
            for layer in model.layers:
                layer.load()
        except ValueError as exc:
            assert "\n" not in str(exc)


def test_corrupted_torch_pickles_only_raise_value_errors(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"c.weight": torch.randn(2, 3, 3, 3), "c.bias": torch.zeros(2)}, tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as src:
        members = {info.filename: src.read(info) for info in src.infolist()}
    (pkl,) = [n for n in members if n.endswith("data.pkl")]
    variants = []
    for mutated in _mutations(members[pkl], 0, 150):
        out = tmp_path / "m.zip"
        with zipfile.ZipFile(out, "w") as dst:
            for name, data in members.items():
                dst.writestr(name, mutated if name == pkl else data)
        variants.append(out.read_bytes())
    _only_value_errors(tmp_path / "fuzz.pt", variants)


def test_corrupted_onnx_and_safetensors_only_raise_value_errors(tmp_path):
    pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.numpy")
    _, path = _onnx_file(tmp_path)
    _only_value_errors(tmp_path / "fuzz.onnx", _mutations(path.read_bytes(), 1, 60))
    st.save_file({"c.weight": np.ones((2, 3, 3, 3), np.float32)}, tmp_path / "ok.safetensors")
    data = (tmp_path / "ok.safetensors").read_bytes()
    _only_value_errors(tmp_path / "fuzz.safetensors", _mutations(data, 2, 150))


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["config"]["layers"][1]["config"].update(kernel_size="x"),
        lambda c: c["config"]["layers"][1]["config"].update(strides=None, padding=7),
        lambda c: c["config"]["layers"][1].update(build_config={"input_shape": "??"}),
        lambda c: c["config"].update(layers=5),
        lambda c: c.update(config=[1, 2]),
    ],
)
def test_malformed_keras_configs_are_one_line_errors(tmp_path, change):
    import os

    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((8, 8, 2)), keras.layers.Conv2D(3, 3, name="c")])
    model.save(tmp_path / "ok.keras")
    with zipfile.ZipFile(tmp_path / "ok.keras") as src:
        members = {info.filename: src.read(info) for info in src.infolist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    try:
        for layer in read_model(tmp_path / "bad.keras").layers:
            layer.load()
    except ValueError as exc:
        assert "\n" not in str(exc)
    data = (tmp_path / "ok.keras").read_bytes()
    _only_value_errors(tmp_path / "fuzz.keras", _mutations(data, 3, 20))


def test_a_truncated_model_file_says_so_in_one_line(tmp_path):
    """A download cut short: each format's refusal says the file may be truncated."""
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 8, 3)).eval()
    torch.save(net.state_dict(), tmp_path / "full.pt")
    torch.onnx.export(net, torch.zeros(1, 3, 8, 8), str(tmp_path / "full.onnx"), dynamo=False)
    safetensors = pytest.importorskip("safetensors.torch")
    safetensors.save_file(net.state_dict(), tmp_path / "full.safetensors")
    for suffix in (".pt", ".onnx", ".safetensors"):
        whole = (tmp_path / f"full{suffix}").read_bytes()
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(whole[: len(whole) * 2 // 3])
        _one_line_error(cut, "truncated")
