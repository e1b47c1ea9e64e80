"""A network built by hand in the Document: its J against torch autograd, its methods against
run_prefix, round trips, the version-3 migration, and refusals of impossible geometry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.core import Params, make_filter
from deconv_gui.core.network import PREFIX_METHODS, run_prefix
from deconv_gui.document import ACTIVATION_KINDS, Document, Layer
from deconv_gui.document.network import (
    adapt_channels,
    chain_network,
    conv_channels,
    layer_input,
    layer_text,
)
from deconv_gui.io.session import load_session, save_document

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _document(pool: str = "maxpool", act: str = "relu") -> Document:
    """conv 3→4 (bias) → act → pool 2×2 → conv 4→3 (stride 2, reflect padding), the second
    conv under study."""
    rng = np.random.default_rng(3)
    conv1 = Params(rng.standard_normal((3, 3, 3, 4)), bias=tuple(rng.standard_normal(4)), stride=1)
    conv2 = Params(
        rng.standard_normal((3, 3, 4, 3)),
        bias=tuple(rng.standard_normal(3)),
        stride=2,
        padding=1,
        padding_mode="reflect",
    )
    chain = (
        Layer(conv1, preset="custom"),
        Layer(kind=act, slope=0.1),
        Layer(kind=pool, kernel=2, stride=2),
        Layer(conv2, name="conv 2", preset="custom"),
    )
    return Document(layers=chain, selected=3, through=True)


_TORCH_ACTIVATIONS = {
    "relu": F.relu,
    "leaky_relu": lambda y: F.leaky_relu(y, 0.1),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "silu": F.silu,
    "gelu": F.gelu,
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
    "elu": F.elu,
    "selu": F.selu,
    "softplus": F.softplus,
}


def _torch_chain(doc: Document, pool: str, act: str):
    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a))

    p1, p2 = doc.layers[0].params, doc.layers[3].params

    def net(x):
        y = F.conv2d(x, t(p1.weights.transpose(3, 2, 0, 1)), t(np.array(p1.bias)), padding=1)
        y = _TORCH_ACTIVATIONS[act](y)
        y = F.max_pool2d(y, 2) if pool == "maxpool" else F.avg_pool2d(y, 2)
        y = F.pad(y, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(y, t(p2.weights.transpose(3, 2, 0, 1)), t(np.array(p2.bias)), stride=2)

    return net


def _nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)[None]))


def _hwc(t):
    return t[0].detach().numpy().transpose(1, 2, 0)


@pytest.mark.parametrize(
    ("pool", "act"),
    [("maxpool", "relu"), ("avgpool", "leaky_relu")] + [("maxpool", k) for k in ACTIVATION_KINDS],
)
def test_the_chain_built_in_the_document_is_torchs_network(pool, act):
    """Every activation a hand-built chain offers is torch's, forward, J v and Jᵀ u; it
    round-trips through a session's dict with its kind alone."""
    doc = _document(pool, act)
    assert Document.from_dict(json.loads(json.dumps(doc.to_dict()))).layers == doc.layers
    if act in ACTIVATION_KINDS:
        assert doc.layers[1].to_dict() == {"kind": act, "name": "layer 1"}
    rng = np.random.default_rng(4)
    x0 = rng.random((12, 10, 3))
    net = chain_network(doc.layers, x0.shape, upto=doc.selected)
    lin = net.linearize(x0)
    reference = _torch_chain(doc, pool, act)
    v = rng.standard_normal(x0.shape)
    u = rng.standard_normal(lin.output_shape)
    out, jv = torch.func.jvp(reference, (_nchw(x0),), (_nchw(v),))
    _, vjp = torch.func.vjp(reference, _nchw(x0))
    (jtu,) = vjp(_nchw(u))
    np.testing.assert_allclose(net.forward(x0), _hwc(out), rtol=1e-10, atol=1e-12)
    # torch's hardsigmoid backward takes 1/6 as float32's even in float64 (3e-8 relative)
    rtol = 1e-7 if act == "hardsigmoid" else 1e-10
    np.testing.assert_allclose(lin.apply(v), _hwc(jv), rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(lin.apply_adjoint(u), _hwc(jtu), rtol=rtol, atol=1e-12)


def test_the_prefix_methods_of_the_chain_are_run_prefix_of_its_network():
    doc = _document()
    x0 = np.random.default_rng(5).random((12, 10, 3))
    net = chain_network(doc.layers, x0.shape, upto=doc.selected)
    result = run_prefix(net, x0, PREFIX_METHODS, rtol=1e-10)
    dense = net.linearize(x0).to_dense()
    expected = np.linalg.pinv(dense) @ (dense @ x0.ravel())
    np.testing.assert_allclose(result.images["pinv"].ravel(), expected, atol=1e-6)
    # the layer alone takes what the layers before it make of the image
    alone = layer_input(doc.layers, doc.selected, x0)
    assert alone.shape == (6, 5, 4)
    np.testing.assert_allclose(
        chain_network(doc.layers[doc.selected :], alone.shape).forward(alone),
        result.forward_output,
        atol=1e-12,
    )


def test_a_conv_with_its_own_activation_counts_it_in_the_chain():
    conv = Layer(Params(make_filter("laplacian", out_channels=2), stride=1, activation="relu"))
    net = chain_network((conv,), (8, 8, 3))
    assert [layer.kind for layer in net.layers] == ["conv", "relu"]
    assert layer_text(conv) == "conv 3×3, 3→2 + ReLU"


def test_the_chain_round_trips_and_a_version_3_session_opens(tmp_path):
    doc = _document()
    again = Document.from_dict(json.loads(json.dumps(doc.to_dict())))
    assert again == doc and again.through and again.layers[1].kind == "relu"
    assert "params" not in doc.to_dict()["layers"][2]  # a pooling writes its window only
    written = save_document(tmp_path / "chain", doc)
    assert load_session(written).document == doc
    # a session file as version 3 wrote it: one convolution, no kinds, no switch
    old = {"schema": "deconv_gui.session", **Document().to_dict(), "extra": {}}
    old["version"] = 3
    del old["through"]
    del old["layers"][0]["kind"]
    (tmp_path / "v3.deconv.json").write_text(json.dumps(old))
    session = load_session(tmp_path / "v3.deconv.json")
    assert session.schema_version == 3
    assert session.document == Document()
    assert session.document.layer.kind == "conv" and not session.document.through


@pytest.mark.parametrize(
    ("layers", "words"),
    [
        (
            (Layer(kind="maxpool", kernel=9, stride=1),),
            r"layer 2 \(max-pool 9×9, stride 1\) does not fit: its input is 6×8",
        ),
        (
            (Layer(Params(np.ones((7, 7, 3, 1)), padding=0, stride=1)),),
            r"layer 2 \(conv 7×7, 3→1\) does not fit",
        ),
        ((Layer(Params(np.ones((3, 3, 2, 1)))),), "it takes 2 channels and 3 reach it"),
        ((Layer(Params(np.ones((3, 3, 1, 1)))),), "it takes 1 channel and 3 reach it"),
    ],
)
def test_impossible_geometry_is_one_line_naming_the_layer(layers, words):
    with pytest.raises(ValueError, match=words) as info:
        chain_network((Layer(Params(np.ones((1, 1, 3, 3)), stride=1)), *layers), (4, 6, 3))
    assert "\n" not in str(info.value)


def test_a_document_whose_convs_do_not_chain_their_channels_is_refused():
    first = Layer(Params(make_filter("gaussian", out_channels=2), stride=1))
    with pytest.raises(
        ValueError, match=r"layers\[2\] \(conv 3×3, 3→1, stride 2\) takes 3 channels and 2"
    ):
        Document(layers=(first, Layer(kind="relu"), Layer()), selected=0)
    data = Document(layers=adapt_channels((first, Layer()), 3)).to_dict()
    data["layers"][1] = Layer().to_dict()
    with pytest.raises(ValueError, match=r"^document.layers\[1\] \(conv"):
        Document.from_dict(data)


def test_each_conv_is_adapted_to_the_channels_that_reach_it():
    first = Layer(Params(make_filter("gaussian", out_channels=2), stride=1))
    custom = Layer(Params(np.arange(18.0).reshape(3, 3, 2, 1)), preset="custom")
    preset = Layer(Params(make_filter("box", in_channels=1)), preset="box")
    chain = adapt_channels((first, Layer(kind="relu"), custom, preset), 1)
    assert [conv_channels(layer.params) for layer in chain if layer.is_conv] == [
        (1, 2),
        (2, 1),
        (1, 1),
    ]
    # a hand-made filter keeps its response to a grey map; a preset is built again
    assert chain[2].preset == "custom"
    np.testing.assert_allclose(
        chain[2].params.weights.sum(axis=2), custom.params.weights.sum(axis=2)
    )
    assert chain[0].preset == "gaussian" and chain[3] is preset  # box 1→1 already fits
    np.testing.assert_allclose(
        chain[0].params.weights, make_filter("gaussian", in_channels=1, out_channels=2)
    )
