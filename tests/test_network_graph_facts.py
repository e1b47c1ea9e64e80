"""A block keeps its graph and its branches' shapes (each DenseNet stack is a branch of
every later one, so re-walking them made a deep block's network and table cost the cube
of its layers): on deep models exported by torch, the window's table, ``info
--through``'s rows, the receptive fields and the probe spacing are the same as with
nothing kept (every call recomputing), each block's shapes are those of its graph
(:func:`~deconv_gui.core.network.dag.shapes`), and the layers' shapes are asked for a
number of times linear in the graph's edges."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from deconv_gui.core.network import Fork, prefix_bounds, receptive_field
from deconv_gui.core.network import dag as dag_module
from deconv_gui.core.network.block_jacobi import probe_spacing
from deconv_gui.gui.network.listing import network_rows
from deconv_gui.io.models import read_model
from deconv_gui.io.models.network import model_network

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
nn = torch.nn


class _Dense(nn.Module):
    def __init__(self, n, growth=2):
        super().__init__()
        self.c0 = nn.Conv2d(3, growth, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(growth * (i + 1), growth, 1) for i in range(n))
        self.head = nn.Conv2d(growth * (n + 1), 2, 3)

    def forward(self, x):
        maps = [torch.relu(self.c0(x))]
        for conv in self.convs:
            maps.append(torch.relu(conv(torch.cat(maps, dim=1))))
        return self.head(torch.cat(maps, dim=1))


class _Basic(nn.Module):
    def __init__(self, c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c if stride == 1 else c // 2, c, 3, stride, 1)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1)
        self.down = None if stride == 1 else nn.Conv2d(c // 2, c, 1, stride)

    def forward(self, x):
        body = self.conv2(torch.relu(self.conv1(x)))
        return torch.relu(body + (x if self.down is None else self.down(x)))


def _resnet():
    blocks = [_Basic(4, 1) for _ in range(6)] + [_Basic(8, 2)] + [_Basic(8, 1) for _ in range(5)]
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), *blocks, nn.Conv2d(8, 2, 1))


def _network(tmp_path, net, size):
    torch.manual_seed(0)
    path = tmp_path / "deep.onnx"
    torch.onnx.export(net.eval(), torch.randn(1, 3, size, size), str(path), dynamo=False)
    model = read_model(path)
    return lambda: model_network(model, model.layers[-1].name, (size, size, 3))


def _facts(network, x0):
    lin = network.linearize(x0)
    rows = [dataclasses.astuple(row) for row in network_rows(network)]
    return rows, prefix_bounds(lin), receptive_field(network), probe_spacing(lin), network.shapes


def _blocks(layers, seen):
    for layer in layers:
        if isinstance(layer, Fork) and id(layer) not in seen:
            seen.add(id(layer))
            yield layer
            for branch in layer.branches:
                yield from _blocks(branch, seen)


@pytest.mark.parametrize("which", ["dense", "resnet"])
def test_what_blocks_keep_leaves_the_table_and_the_bounds_as_recomputed(
    tmp_path, monkeypatch, which
):
    torch.manual_seed(1)
    net, size = (_Dense(14), 8) if which == "dense" else (_resnet(), 12)
    build = _network(tmp_path, net, size)
    x0 = np.random.default_rng(2).random((size, size, 3))
    kept = _facts(build(), x0)
    with monkeypatch.context() as patch:
        patch.setattr(Fork, "_kept", lambda self: {})  # nothing kept: every call recomputes
        assert _facts(build(), x0) == kept
    network = build()
    checked = 0
    for layer, shape in zip(network.layers, network.shapes, strict=False):
        # a DenseNet stack's nested stacks all read the block's input (the c0 ReLU's map)
        for block in _blocks([layer], set()):
            graph = dag_module.Graph(block, lambda layer: isinstance(layer, Fork))
            shapes = dag_module.shapes(graph, shape)
            assert block.output_shape(shape) == shapes[-1]
            assert block.branch_shapes(shape) == [shapes[s] for s in graph.nodes[-1].sources]
            checked += 1
    assert checked == (15 if which == "dense" else 12)


def test_a_dense_blocks_layers_are_asked_their_shape_linearly_in_its_edges(tmp_path, monkeypatch):
    """A block's branches are walked once per input shape: building the network and its
    table asks each conv and ReLU for its shape a few times per branch that holds it
    (re-walked, stack ``i`` walked its ``i`` nested stacks at each of its uses)."""
    from deconv_gui.core.network import Conv, ReLU

    calls = [0]
    for cls in (Conv, ReLU):

        def counted(self, shape, original=cls.output_shape):
            calls[0] += 1
            return original(self, shape)

        monkeypatch.setattr(cls, "output_shape", counted)
    for n in (8, 16):
        build = _network(tmp_path, _Dense(n), 8)
        calls[0] = 0
        network_rows(build())
        edges = n * (n + 1) // 2 + n + 1  # stack i has i + 1 branches; the last n + 1
        assert calls[0] <= 6 * edges, (n, calls)  # re-walked: 681 and 3913
