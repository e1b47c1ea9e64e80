"""``deconv-gui run --network SESSION``: the window's network built by hand, from its session,
runs on the command line as in the window (run_prefix of the chain with --through; the
studied layer alone on what the layers before it make of the image without)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.cli import main as cli_main
from deconv_gui.core import Params, make_filter, run_pipeline
from deconv_gui.core.network import run_prefix
from deconv_gui.document import Document, Layer
from deconv_gui.document.network import chain_network, layer_input
from deconv_gui.io import load_sample
from deconv_gui.io.session import load_session, save_document


@pytest.fixture
def session(tmp_path):
    conv1 = Params(make_filter("random", out_channels=4, seed=1), bias=0.05, stride=1)
    conv2 = Params(make_filter("random", in_channels=4, out_channels=3, seed=2), stride=2)
    chain = (
        Layer(conv1, preset="random", filter_seed=1),
        Layer(kind="relu"),
        Layer(kind="maxpool"),
        Layer(conv2, preset="random", filter_seed=2),
        Layer(kind="avgpool"),  # after the layer under study: not part of its network
    )
    return save_document(tmp_path / "chain", Document(layers=chain, selected=3, through=True))


def _image():
    return load_sample("chelsea", 48).pixels.astype(np.float64)


def test_through_is_run_prefix_of_the_sessions_chain(tmp_path, session, capsys):
    out = tmp_path / "through"
    args = ["run", "--network", str(session), "--image", "chelsea", "--work-size", "48"]
    assert cli_main([*args, "--through", "--methods", "all", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    doc = load_session(session).document
    net = chain_network(doc.layers, _image().shape, upto=3)
    assert report["results"][0]["layers"] == [layer.name for layer in net.layers]
    ref = run_prefix(net, _image(), ("transposed", "deconvnet", "guided_backprop"))
    np.testing.assert_allclose(np.load(out / "forward_output.npy"), ref.forward_output, atol=1e-12)
    for name in ("transposed", "deconvnet", "guided_backprop"):
        np.testing.assert_allclose(np.load(out / f"{name}.npy"), ref.images[name], atol=1e-12)
    sidecar = json.loads((out / "through.json").read_text())
    assert sidecar["network"] == str(session.resolve())


def test_without_through_the_layer_is_studied_alone_on_its_input(tmp_path, session):
    out = tmp_path / "alone"
    args = ["run", "--network", str(session), "--image", "chelsea", "--work-size", "48"]
    assert cli_main([*args, "--methods", "transposed", "--stride", "1", "--out", str(out)]) == 0
    doc = load_session(session).document
    x = layer_input(doc.layers, 3, _image())
    np.testing.assert_allclose(np.load(out / "input.npy"), x, rtol=1e-6, atol=1e-6)
    params = doc.layers[3].params.replace(stride=1, methods=("transposed",))  # typed: wins
    expected = run_pipeline(x.astype(np.float32), params)
    np.testing.assert_allclose(
        np.load(out / "forward_output.npy"), expected.forward_output, rtol=1e-5, atol=1e-6
    )


def test_usage_errors_name_the_option(tmp_path, session, capsys):
    base = ["run", "--image", "chelsea", "--out", str(tmp_path / "x")]
    assert cli_main([*base, "--network", str(session), "--filter", "box"]) == 2
    assert "one of --filter, --model and --network" in capsys.readouterr().err
    assert cli_main([*base, "--network", str(tmp_path / "gone.deconv.json")]) == 2
    assert "--network: session file not found" in capsys.readouterr().err
    assert cli_main([*base, "--filter", "box", "--through"]) == 2
    assert "--network SESSION" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
