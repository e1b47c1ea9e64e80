"""A model file's layers as the dock's Network section lists them, Qt-free.

For a model's layer the dock lists the file's network from its input up to that layer, as
Netron's table does (kind, name, output shape), ▶ on the conv under study. The rows come
from the core network the "network up to here" panels run
(:func:`~.jobs.model_prefix`, which keeps it for both), so the list is the chain ``J`` is
made of. A node that several branches hold (each of DenseNet's maps, stacked again by
every later Concat) is one row, where it comes first, and a map that feeds several blocks
says which (``ReLU → Concat, Concat_1``). A file that has no graph (a PyTorch
state_dict, safetensors) or whose prefix is no chain lists the studied layer alone, and
says why. :func:`model_listing` is the job the dock sends off the GUI thread (reading
and building a large model takes a while).

Examples
--------
>>> from deconv_gui.core import ConvOperator
>>> from deconv_gui.core.network import Conv, MaxPool, Network, ReLU
>>> op = ConvOperator.from_weights(np.ones((3, 3, 3, 4)), input_shape=(8, 8, 3), padding=1)
>>> net = Network([Conv(op, name="/conv1/Conv"), ReLU(name="/Relu"), MaxPool(2, name="/pool")])
>>> for row in network_rows(net):
...     print(row.text, "|", row.label, "|", row.name, "|", row.shape)
conv 3×3, 3→4 | conv1 | /conv1/Conv | 8×8×4
ReLU | Relu | /Relu | 8×8×4
max-pool 2×2, stride 2 | pool | /pool | 4×4×4
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from ...core import network as core
from ...document import ModelSource
from ...document.network import conv_text
from ..controls.layers import LayerRow
from .jobs import model_prefix

__all__ = ["ModelListing", "core_layer_text", "model_listing", "network_rows", "short_names"]

Shape = tuple[int, ...]
_CONV_KINDS = ("conv", "conv_transpose")
_POOL_WORDS = {"maxpool": "max-pool", "avgpool": "average pool"}


def _pair(values: tuple[int, int], word: str) -> str:
    a, b = values
    return f"{word} {a}" if a == b else f"{word} {a}×{b}"


def core_layer_text(
    layer: core.Layer, shape_in: tuple[int, ...], shape_out: tuple[int, ...]
) -> str:
    """A core layer in words, as the dock writes a layer built by hand: ``conv 3×3, 3→4``.

    >>> core_layer_text(core.LeakyReLU(0.2), (4, 4, 2), (4, 4, 2))
    'leaky ReLU (slope 0.2)'
    """
    if isinstance(layer, core.Conv):
        g = layer.op.geometry
        channels = (shape_in[2], shape_out[2])
        return conv_text(
            layer.op.transposed, g.filter_shape[:2], channels, g.stride, g.dilation, g.groups
        )
    if isinstance(layer, core.ReLU):
        return "ReLU"
    if isinstance(layer, core.LeakyReLU):
        return f"leaky ReLU (slope {layer.slope:g})"
    if layer.kind in _POOL_WORDS:
        kernel, stride = layer.kernel, layer.stride  # type: ignore[attr-defined]
        return f"{_POOL_WORDS[layer.kind]} {kernel[0]}×{kernel[1]}, {_pair(stride, 'stride')}"
    if isinstance(layer, core.Affine):
        return "affine per channel (batch norm)"
    if isinstance(layer, core.Pad):
        (top, bottom), (left, right) = layer.pads
        same = top == bottom == left == right
        return f"zero padding {top}" if same else f"zero padding {layer.pads}"
    if isinstance(layer, core.Residual):
        return "⊕ add: body + " + ("shortcut" if layer.shortcut else "identity shortcut")
    if isinstance(layer, core.Product):
        return f"⊗ multiply: {len(layer.branches)} branches, element-wise"
    if isinstance(layer, core.Activation):
        return f"{layer.kind} (element-wise, slope at x₀)"
    if isinstance(layer, core.Concat):
        stacked = "+".join(str(s[2]) for s in layer.branch_shapes(shape_in))  # type: ignore[arg-type]
        count = len(layer.branches)  # torch.cat of one map (DenseNet's first layer) is one
        return f"⧺ concat: {count} branch{'es' if count > 1 else ''}, channels {stacked}"
    return layer.kind


def short_names(names: list[str]) -> list[str]:
    """What tells ``names`` apart in a narrow column: ONNX paths without the op type that
    ends them (the kind column says it), without the folders all of them share, and
    without a folder the next one repeats (PyTorch's ``layer2/layer2.0``: ``layer2.0``).

    >>> short_names(["/features/features.0/Conv", "/features/features.1/Relu"])
    ['features.0', 'features.1']
    >>> short_names(["/conv1/Conv", "/Relu", "block1_conv1"])
    ['conv1', 'Relu', 'block1_conv1']
    >>> short_names(["/encoder/layer1/layer1.0/conv1/Conv", "/encoder/layer2/layer2.0/relu/Relu"])
    ['layer1.0/conv1', 'layer2.0/relu']
    """
    parts = [name.strip("/").split("/") for name in names]
    parts = [p[:-1] if len(p) > 1 else p for p in parts]
    common = 0
    while all(len(p) > common + 1 for p in parts) and len({p[common] for p in parts}) == 1:
        common += 1
    parts = [_unrepeated(p[common:]) for p in parts]
    return ["/".join(p) or name for p, name in zip(parts, names, strict=True)]


def _unrepeated(folders: list[str]) -> list[str]:
    """``folders`` without one that the next starts with, followed by a dot."""
    kept = [f for f, after in pairwise(folders) if not after.startswith(f + ".")]
    return kept + folders[-1:]


_Flat = list[tuple[str, core.Layer, Shape, Shape]]


def _flat(
    layers: list[core.Layer], shape: Shape, prefix: str = "", seen: set[int] | None = None
) -> _Flat:
    """``(prefix, layer, shape_in, shape_out)`` per layer, a block's branches before the
    row of its join: a residual block's body marked │, its shortcut ┆; a concatenation's
    first branch │, the next ones ┆ with their number. A layer that several branches
    hold (DenseNet's maps, stacked again by every later Concat) is listed once, where it
    comes first."""
    seen = set() if seen is None else seen
    out: _Flat = []
    for layer in layers:
        after = layer.output_shape(shape)  # type: ignore[arg-type]
        if id(layer) not in seen:
            seen.add(id(layer))
            marks = ["│ ", "┆ shortcut: "] if isinstance(layer, core.Residual) else []
            if isinstance(layer, core.Fork):
                for index, branch in enumerate(layer.branches):
                    mark = (
                        marks[index] if marks else "│ " if index == 0 else f"┆ branch {index + 1}: "
                    )
                    out.extend(_flat(list(branch), shape, prefix + mark, seen))
            out.append((prefix, layer, shape, after))
        shape = after
    return out


def _feeds(layers: list[core.Layer], source: int, feeds: dict[int, list[core.Layer]]) -> int:
    """What each layer's output feeds (``feeds[id(layer)]``, ``source`` the id of what
    feeds ``layers``): the next layer, or the block whose branch it ends; returns the id
    of the last layer. A block met again (a DenseNet stack inside every later one) is
    not walked again: its inside feeds the same, and the walk stays linear in the nodes."""
    for layer in layers:
        if isinstance(layer, core.Fork) and id(layer) not in feeds:
            feeds[id(layer)] = []
            for branch in layer.branches:  # an empty branch: the block's input feeds it
                end = _feeds(list(branch), source, feeds)
                if all(fed is not layer for fed in feeds.setdefault(end, [])):
                    feeds[end].append(layer)
        elif not isinstance(layer, core.Fork):
            if all(fed is not layer for fed in feeds.setdefault(source, [])):
                feeds[source].append(layer)
        source = id(layer)
    return source


def _fed_text(fed: list[core.Layer], labels: dict[int, str]) -> str:
    """`` → a, b, c`` (in the list's order) for a layer that feeds more than one block
    (DenseNet's maps), else "": a block's input feeding its branches and its join is
    drawn by the marks already."""
    if sum(isinstance(layer, core.Fork) for layer in fed) < 2:
        return ""
    order = list(labels)
    listed = sorted(
        (layer for layer in fed if id(layer) in labels), key=lambda layer: order.index(id(layer))
    )
    return " → " + ", ".join(labels[id(layer)] for layer in listed)


def network_rows(
    network: core.Network, passed: dict[int, tuple[int, int]] | None = None
) -> list[LayerRow]:
    """One read-only row per layer of ``network``: its words, name and output shape (a
    residual block's layers each on its own row, then the block's sum; a layer that
    feeds several blocks once, with what it feeds); with ``passed``
    (:func:`~deconv_gui.core.network.passed_units` at the image), the units each ReLU row
    and each block's row passes, of its ReLUs' units."""
    passed = passed or {}
    flat = _flat(network.layers, network.input_shape)
    names = short_names([layer.name for _, layer, _, _ in flat])
    labels = {id(layer): label for (_, layer, _, _), label in zip(flat, names, strict=True)}
    feeds: dict[int, list[core.Layer]] = {}
    _feeds(network.layers, 0, feeds)
    rows = []
    for prefix, layer, shape_in, shape_out in flat:
        text = core_layer_text(layer, shape_in, shape_out)
        rows.append(
            LayerRow(
                prefix + text + _fed_text(feeds.get(id(layer), []), labels),
                "×".join(map(str, shape_out)),
                layer.kind in _CONV_KINDS,
                name=layer.name,
                label=labels[id(layer)],
                passed=passed.get(id(layer)),
                block=isinstance(layer, core.Fork),
            )
        )
    return rows


@dataclass(frozen=True)
class ModelListing:
    """What the dock lists of a model's layer.

    Attributes
    ----------
    rows : tuple of LayerRow
        The network from the model's input up to the layer (the layer alone when that
        network cannot be read).
    studied : int
        The row of the layer under study (▶).
    convs : tuple of str
        The model's conv layers in the file's order (previous and next conv step along
        them).
    input_shape : str
        The image as the model takes it (``24×24×3``), or "" when unknown.
    problem : str
        Why only the studied layer is listed ("" when the whole prefix is).
    """

    rows: tuple[LayerRow, ...]
    studied: int
    convs: tuple[str, ...]
    input_shape: str = ""
    problem: str = ""


def model_listing(model: ModelSource, image: np.ndarray, alone: LayerRow) -> ModelListing:
    """The listing of ``model``'s layer for ``image`` (the image the model runs on);
    ``alone`` is the row of the studied layer, listed by itself when the file's network
    up to it cannot be read (a ValueError's line says why in ``problem``)."""
    from ...io.models import GRAPH_FORMATS, read_model

    convs: tuple[str, ...] = ()
    name = Path(model.path).name
    try:
        read = read_model(model.path)
        convs = tuple(layer.name for layer in read.layers)
        if read.format not in GRAPH_FORMATS:
            problem = f"{name} stores weights only, no graph"
            return ModelListing((alone,), 0, convs, problem=problem)
        x0, network = model_prefix(model, image)
    except (ValueError, OSError) as exc:
        return ModelListing((alone,), 0, convs, problem=f"{name}: {_first_line(exc)}")
    rows = network_rows(network, _passed(network, x0))
    named = [i for i, row in enumerate(rows) if row.name == model.layer]
    convs_at = [i for i, row in enumerate(rows) if row.is_conv]
    studied = named[-1] if named else (convs_at[-1] if convs_at else len(rows) - 1)
    return ModelListing(tuple(rows), studied, convs, "×".join(map(str, x0.shape)))


def _passed(network: core.Network, x0: np.ndarray) -> dict[int, tuple[int, int]]:
    """The units each ReLU (and block) of ``network`` passes at ``x0``, as ``info
    --through`` counts them; none when the network cannot run the image (the list still
    shows its layers)."""
    try:
        return core.passed_units(network.linearize(x0))
    except ValueError:
        return {}


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
