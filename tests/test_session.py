"""Sessions: exact round trip of Params, clear errors for corrupt or newer files, no pickle."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from deconv_gui.core import Params, make_filter
from deconv_gui.document import Display, Document, ImageSource, Layer
from deconv_gui.io import Session, load_session, save_session
from deconv_gui.io.session import (
    SESSION_VERSION,
    params_from_dict,
    params_to_dict,
    save_document,
)


def _params(**changes) -> Params:
    base = Params(
        make_filter("random", size=(3, 2), in_channels=3, out_channels=2, seed=7) / 3.0,
        bias=(0.1, -1.0 / 3.0),
        stride=(2, 1),
        padding=(1, 0),
        dilation=(1, 2),
        methods=("transposed", "normalized_transposed", "pinv"),
        reg=1e-3,
        rtol=1e-9,
        max_iter=40,
        noise_sigma=0.01,
        noise_seed=5,
        image_source="astronaut",
    )
    return base.replace(**changes) if changes else base


def test_round_trip_restores_params_to_the_bit(tmp_path):
    params = _params()
    path = save_session(tmp_path / "mine", params, work_size=128, extra={"levels": [0, 1]})
    assert path.name == "mine.deconv.json"
    session = load_session(path)
    assert isinstance(session, Session)
    assert session.params == params
    # to the bit, not just equal to rounding: the weights' bytes are identical
    assert session.params.weights.tobytes() == params.weights.tobytes()
    assert session.params.bias == params.bias
    assert (session.image_source, session.work_size) == ("astronaut", 128)
    assert session.schema_version == SESSION_VERSION and session.extra == {"levels": [0, 1]}
    assert session.is_sample and not session.image_missing and session.image_problem() is None
    assert session.load_image().pixels.shape[:2] == (128, 128)


def test_params_dict_defaults_and_none(tmp_path):
    params = Params(np.ones((1, 1, 1)), max_iter=None)
    assert params_from_dict(json.loads(json.dumps(params_to_dict(params)))) == params
    save_session(tmp_path / "a.deconv.json", params, work_size=None)
    assert load_session(tmp_path / "a.deconv.json").work_size is None


def test_file_image_missing_is_reported_not_raised(tmp_path):
    image = tmp_path / "photo.npy"
    np.save(image, np.zeros((8, 8, 3), np.float32))
    params = _params(image_source=str(image))
    path = save_session(tmp_path / "s.deconv.json", params, work_size=None)
    session = load_session(path)
    assert not session.image_missing and session.image_problem() is None
    np.save(image, np.ones((8, 8, 3), np.float32))
    assert "changed" in session.image_problem()
    image.unlink()
    session = load_session(path)  # loading the session itself still works
    assert session.image_missing
    assert "missing" in session.image_problem()
    with pytest.raises(ValueError, match="missing"):
        session.load_image()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema": "deconv_gui.session", "version": 1, "par', "corrupt JSON"),
        ("[1, 2]", "not a deconv_gui session"),
        ('{"schema": "other", "version": 1}', "not a deconv_gui session"),
        ('{"schema": "deconv_gui.session", "version": "1"}', "version must be an int"),
    ],
)
def test_corrupt_files_give_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.deconv.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_session(path)


def _document(tmp_path) -> dict:
    path = save_session(tmp_path / "ok.deconv.json", _params(), work_size=64)
    return json.loads(path.read_text())


def _version_1(params: Params, extra: dict | None = None) -> dict:
    """A session file as deconv_gui wrote it before the document (schema version 1)."""
    return {
        "schema": "deconv_gui.session",
        "version": 1,
        "image": {"source": "astronaut", "sha256": None},
        "work_size": 64,
        "params": params.to_dict(),
        "extra": dict(extra or {}),
    }


def test_newer_schema_version_is_refused(tmp_path):
    doc = _document(tmp_path)
    doc["version"] = SESSION_VERSION + 1
    path = tmp_path / "new.deconv.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="newer deconv_gui"):
        load_session(path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("stride", "2", "params.stride must be an int"),
        ("reg", "0.1", "params.reg must be a finite number"),
        ("max_iter", 2.5, "params.max_iter must be an int"),
        ("methods", ["pinv", "magic"], "unknown"),
        ("weights", [[1, "a"]], "weights"),
        ("bias", [1.0], "bias"),  # two output channels need two biases
        ("surprise", 1, "unknown fields: surprise"),
        ("ssim", 1, "params.ssim must be True or False"),
    ],
)
@pytest.mark.parametrize("version", [1, SESSION_VERSION])
def test_wrong_types_are_named(tmp_path, field, value, message, version):
    if version == 1:
        doc = _version_1(_params())
        doc["params"][field] = value
    else:
        doc = _document(tmp_path)
        doc["layers"][0]["params"][field] = value
    path = tmp_path / "typed.deconv.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=message):
        load_session(path)


def test_nan_literal_and_missing_file(tmp_path):
    doc = _document(tmp_path)
    text = json.dumps(doc).replace('"reg": 0.001', '"reg": NaN')
    path = tmp_path / "nan.deconv.json"
    path.write_text(text)
    # the file is named, as for every other refusal (it was "NaN is not allowed …" alone)
    with pytest.raises(ValueError, match=r"^nan\.deconv\.json is not a valid session file: NaN"):
        load_session(path)
    path.write_text(json.dumps(doc).replace('"reg": 0.001', '"reg": -Infinity'))
    with pytest.raises(ValueError, match=r"^nan\.deconv\.json .*-Infinity is not allowed"):
        load_session(path)
    with pytest.raises(ValueError, match="not found"):
        load_session(tmp_path / "nope.deconv.json")


def test_save_into_missing_folder_writes_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="folder"):
        save_session(blocker / "s.deconv.json", _params())
    with pytest.raises(ValueError, match="work_size"):
        save_session(tmp_path / "s.deconv.json", _params(), work_size=0)
    with pytest.raises(ValueError, match="JSON"):
        save_session(tmp_path / "s.deconv.json", _params(), extra={"bad": object()})
    assert os.listdir(tmp_path) == ["file"]


def test_written_files_get_the_umask_mode_not_tempfile_0600(tmp_path):
    from deconv_gui.io.files import atomic_write_bytes

    old = os.umask(0o027)  # set/reset in the test: the mode must follow the umask
    try:
        path = save_session(tmp_path / "shared", _params())
        atomic_write_bytes(tmp_path / "raw.bin", b"x")
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o640  # 0o666 & ~0o027
    assert ((tmp_path / "raw.bin").stat().st_mode & 0o777) == 0o640
    old = os.umask(0o022)
    try:
        path = save_session(tmp_path / "again", _params())
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o644


def test_live_ssim_flag_round_trips(tmp_path):
    params = _params(ssim=False)
    session = load_session(save_session(tmp_path / "live", params))
    assert session.params == params and session.params.ssim is False


def test_a_version_1_session_still_opens_with_what_the_window_stored(tmp_path):
    extra = {
        "image_kind": "sample",
        "image_shape": [64, 64, 3],
        "image_note": "",
        "filter_preset": "random",
        "filter_seed": 3,
        "same_in_all": True,
        "display": {
            "scaling": "auto",
            "shared_levels": True,
            "layout": "row",
            "forward_channel": 0,
        },
    }
    path = tmp_path / "old.deconv.json"
    path.write_text(json.dumps(_version_1(_params(), extra), indent=1))
    session = load_session(path)
    assert session.schema_version == 1 and session.params == _params()
    assert (session.image_source, session.work_size, session.is_sample) == ("astronaut", 64, True)
    layer = session.document.layer
    assert (layer.preset, layer.filter_seed, layer.same_in_all) == ("random", 3, True)
    assert session.document.display == Display("row", True, "auto", 0)
    assert session.document.image.shape == (64, 64, 3)
    # saved again, it is the current version, and reads back the same
    again = load_session(save_document(tmp_path / "new", session.document))
    assert again.schema_version == SESSION_VERSION and again.document == session.document


def _second() -> Params:
    return _params(stride=3, weights=_params().weights[:, :, :2])


def test_a_document_of_two_layers_round_trips_and_a_file_gets_its_hash(tmp_path):
    image = tmp_path / "photo.npy"
    np.save(image, np.zeros((8, 8, 3), np.float32))
    doc = Document(
        image=ImageSource("file", str(image), None),
        # a chain: the second conv takes the first's two output channels
        layers=(Layer(_params()), Layer(_second(), name="second", preset="custom")),
        selected=1,
    )
    session = load_session(save_document(tmp_path / "two", doc, extra={"x": 1}))
    assert session.document.layers == doc.layers and session.document.selected == 1
    assert session.params == _second() and session.extra == {"x": 1}
    assert session.image_sha256 and session.image_problem() is None
