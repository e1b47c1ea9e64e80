"""What the window's "network up to here" mode computes, Qt-free: the jobs it sends off
the GUI thread and the small geometry its overlays need.

:func:`prefix_job` reads the model file, builds its chain up to the layer
(:func:`~deconv_gui.io.models.network.model_network`) on the image as the model takes it
(:func:`~deconv_gui.io.models.activations.model_input`) and runs
:func:`~deconv_gui.core.network.run_prefix`, with its progress and cancel; a network built
by hand in the document is its layers up to the one under study
(:func:`~deconv_gui.document.network.chain_network`) on the image as loaded.
:func:`effective_field` is ``Jᵀ e_unit`` (the gradient of one output unit with respect to
the input) and :func:`field_rect` the theoretical receptive field of that unit
(:func:`~deconv_gui.core.network.receptive_field`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ...core.network import (
    FIRST_ORDER_WORDS,
    PREFIX_METHODS,
    Fork,
    Network,
    PrefixResult,
    first_order,
    receptive_field,
    run_prefix,
)
from ...core.network.solve import stop_words
from ...document import Layer, ModelSource
from ...document.network import chain_network
from ...io.models import GRAPH_FORMATS, model_format

__all__ = [
    "LAYER_SYMBOLS",
    "WINDOW_PREFIX_TIME_LIMIT",
    "PrefixRequest",
    "chain_text",
    "effective_field",
    "field_rect",
    "model_prefix",
    "no_graph",
    "prefix_job",
    "summary",
]

#: How a layer of the chain reads in the one-line summary above the panels.
LAYER_SYMBOLS = {
    "conv": "conv",
    "conv_transpose": "conv_T",
    "batchnorm": "BN",
    "affine": "affine",
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "maxpool": "maxpool",
    "avgpool": "avgpool",
    "pad": "pad",
    "sigmoid": "σ",
    "silu": "SiLU",
    "gelu": "GELU",
    "hardsigmoid": "hσ",
    "hardswish": "hswish",
    "elu": "ELU",
    "selu": "SELU",
    "softplus": "softplus",
}

#: How a block's branches are joined in the summary line.
_JOIN_SYMBOLS = {"add": " + ", "concat": " ‖ ", "mul": " × "}


#: The window's time limit of a prefix's ``J⁺`` (seconds). It runs in the background with
#: its progress and a Cancel button, after the other panels are drawn, so the live update's
#: limits (the layer's iteration and time limits, which keep one layer's update within
#: seconds) do not bound it: it runs to the layer's rtol, up to
#: :data:`~deconv_gui.core.network.solve.PREFIX_MAX_ITER` iterations or this long, and the
#: status line says which stopped it. On the guide's three-conv net at 128² (κ(J) in the
#: thousands: its ReLU masks) that is a relative residual of about 10⁻⁵–10⁻⁶, where the
#: image is exact to a small fraction of a grey level.
WINDOW_PREFIX_TIME_LIMIT = 30.0


@dataclass(frozen=True)
class PrefixRequest:
    """One computation of the network up to a layer.

    Attributes
    ----------
    model : ModelSource or None
        The model file, its layer and the input scaling (None: ``chain``).
    image : numpy.ndarray
        The image the model (or the chain) runs on, ``(H, W, C)`` as loaded.
    reg, rtol
        The ``J⁺`` solve's Tikhonov weight and tolerance (the layer's solver fields).
    max_iter, time_limit
        Its limits (None: :data:`~deconv_gui.core.network.solve.PREFIX_MAX_ITER`
        iterations, no time limit).
    methods : tuple of str
        The prefix methods (default: all of them).
    chain : tuple of Layer
        Without a model: the document's layers up to the one under study, included.
    channel : int or None
        The channel of ``f(x₀)`` the deconvnet and guided backprop project (None: all).
    """

    model: ModelSource | None
    image: np.ndarray
    reg: float = 0.0
    rtol: float = 1e-6
    max_iter: int | None = None
    methods: tuple[str, ...] = PREFIX_METHODS
    chain: tuple[Layer, ...] = ()
    time_limit: float | None = WINDOW_PREFIX_TIME_LIMIT
    channel: int | None = None


Job = Callable[[threading.Event, Callable[[object], None]], Any]


def prefix_job(request: PrefixRequest, first: PrefixResult | None = None) -> Job:
    """A job (``job(cancel, progress)``) returning the :class:`PrefixResult` of ``request``.

    With ``first``, an earlier result of the same network and image, the job runs
    ``request.methods`` on its network and input instead of building them again.
    Progress reports ``(iteration, relative residual, "pinv")`` as the live pipeline's do.
    """

    def job(cancel: threading.Event, progress: Callable[[object], None]) -> PrefixResult:
        x0, network = _prefix(request) if first is None else (first.image, first.network)
        return run_prefix(
            network,
            x0,
            request.methods,
            channel=request.channel,
            reg=request.reg,
            rtol=request.rtol,
            max_iter=request.max_iter,
            time_limit=request.time_limit,
            progress=lambda it, res: progress((int(it), float(res), "pinv")),
            cancel=cancel,
        )

    return job


def _prefix(request: PrefixRequest) -> tuple[np.ndarray, Network]:
    """The image as the network takes it, and the network up to the layer."""
    if request.model is None:
        x0 = np.asarray(request.image, dtype=np.float64)
        return x0, chain_network(request.chain, x0.shape)
    return model_prefix(request.model, request.image)


_PREFIXES: dict[tuple, Network] = {}  # the newest few model prefixes, by file and shape
_PREFIXES_LOCK = threading.Lock()
_PREFIXES_KEPT = 2


def model_prefix(model: ModelSource, image: np.ndarray) -> tuple[np.ndarray, Network]:
    """``(x0, network)``: ``image`` as the model file takes it and the file's network up to
    ``model.layer`` (:func:`~deconv_gui.io.models.network.model_network`).

    The network panels and the dock's list of a model's layers read the same network:
    it is kept for the newest few (file, its size and time, layer, input shape), so the
    second of them does not read and build it again.

    Raises
    ------
    ValueError
        One line: a file without a graph, a layer or a node the chain cannot hold.
    """
    from ...io.models import read_model
    from ...io.models.activations import model_input
    from ...io.models.network import model_network, refuse_weights_only

    read = read_model(model.path)
    refuse_weights_only(read)
    x0 = model_input(image, read, model.scaling)
    stat = os.stat(model.path)
    key = (model.path, stat.st_size, stat.st_mtime_ns, model.layer, x0.shape)
    with _PREFIXES_LOCK:
        network = _PREFIXES.get(key)
    if network is None:
        network = model_network(read, model.layer, x0.shape)
        with _PREFIXES_LOCK:
            _PREFIXES[key] = network
            while len(_PREFIXES) > _PREFIXES_KEPT:
                del _PREFIXES[next(iter(_PREFIXES))]
    return x0, network


def no_graph(path: str) -> str:
    """Why the network up to a layer of the model file at ``path`` cannot be run: the file
    stores weights only (a PyTorch state_dict, safetensors). "" when it has a graph, or
    when it cannot be read (reading it says why).

    It reads the file's first bytes (:func:`~deconv_gui.io.models.model_format`), once
    per version of the file, so the window can ask as often as it redraws.
    """
    try:
        stat = os.stat(path)
        kind = _format(path, stat.st_size, stat.st_mtime_ns)
    except OSError:
        return ""
    if kind in GRAPH_FORMATS:
        return ""
    words = {"pytorch": "a PyTorch state_dict"}.get(kind, f"a {kind} file")
    name = Path(path).name
    return f"{name} has no graph ({words} holds weights only): only its layer can be studied"


@lru_cache(maxsize=8)
def _format(path: str, _size: int, _mtime_ns: int) -> str:
    """The model file's format (the size and time tell a rewritten file apart)."""
    return model_format(path)


