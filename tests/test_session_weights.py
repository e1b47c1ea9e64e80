"""A layer's weights in a session: an .npy file in base64, read back to the bit; a model
file's weights left in the file while they are its own; version-4 files (nested lists)
still open; a hostile or damaged payload is one line naming the field, and nothing is
written or read half."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from deconv_gui.core import Params
from deconv_gui.document import DOCUMENT_VERSION, Document, ImageSource, Layer, ModelSource
from deconv_gui.io.session import load_session, save_document, save_session


def _weights(shape=(3, 3, 4, 5), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal(shape) / 7  # float64 values no float32 holds
    weights.flat[:3] = (1 / 3, -0.1, 5e-320)  # a subnormal as well
    return weights


def _npy(array: np.ndarray, *, allow_pickle: bool = False) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@pytest.mark.parametrize("single", [False, True])
def test_weights_round_trip_to_the_bit(tmp_path, single):
    weights = _weights()
    if single:  # what a model file holds: written as float32, read as the same float64
        weights = weights.astype(np.float32).astype(np.float64)
    params = Params(weights, bias=tuple(np.linspace(-1, 1, 5)), stride=1)
    path = save_session(tmp_path / "s", params, image_source="camera")
    record = json.loads(path.read_text())["layers"][0]["params"]["weights"]
    assert record["dtype"] == ("float32" if single else "float64")
    assert record["shape"] == [3, 3, 4, 5]
    back = load_session(path).params
    assert back.weights.dtype == np.float64 and np.array_equal(back.weights, weights)
    assert back == params
    # the document's own round trip, through JSON text, is as exact
    doc = Document(layers=(Layer(params),))
    assert Document.from_json(doc.to_json()) == doc


def test_a_version_4_session_with_nested_lists_opens(tmp_path):
    weights = _weights((3, 3, 1, 1))
    data = {"schema": "deconv_gui.session", **Document().to_dict(), "extra": {}}
    data["version"] = 4
    params = Params(weights, stride=2).to_dict()  # weights as nested lists, weights_shape
    data["layers"][0]["params"] = params
    (tmp_path / "old.deconv.json").write_text(json.dumps(data))
    session = load_session(tmp_path / "old.deconv.json")
    assert session.schema_version == 4
    assert np.array_equal(session.params.weights, weights)
    assert session.document.to_dict()["version"] == DOCUMENT_VERSION


def _hostile_records() -> dict[str, tuple[object, str]]:
    good = _weights((3, 3, 1, 1))
    record = {"dtype": "float64", "shape": [3, 3, 1, 1], "npy": _npy(good)}
    raw = base64.b64decode(record["npy"])

    def with_(**changes):
        return {**record, **changes}

    def header(text: str) -> str:  # the header of a 3×3×1×1 array, rewritten
        start = raw.index(b"{")
        end = raw.index(b"}") + 1
        new = text.encode("latin1").ljust(end - start)
        return base64.b64encode(raw[:start] + new + raw[end:]).decode("ascii")

    shape = "'shape': (3, 3, 1, 1)"
    return {
        "not an object": ("heavy", "must be nested lists"),
        "keys missing": ({"npy": record["npy"]}, "must be an object with dtype, shape, npy"),
        "another dtype": (with_(dtype="float16"), "dtype must be float32 or float64"),
        "bad shape": (with_(shape=[3, -3, 1, 1]), "shape must be a list of ints"),
        "not base64": (with_(npy="@@@ not base64 @@@"), "npy is not base64"),
        "not npy": (with_(npy=base64.b64encode(b"hello").decode()), "not the bytes of an .npy"),
        "pickle": (
            with_(npy=_npy(np.array([{"x": 1}], dtype=object), allow_pickle=True)),
            "npy holds",
        ),
        "ints": (with_(npy=_npy(np.ones((3, 3, 1, 1), np.int64))), "npy holds"),
        "big-endian": (with_(npy=_npy(good.astype(">f8"))), "npy holds"),
        "fortran": (
            with_(npy=header(f"{{'descr': '<f8', 'fortran_order': True, {shape}, }}")),
            "npy holds",
        ),
        "record lies": (with_(shape=[1, 1, 3, 3]), "its record says [1, 1, 3, 3]"),
        "huge claim": (
            with_(
                shape=[10**5, 10**5, 100, 100],
                npy=header(
                    "{'descr': '<f8', 'fortran_order': False, "
                    "'shape': (100000, 100000, 100, 100), }"
                ),
            ),
            "bytes of data for shape",
        ),
        "truncated": (
            with_(npy=base64.b64encode(raw[:-8]).decode()),
            "bytes of data for shape",
        ),
        "too long": (with_(npy=base64.b64encode(raw + b"\0" * 8).decode()), "bytes of data"),
        "nan": (with_(npy=_npy(np.full((3, 3, 1, 1), np.nan))), "must be finite"),
        "reference without a model": (
            {"from_model": True, "shape": [3, 3, 1, 1]},
            "the model file's, but the layer has no model file",
        ),
        "reference of another form": ({"from_model": 1, "shape": [3, 3, 1, 1]}, "from_model: true"),
    }


@pytest.mark.parametrize("label", list(_hostile_records()))
def test_a_hostile_weights_payload_is_one_line_naming_the_field(tmp_path, label):
    value, words = _hostile_records()[label]
    path = save_session(tmp_path / "s", Params(_weights((3, 3, 1, 1))), image_source="camera")
    data = json.loads(path.read_text())
    data["layers"][0]["params"]["weights"] = value
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(ValueError) as info:
        load_session(path)
    message = str(info.value)
    assert "\n" not in message and words in message, message
    assert "layers[0].params.weights" in message, message
    assert path.read_bytes() == before  # reading never writes


def _onnx(tmp_path, name="m.onnx"):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 1), torch.nn.Conv2d(6, 8, 3, padding=1))
    path = tmp_path / name
    torch.onnx.export(
        net.eval(),
        torch.randn(1, 3, 8, 8),
        str(path),
        dynamo=False,
        dynamic_axes={"input": {2: "h", 3: "w"}},
        input_names=["input"],
    )
    return path, net[1].weight.detach().numpy()


def _model_document(path, weights) -> Document:
    source = ModelSource(str(path), "/1/Conv", image=ImageSource("sample", "coffee"))
    params = Params(weights, bias=(0.0,) * weights.shape[3], stride=1, padding=1)
    return Document(layers=(Layer(params, model=source, preset="custom", same_in_all=False),))


def test_a_model_layer_leaves_its_weights_in_the_model_file_until_edited(tmp_path):
    from deconv_gui.io.models import read_model

    path, torch_weights = _onnx(tmp_path)
    weights = read_model(path).layer("/1/Conv").load().weights  # this tool's layout
    assert np.allclose(weights, torch_weights.transpose(2, 3, 1, 0))
    written = save_document(tmp_path / "s", _model_document(path, weights))
    record = json.loads(written.read_text())["layers"][0]["params"]["weights"]
    assert record == {"from_model": True, "shape": [3, 3, 6, 8]}
    back = load_session(written)
    assert np.array_equal(back.params.weights, np.asarray(weights, np.float64))
    # an edit away from the model's: written whole, read back to the bit
    edited = np.asarray(weights, np.float64).copy()
    edited[1, 1, 0, 0] = 1 / 3
    written = save_document(tmp_path / "e", _model_document(path, edited))
    assert "npy" in json.loads(written.read_text())["layers"][0]["params"]["weights"]
    assert np.array_equal(load_session(written).params.weights, edited)


def test_a_reference_to_a_changed_or_missing_model_is_refused_in_one_line(tmp_path):
    from deconv_gui.io.models import read_model

    path, _ = _onnx(tmp_path)
    weights = read_model(path).layer("/1/Conv").load().weights
    written = save_document(tmp_path / "s", _model_document(path, weights))
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ValueError, match="model file changed since") as info:
        load_session(written)
    assert "document.layers[0].params.weights are the model file's" in str(info.value)
    path.unlink()
    with pytest.raises(ValueError, match="model file is missing") as info:
        load_session(written)
    assert "\n" not in str(info.value)


def test_weights_of_a_model_file_that_cannot_be_read_are_written_whole(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"not a model")
    weights = _weights((3, 3, 6, 8))
    written = save_document(tmp_path / "s", _model_document(tmp_path / "m.onnx", weights))
    record = json.loads(written.read_text())["layers"][0]["params"]["weights"]
    assert record["dtype"] == "float64"
    assert np.array_equal(load_session(written).params.weights, weights)
