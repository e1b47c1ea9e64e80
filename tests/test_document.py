"""The Qt-free Document: exact round trips, checks, events, and what earlier versions wrote."""

from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pytest

from deconv_gui.core import Params, make_filter
from deconv_gui.core.params import defaults
from deconv_gui.document import (
    DOCUMENT_VERSION,
    Display,
    Document,
    ImageSource,
    Insight,
    Layer,
    ModelSource,
    migrate,
)


def _every_field_changed() -> Document:
    """A document in which every field, of every part, differs from its default."""
    params = Params(
        make_filter("random", size=(3, 2), in_channels=2, out_channels=2, seed=7) / 3.0,
        bias=(0.1, -1.0 / 3.0, 0.25, 2.0),  # a decoder's output: C_in/groups × groups
        stride=(2, 1),
        padding=(0, 2),
        dilation=(1, 2),
        padding_mode="reflect",
        layer_kind="conv_transpose",
        output_padding=(1, 0),
        activation="leaky_relu",
        leaky_slope=0.125,
        groups=2,
        flip=True,
        methods=("transposed", "tv", "coverage"),
        channel=3,
        reg=1e-3,
        rtol=1e-9,
        max_iter=None,
        time_limit=2.5,
        prior_lam=0.25,
        prior_iter=7,
        prior_nonneg=True,
        noise_sigma=0.01,
        photons=50.0,
        noise_seed=5,
        image_source="/tmp/x.png",
        decoder_path="/tmp/dec.npz",
        ssim=False,
    )
    model = ModelSource(
        "/tmp/m.onnx", "/0/Conv", "cd" * 32, "imagenet", ImageSource("sample", "coffee")
    )
    second = Layer(params.replace(stride=3, methods=("pinv",)), "conv2", "custom", 4, False, model)
    # a chain built by hand: its non-convolution layers hold the fields of their kinds
    leaky = Layer(name="act", kind="leaky_relu", slope=0.2)
    pool = Layer(name="pool", kind="avgpool", kernel=3, stride=1)
    return Document(
        image=ImageSource("file", "/tmp/x.png", None, (10, 12, 2), "grey → RGB", "ab" * 32),
        layers=(Layer(Params(np.ones((1, 1, 2, 2)))), leaky, pool, second),
        selected=3,
        insight=Insight(normalised_by_user=True),
        display=Display("row", True, "auto", 1),
        through=True,
    )


def test_the_round_trip_covers_every_field_and_is_exact():
    doc = _every_field_changed()
    default = Document()
    for f in fields(Document):  # every field of the document and of its parts is non-default
        assert getattr(doc, f.name) != getattr(default, f.name), f.name
    for part in ("image", "insight", "display"):
        for f in fields(getattr(doc, part)):
            assert getattr(getattr(doc, part), f.name) != getattr(getattr(default, part), f.name)
    layer, base = doc.layer, default.layer
    for f in fields(Layer):  # some layer of the chain holds a non-default value
        assert any(getattr(one, f.name) != getattr(base, f.name) for one in doc.layers), f.name
    for name, value in defaults().items():
        assert getattr(layer.params, name) != value, name
    again = Document.from_dict(json.loads(json.dumps(doc.to_dict())))
    assert again == doc
    assert again.params.weights.tobytes() == doc.params.weights.tobytes()  # to the bit
    assert Document.from_json(doc.to_json()) == doc
    assert Document.from_dict(Document().to_dict()) == Document()
    assert doc.to_dict()["version"] == DOCUMENT_VERSION == Document.version


def test_the_default_is_one_layer_of_the_windows_starting_filter():
    doc = Document()
    assert len(doc.layers) == 1 and doc.selected == 0
    assert doc.layer.preset == "gaussian" and doc.params.weights.shape == (3, 3, 3, 1)
    assert doc.image == ImageSource("sample", "astronaut", 256)
    assert not doc.insight_panels


# A session file as deconv_gui wrote it before the document (schema version 1), with
# everything the window stored under "extra".
_V1 = {
    "schema": "deconv_gui.session",
    "version": 1,
    "image": {"source": "/data/photo.png", "sha256": "0" * 64},
    "work_size": 512,
    "params": {
        "weights": [[[[0.5], [0.25]]]],
        "weights_shape": [1, 1, 2, 1],
        "bias": [0.5],
        "stride": [3, 3],
        "methods": ["transposed", "pinv", "coverage", "nullspace"],
        "reg": 0.01,
        "max_iter": None,
    },
    "extra": {
        "image_kind": "file",
        "image_shape": [300, 200, 2],
        "image_note": "resized",
        "filter_preset": "custom",
        "filter_seed": 9,
        "same_in_all": True,
        "display": {
            "scaling": "auto",
            "shared_levels": True,
            "layout": "row",
            "forward_channel": 0,
        },
    },
}