def chain_text(network: Network) -> str:
    """The chain in one line: ``input 64×64×3 → conv → ReLU → conv → ReLU → conv (J: 3 convs)``.

    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.network import Conv, ReLU
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 1, 2)), input_shape=(8, 8, 1))
    >>> chain_text(Network([Conv(op), ReLU()]))
    'input 8×8×1 → conv → ReLU  (6×6×2; J is 72×64)'
    """
    steps = _symbols(network.layers)
    shape_in, shape_out = network.input_shape, network.shapes[-1]
    rows, cols = int(np.prod(shape_out)), int(np.prod(shape_in))
    # a curved layer: J is the Jacobian at x₀, not the map of an exact linear region
    how = f", {FIRST_ORDER_WORDS}" if first_order(network.layers) else ""
    return (
        f"input {'×'.join(map(str, shape_in))} → {' → '.join(steps)}  "
        f"({'×'.join(map(str, shape_out))}; J is {rows}×{cols}{how})"
    )


def _symbols(layers: Any, seen: set[int] | None = None) -> list[str]:
    """The layers' symbols; a residual block's ``[conv→ReLU→conv + id]``, a concatenation's
    ``[maxpool→conv_T ‖ id]`` (their batch norms left out: a ResNet's line stays
    readable), a product's ``[id × conv→σ]`` (``x · σ(x)``: SiLU), a run of like blocks
    ``(… → ReLU)×3``; a block met again (DenseNet's stacks, each in every later one) by
    its name, ``[Concat_1]``: the line grows with the graph, not its paths."""
    seen = set() if seen is None else seen
    out = []
    for layer in layers:
        if isinstance(layer, Fork) and id(layer) in seen:
            out.append(f"[{layer.name}]")
        elif isinstance(layer, Fork):
            seen.add(id(layer))
            branches = [
                "→".join(s for s in _symbols(branch, seen) if s != LAYER_SYMBOLS["batchnorm"])
                or "id"
                for branch in layer.branches
            ]
            if layer.join == "mul" and sorted(branches) == ["id", "σ"]:
                out.append("SiLU")  # x · σ(x), as ONNX writes a SiLU
                continue
            out.append(f"[{_JOIN_SYMBOLS[layer.join].join(branches)}]")
        else:
            out.append(LAYER_SYMBOLS.get(layer.kind, layer.kind))
    return _runs(out)


