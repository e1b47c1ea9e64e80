"""Sessions store a model file's layer (path, SHA-256, layer name, scaling, the image the
model runs on); version-2 sessions still open; a changed or missing model is named."""

import hashlib
import json

import numpy as np
import pytest

from deconv_gui.core import Params
from deconv_gui.document import DOCUMENT_VERSION, Document, ImageSource, Layer, ModelSource
from deconv_gui.io.session import load_session, save_document


def _doc(model_path, image=None):
    source = ModelSource(str(model_path), "/0/Conv", image=image or ImageSource("sample", "coffee"))
    return Document(layers=(Layer(model=source),))


def test_save_records_the_model_absolute_and_hashed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.onnx").write_bytes(b"model bytes")
    (tmp_path / "i.png").write_bytes(b"image bytes")
    doc = _doc("m.onnx", ImageSource("file", "i.png", work_size=64))
    written = save_document(tmp_path / "s", doc)
    data = json.loads(written.read_text())
    model = data["layers"][0]["model"]
    assert data["version"] == DOCUMENT_VERSION
    assert model["path"] == str((tmp_path / "m.onnx").resolve())
    assert model["sha256"] == hashlib.sha256(b"model bytes").hexdigest()
    assert model["image"]["source"] == str((tmp_path / "i.png").resolve())
    assert model["image"]["sha256"] == hashlib.sha256(b"image bytes").hexdigest()
    session = load_session(written)
    assert session.model is not None and session.model.layer == "/0/Conv"
    assert session.model_problem() is None
    (tmp_path / "m.onnx").write_bytes(b"other bytes")
    assert "model file changed" in load_session(written).model_problem()
    (tmp_path / "m.onnx").unlink()
    assert "model file is missing" in load_session(written).model_problem()


def test_a_missing_model_file_is_not_saved_as_if_it_were_there(tmp_path):
    with pytest.raises(ValueError, match="model file is missing"):
        save_document(tmp_path / "s", _doc(tmp_path / "gone.onnx"))
    assert not list(tmp_path.iterdir())


def test_version_2_sessions_open_without_a_model(tmp_path):
    data = {"schema": "deconv_gui.session", **Document().to_dict(), "extra": {}}
    data["version"] = 2
    del data["layers"][0]["model"]
    (tmp_path / "old.deconv.json").write_text(json.dumps(data))
    session = load_session(tmp_path / "old.deconv.json")
    assert session.schema_version == 2 and session.model is None
    assert session.model_problem() is None


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m.update(path=3), "model.path must be a string"),
        (lambda m: m.update(scaling="1000"), "model.scaling must be one of"),
        (lambda m: m.pop("layer"), "model.layer is missing"),
        (lambda m: m.update(image={"kind": "array", "source": "x"}), "sample or an image file"),
        (lambda m: m.update(extra=1), "model has unknown fields: extra"),
    ],
)
def test_a_hostile_model_record_is_one_line(tmp_path, change, words):
    data = _doc(tmp_path / "m.onnx").to_dict()
    change(data["layers"][0]["model"])
    with pytest.raises(ValueError, match=words) as info:
        Document.from_dict(data)
    assert "\n" not in str(info.value) and str(info.value).startswith("document.layers[0].")


def _version_5(data, through, model_through):
    """``data`` as version 5 wrote it: a model layer's switch in its record."""
    data = {**data, "version": 5, "through": through}
    for layer in data["layers"]:
        if layer.get("model") is not None:
            layer["model"] = {**layer["model"], "through": model_through}
    return data


@pytest.mark.parametrize(("through", "model_through"), [(False, True), (True, False)])
def test_a_version_5_model_switch_becomes_the_documents(tmp_path, through, model_through):
    data = _version_5(_doc(tmp_path / "m.onnx").to_dict(), through, model_through)
    doc = Document.from_dict(data)
    # version 5 read a model layer's own switch and ignored the document's
    assert doc.through is model_through
    assert "through" not in doc.to_dict()["layers"][0]["model"]
    assert doc.layer.model == _doc(tmp_path / "m.onnx").layer.model


def test_a_version_5_switch_of_an_unselected_model_layer_is_dropped(tmp_path):
    first = Layer(Params(np.ones((3, 3, 3, 3))))
    data = Document(layers=(first, Layer()), selected=0, through=True).to_dict()
    data["layers"][1] = _doc(tmp_path / "m.onnx").to_dict()["layers"][0]
    doc = Document.from_dict(_version_5(data, True, False))
    assert doc.through and doc.layers[1].model is not None  # the selected layer's is kept


def test_a_version_5_session_of_a_model_opens_through(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"model bytes")
    written = save_document(tmp_path / "s", _doc(tmp_path / "m.onnx"))
    data = _version_5(json.loads(written.read_text()), False, True)
    written.write_text(json.dumps(data))
    session = load_session(written)
    assert session.schema_version == 5 and session.document.through
    assert session.model is not None and session.model_problem() is None
    again = load_session(save_document(tmp_path / "again", session.document))
    assert again.schema_version == DOCUMENT_VERSION and again.document == session.document


@pytest.mark.parametrize("value", [1, "yes", None])
def test_a_version_5_model_switch_that_is_no_boolean_is_one_line(tmp_path, value):
    data = _version_5(_doc(tmp_path / "m.onnx").to_dict(), False, value)
    with pytest.raises(ValueError, match=r"^document.layers\[0\].model.through must be true"):
        Document.from_dict(data)


def test_a_version_6_model_record_has_no_switch_of_its_own(tmp_path):
    data = _doc(tmp_path / "m.onnx").to_dict()
    data["layers"][0]["model"]["through"] = True
    with pytest.raises(ValueError, match="model has unknown fields: through"):
        Document.from_dict(data)
