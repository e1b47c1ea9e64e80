"""A network prefix's methods (run_prefix) against the dense J and numpy.linalg.pinv, and
``deconv-gui run --model M --layer L --through`` writing them as NAME.npy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.cli import main as cli_main
from deconv_gui.core import ConvOperator
from deconv_gui.core.network import PREFIX_METHODS, Conv, MaxPool, Network, ReLU, run_prefix


def _net(rng):
    w1 = rng.standard_normal((3, 3, 2, 3))
    w2 = rng.standard_normal((3, 3, 3, 2))
    op1 = ConvOperator.from_weights(w1, input_shape=(8, 8, 2), padding=1)
    op2 = ConvOperator.from_weights(w2, input_shape=(4, 4, 3), stride=2, padding=1)
    return Network([Conv(op1, rng.standard_normal(3)), ReLU(), MaxPool(2), Conv(op2, np.ones(2))])


def test_methods_equal_the_dense_jacobian_and_numpy_pinv():
    rng = np.random.default_rng(0)
    net = _net(rng)
    x0 = rng.standard_normal(net.input_shape)
    result = run_prefix(net, x0, ("forward", *PREFIX_METHODS), rtol=1e-12, max_iter=500)
    dense = net.linearize(x0).to_dense()
    jx = dense @ x0.ravel()
    assert np.allclose(result.images["forward"], net.forward(x0))
    assert np.allclose(result.images["transposed"].ravel(), dense.T @ jx)
    reference = np.linalg.pinv(dense) @ jx
    scale = np.linalg.norm(reference)
    assert result.solver is not None and result.solver.converged
    assert np.allclose(result.images["pinv"].ravel(), reference, atol=1e-7 * scale)
    assert np.allclose(result.images["recoverable"], result.images["pinv"])
    assert np.allclose(
        result.images["nullspace"].ravel(), x0.ravel() - reference, atol=1e-7 * scale
    )
    lost = np.sum((x0.ravel() - reference) ** 2) / np.sum(x0**2)
    assert result.metrics["lost_fraction"] == pytest.approx(lost, rel=1e-6)
    assert result.metrics["pinv_relative_residual"] < 1e-8
    assert 0 < result.metrics["active_fraction"] < 1


def test_one_channel_is_projected_alone_and_bad_requests_are_refused():
    rng = np.random.default_rng(1)
    net = _net(rng)
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    result = run_prefix(net, x0, ("deconvnet", "guided_backprop"), channel=1)
    signal = np.zeros_like(lin.output)
    signal[..., 1] = lin.output[..., 1]
    # this prefix ends in a conv: the deconvnet's rule at its ReLU acts on Aᵀ(signal)
    assert np.allclose(result.images["deconvnet"], lin.project(signal, "deconvnet"))
    assert np.allclose(result.images["guided_backprop"], lin.project(signal, "guided_backprop"))
    assert "pinv" not in result.images and result.solver is None
    with pytest.raises(ValueError, match=r"^channel must be an output channel from 0 to 1"):
        run_prefix(net, x0, ("deconvnet",), channel=2)
    with pytest.raises(ValueError, match=r"^methods: a network prefix .*; not tv"):
        run_prefix(net, x0, ("tv",))
    with pytest.raises(ValueError, match=r"^x0 must be a finite image"):
        run_prefix(net, np.full(net.input_shape, np.nan))


def test_progress_is_reported_and_cancel_stops_the_solve():
    from deconv_gui.core.solvers import SolveCancelled

    rng = np.random.default_rng(2)
    net = _net(rng)
    x0 = rng.standard_normal(net.input_shape)
    seen = []
    result = run_prefix(net, x0, ("pinv",), progress=lambda i, r: seen.append((i, r)))
    assert result.solver is not None and len(seen) == result.solver.iterations > 0
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(SolveCancelled):
        run_prefix(net, x0, ("nullspace",), cancel=cancel)


torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")


@pytest.fixture
def onnx_model(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 3, 3, padding=1),
    ).eval()
    path = tmp_path / "net.onnx"
    torch.onnx.export(net, torch.randn(1, 3, 12, 10), str(path), dynamo=False)
    return path


def test_cli_through_writes_every_method_as_npy(tmp_path, onnx_model, capsys):
    from deconv_gui.io.models import read_model
    from deconv_gui.io.models.network import model_network

    out = tmp_path / "out"
    args = ["run", "--model", str(onnx_model), "--layer", "/3/Conv", "--through"]
    args += ["--image", "astronaut", "--methods", "all", "--channel", "2", "--out", str(out)]
    assert cli_main([*args, "--rtol", "1e-10", "--max-iter", "400"]) == 0
    assert "J⁺ converged: " in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    for stem in ("input", "forward_output", "transposed", "pinv", "recoverable", "nullspace"):
        assert f"{stem}.npy" in names and f"{stem}.png" in names
    assert {"deconvnet.npy", "guided_backprop.npy", "through.json"} <= names
    record = json.loads((out / "through.json").read_text())
    assert record["layer"] == "/3/Conv" and record["channel"] == 2
    assert [layer["kind"] for layer in record["layers"]] == ["conv", "relu", "maxpool", "conv"]
    model = read_model(onnx_model)
    x0 = np.load(out / "input.npy")
    assert x0.shape == (12, 10, 3)
    net = model_network(model, "/3/Conv", x0.shape)
    lin = net.linearize(x0)
    assert np.allclose(np.load(out / "forward_output.npy"), net.forward(x0))
    dense = lin.to_dense()
    jx = dense @ x0.ravel()
    assert np.allclose(np.load(out / "transposed.npy").ravel(), dense.T @ jx)
    reference = np.linalg.pinv(dense) @ jx
    pinv = np.load(out / "pinv.npy").ravel()
    assert np.allclose(pinv, reference, atol=1e-6 * np.linalg.norm(reference))
    signal = np.zeros_like(lin.output)
    signal[..., 2] = lin.output[..., 2]
    assert np.allclose(np.load(out / "guided_backprop.npy"), lin.project(signal, "guided_backprop"))
    # a second run refuses to overwrite, in one line, before computing
    assert cli_main(args) == 1
    assert "exist in" in capsys.readouterr().err


def test_cli_through_refusals(tmp_path, onnx_model, capsys):
    base = ["run", "--image", "astronaut", "--out", str(tmp_path / "o"), "--through"]
    assert cli_main([*base, "--filter", "box3"]) == 2
    assert "--through needs --model" in capsys.readouterr().err
    model = ["--model", str(onnx_model), "--layer", "/3/Conv"]
    assert cli_main([*base, *model, "--methods", "tv"]) == 2
    assert "--through computes forward" in capsys.readouterr().err
    assert cli_main([*base, *model, "--channel", "3", "--methods", "deconvnet"]) == 2
    assert "--channel must be from 0 to 2" in capsys.readouterr().err
    assert cli_main([*base, *model, "--activation", "relu"]) == 2
    assert "the prefix ends at the layer's output before its activation" in capsys.readouterr().err
    conv = torch.nn.Conv2d(3, 2, 3)
    torch.save({"c.weight": conv.weight.data, "c.bias": conv.bias.data}, tmp_path / "w.pt")
    weights = ["--model", str(tmp_path / "w.pt"), "--layer", "c"]
    assert cli_main([*base, *weights]) == 2
    err = capsys.readouterr().err.strip()
    assert "stores weights only, no graph: --through needs an ONNX or Keras model" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_bounds_hold_for_every_sub_prefix_and_info_prints_them(onnx_model, capsys):
    from deconv_gui.core.network import prefix_bounds

    rng = np.random.default_rng(3)
    net = _net(rng)
    x0 = rng.standard_normal(net.input_shape)
    bounds = prefix_bounds(net.linearize(x0))
    for k, bound in enumerate(bounds):
        sub = net.prefix(k).linearize(x0)
        assert bound.output_shape == sub.output_shape
        rank = np.linalg.matrix_rank(sub.to_dense())
        assert rank <= bound.rank_at_most
        assert bound.nullity_at_least == x0.size - bound.rank_at_most
        if bound.kind == "relu":  # the units with a positive input at x0
            before = net.prefix(k - 1).forward(x0)
            assert bound.active == int((before > 0).sum())
    assert [b.receptive_field for b in bounds] == [(3, 3), (3, 3), (4, 4), (8, 8)]
    args = ["info", "--model", str(onnx_model), "--layer", "/3/Conv", "--image", "astronaut"]
    assert cli_main([*args, "--through", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [b["kind"] for b in report["layers"]] == ["conv", "relu", "maxpool", "conv"]
    assert report["exact"] and report["rank"] <= report["layers"][-1]["rank_at_most"]
    assert report["rank"] + report["nullity"] == report["unknowns"] == 12 * 10 * 3
    assert cli_main([*args, "--through"]) == 0
    assert "nullity ≥" in capsys.readouterr().out


def test_info_through_prints_each_layers_whole_name():
    from deconv_gui.cli.through_info import _lines

    names = [f"/features/features.{k}/{op}" for k, op in enumerate(("Conv", "Relu", "Conv"))]
    layer = {"kind": "conv", "output_shape": [4, 4, 2], "units": 32, "active": None}
    layer |= {"receptive_field": [3, 3], "rank_at_most": 32, "nullity_at_least": 16}
    report = {"image": "camera", "input_shape": [8, 6, 1], "unknowns": 48, "equations": 32}
    report |= {"layer": names[-1], "linearisation": "exact", "exact": False}
    report["layers"] = [{**layer, "name": name} for name in names]
    lines = _lines(report)
    rows = lines[3:6]
    # the names differ only past their 24th character: each row names its own layer
    assert [row.split()[0] for row in rows] == names
    assert {row.index(" conv ") + 1 for row in rows} == {lines[2].index("kind")}  # aligned