def test_a_version_1_session_opens_with_everything_it_held():
    doc = Document.from_dict(json.loads(json.dumps(_V1)))
    assert doc.image == ImageSource(
        "file", "/data/photo.png", 512, (300, 200, 2), "resized", "0" * 64
    )
    assert doc.params == Params(
        np.array([[[[0.5], [0.25]]]]),
        bias=0.5,
        stride=3,
        methods=("transposed", "pinv", "coverage", "nullspace"),
        reg=0.01,
        max_iter=None,
    )
    assert (doc.layer.preset, doc.layer.filter_seed, doc.layer.same_in_all) == ("custom", 9, True)
    assert doc.display == Display("row", True, "auto", 0)
    assert doc.insight_panels
    # and it is written back as the current version, which reads back the same
    assert Document.from_dict(doc.to_dict()) == doc


def test_a_version_1_session_without_extra_guesses_sample_or_file():
    bare = {"version": 1, "image": {"source": "coffee"}, "params": {"weights": [[[1.0]]]}}
    doc = Document.from_dict(bare)
    assert doc.image.kind == "sample" and doc.image.work_size == 256
    bare["image"] = {"source": "me.png"}
    assert Document.from_dict(bare).image.kind == "file"
    assert Document.from_dict(bare).layer.same_in_all  # one input channel: the same
    bare["params"] = {"weights": [[[0.5, 0.25]]]}  # two input channels that differ
    assert not Document.from_dict(bare).layer.same_in_all
    pasted = {**bare, "extra": {"image_kind": "array"}, "image": {"source": ""}}
    assert Document.from_dict(pasted).image == ImageSource("array", "pasted", 256)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=DOCUMENT_VERSION + 1), "newer deconv_gui"),
        (lambda d: d.update(version="2"), "version must be an int"),
        (lambda d: d["layers"][0]["params"].update(stride="2"), r"layers\[0\].params.stride"),
        (lambda d: d["layers"][0].update(filter_seed=-1), r"layers\[0\].filter_seed"),
        (lambda d: d.update(layers=[]), "non-empty list"),
        (lambda d: d.update(selected=1), "selected must be a layer index"),
        (lambda d: d.update(through=1), "through must be true or false"),
        (lambda d: d["layers"].append({"kind": "relu"}) or d.update(selected=1), "convolution"),
        (lambda d: d["layers"].append({"kind": "softmax"}), r"layers\[1\].kind must be one of"),
        (lambda d: d["layers"].append({"kind": "maxpool", "kernel": 0}), r"layers\[1\].kernel"),
        (lambda d: d["layers"].append({"kind": "leaky_relu", "slope": 2}), r"layers\[1\].slope"),
        (lambda d: d["layers"][0].pop("params"), r"layers\[0\].params is missing"),
        (lambda d: d["display"].update(layout="spiral"), "display.layout"),
        (lambda d: d["image"].update(kind="url"), "image.kind"),
        (lambda d: d["image"].update(kind="sample", source="nope"), "image.source"),
        (lambda d: d.update(surprise=1), "unknown fields: surprise"),
        (lambda d: d["insight"].update(normalised_by_user=1), "insight.normalised_by_user"),
    ],
)
def test_bad_values_are_named(change, message):
    data = Document().to_dict()
    change(data)
    with pytest.raises(ValueError, match=message):
        Document.from_dict(data)


def test_nan_and_non_objects_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        Document.from_json(Document().to_json().replace('"reg": 0.0', '"reg": NaN'))
    with pytest.raises(ValueError, match="JSON object"):
        Document.from_dict([1, 2])
    with pytest.raises(ValueError, match="JSON object"):
        migrate("x")


def test_setting_a_field_checks_it_and_changes_nothing_on_error():
    doc = Document()
    before = doc.copy()
    with pytest.raises(ValueError, match="selected"):
        doc.selected = 1
    with pytest.raises(ValueError, match="layers"):
        doc.layers = ()
    with pytest.raises(ValueError, match="display must be a Display"):
        doc.display = "row"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="index"):
        doc.set_layer(3, preset="custom")
    assert doc == before


def test_events_one_per_changed_field_and_update_is_all_or_nothing():
    doc = Document()
    seen: list[str] = []
    doc.events.connect(lambda info: seen.append(info.signal.name))
    doc.set_params(doc.params.replace(stride=3))
    doc.set_params(doc.params.replace(stride=3))  # the same value: no event
    assert seen == ["layers"]
    seen.clear()
    two = (doc.layer, Layer(Params(make_filter("box", in_channels=1)), name="layer 2"))
    doc.update(layers=two, selected=1, display=Display(scaling="auto"))
    assert sorted(seen) == ["display", "layers", "selected"] and doc.selected == 1
    seen.clear()
    snapshot = doc.copy()
    with pytest.raises(ValueError, match="selected"):
        doc.update(layers=two[:1])  # selected 1 would point past the last layer
    assert doc == snapshot and seen == []
    doc.update(Document())
    assert doc == Document() and doc is not snapshot
