"""A DenseNet block of 6 to 12 layers exported by torch (each map a branch of every later
stack, the readers' one object a node): its forward pass against onnxruntime and torch,
J v against torch.func.jvp, Jᵀ u against torch.func.vjp, the dot test, the deconvnet
against torch with the ReLU's backward replaced (autograd sums what a map's consumers
send before its ReLU), the rank bounds against numpy.linalg.matrix_rank, and the layer
evaluations of each pass counted by wrapping the layers' methods: each node once, 2n + 3
for n layers (walked branch by branch it was about 2^(n+1))."""

from __future__ import annotations

import numpy as np
import pytest
from test_models_concat import _Deconvnet, _DenseBlock, _error, _export, _head, _hwc, _nchw

from deconv_gui.core.network import Fork, Network
from deconv_gui.core.network.bounds import prefix_bounds
from deconv_gui.io.models import read_model
from deconv_gui.io.models.activations import onnx_tensors
from deconv_gui.io.models.network import model_network

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")


def _layers(layers, seen=None):
    """Each layer object of a chain once, blocks' branches walked (a block met again is
    not walked again: the walk stays linear in the blocks)."""
    seen = set() if seen is None else seen
    for layer in layers:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, Fork):
            for branch in layer.branches:
                yield from _layers(branch, seen)
        else:
            yield layer


def _counting(monkeypatch, network, methods=("forward", "jvp", "vjp", "output_shape")):
    """Calls of each method of the network's layers, counted by wrapping each layer's."""
    counts = dict.fromkeys(methods, 0)

    def counted(method, original):
        def call(*args):
            counts[method] += 1
            return original(*args)

        return call

    for layer in _layers(network.layers):
        for method in methods:
            monkeypatch.setattr(layer, method, counted(method, getattr(layer, method)))
    return counts


def _dense(tmp_path, n, seed=0):
    torch.manual_seed(seed)
    net = _DenseBlock(n).eval()
    path = tmp_path / f"dense{n}.onnx"
    _export(net, path, (8, 6))
    model = read_model(path)
    x0 = np.random.default_rng(seed).random((8, 6, 3))
    return net, path, model, x0, model_network(model, _head(model).name, x0.shape)


@pytest.mark.parametrize("n", [6, 9, 12])
def test_a_dense_block_equals_onnxruntime_and_torch_each_node_once_a_pass(tmp_path, monkeypatch, n):
    net, path, model, x0, network = _dense(tmp_path, n)
    nodes = 2 * n + 3  # c0 and its ReLU, each layer's conv and ReLU, the head
    assert len(list(_layers(network.layers))) == nodes
    counts = _counting(monkeypatch, network)
    Network(network.layers, network.input_shape)  # the shape checks
    assert counts["output_shape"] == 3  # the chain's: the block kept its shapes when built
    for layer in network.layers:
        if isinstance(layer, Fork):
            layer._kept().clear()  # made afresh: each node once
    Network(network.layers, network.input_shape)
    assert counts["output_shape"] == 3 + nodes
    lin = network.linearize(x0)  # a forward pass, then J x₀ for the offset
    assert (counts["forward"], counts["jvp"], counts["vjp"]) == (nodes, nodes, 0)
    (ort,) = onnx_tensors(path, x0.astype(np.float32), [_head(model).output])
    assert _error(lin.output, ort) < 1e-5  # onnxruntime computes in float32
    net64 = net.double()
    with torch.no_grad():
        assert _error(lin.output, _hwc(net64(_nchw(x0)))) < 1e-9
    rng = np.random.default_rng(n)
    v, u = rng.standard_normal(x0.shape), rng.standard_normal(lin.output_shape)
    counts.update(jvp=0)
    jv = lin.apply(v)
    assert counts["jvp"] == nodes
    _, want = torch.func.jvp(net64, (_nchw(x0),), (_nchw(v),))
    assert _error(jv, _hwc(want)) < 1e-9
    jtu = lin.apply_adjoint(u)
    assert counts["vjp"] == nodes
    _, pullback = torch.func.vjp(net64, _nchw(x0))
    assert _error(jtu, _hwc(pullback(_nchw(u))[0])) < 1e-9
    left, right = np.vdot(jv, u), np.vdot(v, jtu)
    assert abs(left - right) <= 1e-12 * max(abs(left), 1.0)  # the dot test
    assert counts["forward"] == nodes  # and no pass evaluated anything twice


class _DeconvnetDense(_DenseBlock):
    """The block with the deconvnet's ReLU backward, as torch's autograd runs it."""

    def forward(self, x):
        maps = [_Deconvnet.apply(self.c0(x))]
        for conv in self.convs:
            maps.append(_Deconvnet.apply(conv(torch.cat(maps, dim=1))))
        return self.head(torch.cat(maps, dim=1))