def _runs(steps: list[str]) -> list[str]:
    """Runs of a repeated block (alone, or with the step after it) as one ``(…)×n`` step.

    >>> _runs(["conv", "[conv + id]", "ReLU", "[conv + id]", "ReLU", "conv"])
    ['conv', '([conv + id] → ReLU)×2', 'conv']
    """
    out, i = [], 0
    while i < len(steps):
        for width in (1, 2):
            unit = steps[i : i + width]
            count = 1
            while steps[i + count * width : i + (count + 1) * width] == unit:
                count += 1
            if count > 1 and unit[0].startswith("["):
                out.append(f"({' → '.join(unit)})×{count}")
                i += count * width
                break
        else:
            out.append(steps[i])
            i += 1
    return out


def effective_field(network: Network, x0: np.ndarray, unit: tuple[int, int, int]) -> np.ndarray:
    """``Jᵀ e_unit``: how each input pixel moves output unit ``(row, col, channel)`` at ``x₀``.

    Raises
    ------
    ValueError
        When ``unit`` is outside the output.
    """
    shape = network.shapes[-1]
    if not all(0 <= int(u) < n for u, n in zip(unit, shape, strict=True)):
        raise ValueError(f"unit must be inside the output {'×'.join(map(str, shape))}, got {unit}")
    signal = np.zeros(shape)
    signal[tuple(int(u) for u in unit)] = 1.0
    return network.linearize(x0).apply_adjoint(signal)


def field_rect(network: Network, row: int, col: int) -> tuple[float, float, float, float]:
    """The theoretical receptive field of output unit ``(row, col)`` in input pixels:
    ``(x, y, width, height)``, pixel ``i`` spanning ``[i, i + 1]`` (it may reach into the
    padding, outside the image).

    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.network import Conv
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 1)), input_shape=(8, 8, 1), padding=1)
    >>> field_rect(Network([Conv(op)]), 0, 2)
    (1.0, -1.0, 3.0, 3.0)
    """
    field = receptive_field(network)[-1]
    centre_y = field.start[0] + row * field.jump[0]
    centre_x = field.start[1] + col * field.jump[1]
    height, width = field.size
    return (centre_x - width / 2, centre_y - height / 2, float(width), float(height))


def summary(result: PrefixResult, rtol: float) -> str:
    """The window's status line after ``J⁺`` (solved to ``rtol``): its iterations, why it
    stopped, what the features lose and how many units the ReLUs pass."""
    parts = []  # the strip above the panels names the layers
    report = result.solver
    if report is not None:
        parts.append(stop_words(report, rtol))
    if "lost_fraction" in result.metrics:
        parts.append(f"lost {100 * result.metrics['lost_fraction']:.1f}% of ‖x₀‖²")
    if "active_fraction" in result.metrics:
        parts.append(f"ReLUs pass {100 * result.metrics['active_fraction']:.0f}% of units")
    if first_order(result.network.layers):
        parts.append(FIRST_ORDER_WORDS)
    return " · ".join(parts)
