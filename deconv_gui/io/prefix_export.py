"""A network prefix's result written to a folder, all or nothing: ``NAME.npy`` and
``NAME.png`` per panel (the registry's export names, as ``run`` writes a single layer's)
and a ``through.json`` sidecar (the model, the layer, the chain, the solve, the metrics;
a residual block's record holds its ``body`` and ``shortcut`` layers).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..core import registry
from ..core.network import Concat, Layer, PrefixResult, Product, Residual, linearity_words
from .files import write_into_folder
from .render import encode_png, render_panel

__all__ = ["PREFIX_SIDECAR", "export_prefix", "prefix_files"]

#: The sidecar's name (not ``params.json``: a prefix has no single-layer Params).
PREFIX_SIDECAR = "through.json"


def _panel(name: str) -> tuple[str, str]:
    """``(export name, display kind)`` of panel ``name`` (an adjoint-like map if unknown)."""
    try:
        spec = registry.panel(name)
    except ValueError:
        return name, "adjoint"
    return spec.export_name, spec.display


def prefix_files(panels: Iterable[str]) -> list[str]:
    """The file names :func:`export_prefix` writes for ``panels``, the sidecar last."""
    stems = [_panel(name)[0] for name in panels]
    return [f"{stem}.{ext}" for stem in stems for ext in ("npy", "png")] + [PREFIX_SIDECAR]


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _layer_records(
    layers: Iterable[Layer], shape: Any, seen: set[tuple[int, Any]] | None = None
) -> list[dict[str, Any]]:
    """Each layer's name, kind and output shape; a block's with its branches' (a residual
    block's body and shortcut, a concatenation's branches in order). A block met again
    at the same input (DenseNet's stacks, each inside every later one) is marked
    ``"repeated": true`` without its branches, listed where it comes first: the record
    stays as long as the graph, not its paths."""
    seen = set() if seen is None else seen
    records = []
    for layer in layers:
        record: dict[str, Any] = {"name": layer.name, "kind": layer.kind}
        key = (id(layer), tuple(shape))
        if isinstance(layer, (Residual, Concat, Product)) and key in seen:
            record["repeated"] = True
        elif isinstance(layer, Residual):
            record["body"] = _layer_records(layer.body, shape, seen)
            record["shortcut"] = _layer_records(layer.shortcut, shape, seen)
        elif isinstance(layer, (Concat, Product)):
            record["branches"] = [_layer_records(b, shape, seen) for b in layer.branches]
        seen.add(key)
        shape = layer.output_shape(shape)
        record["output_shape"] = list(shape)
        records.append(record)
    return records


def sidecar(result: PrefixResult, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON record of ``result`` (``extra``: who asked, the model and the layer)."""
    report = result.solver
    net = result.network
    return {
        **extra,
        "channel": result.channel,
        "input_shape": list(net.input_shape),
        "layers": _layer_records(net.layers, net.input_shape),
        "linearisation": linearity_words(net.layers),
        "panels": list(result.images),
        "solver": None
        if report is None
        else {
            "iterations": int(report.iterations),
            "relative_residual": _finite(float(report.relative_residual)),
            "converged": bool(report.converged),
            "message": report.message,
        },
        "metrics": {k: _finite(v) for k, v in result.metrics.items()},
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
    }


def export_prefix(
    result: PrefixResult,
    folder: str | Path,
    *,
    overwrite: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write every panel of ``result`` and the sidecar into ``folder`` (created if missing).

    Raises
    ------
    ValueError
        Existing files without ``overwrite`` (naming them), an unwritable folder; nothing
        is written or left half-written then.
    """
    folder = Path(folder)
    names = prefix_files(result.images)
    if not overwrite:
        existing = [n for n in names if (folder / n).exists()]
        if existing:
            raise ValueError(
                f"{len(existing)} file(s) exist in {folder}: {', '.join(existing[:4])} "
                "(use --overwrite to replace them)"
            )
    blobs: dict[str, bytes] = {}
    for name, array in result.images.items():
        stem, kind = _panel(name)
        blobs[f"{stem}.npy"] = _npy(array)
        blobs[f"{stem}.png"] = encode_png(
            render_panel(array, kind, result.image, signed_filter=True)
        )
    record = sidecar(result, extra or {})
    blobs[PREFIX_SIDECAR] = (json.dumps(record, indent=2, allow_nan=False) + "\n").encode()
    write_into_folder(folder, blobs)
    return [folder / n for n in names]