def test_the_deconvnet_sums_a_maps_signals_before_its_relu_as_torch(tmp_path):
    """A map read by several stacks gets their signals summed before its ReLU's rule, as
    torch's autograd does (the rule is not linear, so per path it would differ)."""
    torch.manual_seed(1)
    net = _DeconvnetDense(6).eval()
    path = tmp_path / "dense.onnx"
    _export(net, path, (8, 6))
    model = read_model(path)
    rng = np.random.default_rng(2)
    x0 = rng.random((8, 6, 3))
    lin = model_network(model, _head(model).name, x0.shape).linearize(x0)
    u = rng.standard_normal(lin.output_shape)
    x = _nchw(x0).requires_grad_(True)
    (net.double()(x) * _nchw(u)).sum().backward()
    assert _error(lin.project(u, "deconvnet"), _hwc(x.grad)) < 1e-9
    assert _error(lin.project(u, "backprop"), _hwc(x.grad)) > 1e-3  # the rules differ here


def test_the_rank_bounds_of_a_dense_block_hold_against_matrix_rank(tmp_path):
    _, _, _, x0, network = _dense(tmp_path, 6, seed=3)
    lin = network.linearize(x0)
    bounds = prefix_bounds(lin)
    assert [b.kind for b in bounds] == ["conv", "relu", "concat", "conv"]
    for index, bound in enumerate(bounds):
        exact = np.linalg.matrix_rank(network.prefix(index).linearize(x0).to_dense())
        assert exact <= bound.rank_at_most <= bound.units


def test_pinv_through_a_dense_block_equals_numpy_pinv_with_the_block_preconditioner(
    tmp_path, monkeypatch
):
    """J⁺ u (u outside the range) with the block-Jacobi preconditioner, whose probe
    spacing walks the block's receptive fields once a node."""
    from deconv_gui.core.network.block_jacobi import probe_spacing

    _, _, _, x0, network = _dense(tmp_path, 9, seed=4)
    lin = network.linearize(x0)
    counts = _counting(monkeypatch, network, ("output_shape",))
    assert probe_spacing(lin) is not None
    nodes = len(list(_layers(network.layers)))  # each stack's graph holds the earlier
    assert counts["output_shape"] <= nodes**2 // 2  # stacks': quadratic, not 2^(n+1)
    u = np.random.default_rng(5).standard_normal(lin.output_shape)
    want = (np.linalg.pinv(lin.to_dense()) @ u.ravel()).reshape(x0.shape)
    got, report = lin.pinv(u, rtol=1e-12, max_iter=20_000, preconditioner="auto")
    assert _error(got, want) < 1e-6, report.message


def test_cli_through_a_dense_block_records_each_stack_once(tmp_path, capsys):
    """through.json lists a stack's branches where it comes first, then marks it
    repeated: its length grows as the graph's edges, not as its 2^(n+1) paths."""
    import json

    from deconv_gui.cli import main as cli_main

    torch.manual_seed(6)
    path = tmp_path / "dense.onnx"
    _export(_DenseBlock(12).eval(), path, (8, 8))
    args = ["run", "--model", str(path), "--layer", _head(read_model(path)).name]
    args += ["--through", "--image", "chelsea", "--methods", "transposed"]
    assert cli_main([*args, "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    text = (tmp_path / "out" / "through.json").read_text()
    (block,) = [layer for layer in json.loads(text)["layers"] if layer["kind"] == "concat"]
    firsts = [branch[0] for branch in block["branches"][1:]]  # each starts at a stack
    assert len(firsts) == 12 and all("branches" in first for first in firsts)
    inner = [branch[0] for first in firsts for branch in first["branches"][1:]]
    assert len(inner) == 66 and all(s["repeated"] and "branches" not in s for s in inner)
    assert text.count('"name"') < 3 * 12**2  # quadratic (each stack lists its branches)


def test_the_chain_line_names_a_stack_met_again(tmp_path):
    """The dock's one-line chain writes a stack met again by its name (the line grows
    with the graph's edges, not its paths)."""
    from deconv_gui.gui.network.jobs import chain_text

    network = _dense(tmp_path, 12, seed=7)[-1]
    stacks = [b[0].name for b in network.layers[2].branches[1:]]  # Concat, …, Concat_11
    text = chain_text(network)
    assert all(f"[{name}]→conv→ReLU" in text for name in stacks[:-1])
    assert len(text) < 40 * 12**2
