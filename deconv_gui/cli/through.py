"""``run --model M --layer L --through``: the network up to the layer, as ``J`` at the image.

The image is converted to the model's input as ``--model`` does (channels, size,
``--scaling``); the model's chain up to the layer becomes a core
:class:`~deconv_gui.core.network.Network` (:func:`~deconv_gui.io.models.network.
model_network`), and :func:`~deconv_gui.core.network.run_prefix` computes the methods the
window shows for a prefix. Each panel is written as ``NAME.npy`` and ``NAME.png`` (the
registry's export names) with a ``through.json`` sidecar.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from .options import UsageError

__all__ = [
    "add_through_options",
    "check_activation",
    "load_prefix",
    "prefix_methods",
    "run_through",
]


def add_through_options(parser: argparse.ArgumentParser) -> None:
    """``--through`` (and ``--channel`` unless the schema already gives it)."""
    parser.add_argument(
        "--through",
        action="store_true",
        help="with --model and --layer: analyse the network up to the layer (its local linear "
        "map J at the image: forward, transposed, pinv, nullspace, deconvnet, guided_backprop) "
        "instead of the layer alone on its input activation",
    )
    if "--channel" not in parser._option_string_actions:  # the schema's field, once it has one
        parser.add_argument(
            "--channel",
            type=int,
            default=None,
            metavar="C",
            help="deconvnet and guided_backprop project only this output channel (0-based)",
        )


def prefix_methods(methods: Any) -> tuple[str, ...]:
    """``--methods`` for a prefix: ``all`` is every prefix method; others are refused."""
    from ..core.network import PREFIX_METHODS
    from .options import AllMethods

    if isinstance(methods, AllMethods):
        return PREFIX_METHODS
    other = [m for m in methods if m not in PREFIX_METHODS]
    if other:
        raise UsageError(
            f"--through computes forward, {', '.join(PREFIX_METHODS)}; not {', '.join(other)}"
        )
    return tuple(methods)


def check_activation(args: argparse.Namespace) -> None:
    """A usage error for ``--activation`` other than none: the prefix ends at the layer's
    output before its activation (the next layer's ReLU is not part of it)."""
    value = getattr(args, "activation", "none")
    if "activation" in getattr(args, "given_options", set()) and value not in (None, "none"):
        raise UsageError(
            f"--activation {value}: with --through the prefix ends at the layer's output "
            "before its activation; choose a later layer to go through it"
        )


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    """The J⁺ solve's limits: ``--max-iter`` and ``--time-limit`` when typed; else the
    prefix's iteration limit (the schema's default is one layer's: a network's J is worse
    conditioned, its ReLU masks) and no time limit, the command line's rule."""
    from ..core.network.solve import PREFIX_MAX_ITER

    given: set[str] = getattr(args, "given_options", set())
    max_iter = args.max_iter if "max_iter" in given and args.max_iter else PREFIX_MAX_ITER
    return {"max_iter": max_iter, "time_limit": getattr(args, "time_limit", 0.0) or None}


def _progress_bar(total: int, label: str):
    """A tqdm bar of the J⁺ iterations on a terminal (None elsewhere)."""
    from tqdm import tqdm

    if not sys.stderr.isatty():
        return None
    return tqdm(total=total, desc=f"J⁺ {label}", unit="it", file=sys.stderr, leave=False)


def load_prefix(spec: str, args: argparse.Namespace):
    """``(loaded, model, network, x0)``: the image, the model file, its chain up to
    ``--layer`` and the image as the model takes it (``--network``: no model, the session's
    layers up to the one under study)."""
    if getattr(args, "network", None) is not None:
        from .network_problem import network_prefix

        loaded, network, x0, _label = network_prefix(spec, args)
        return loaded, None, network, x0
    from ..io.models.activations import model_input
    from ..io.models.network import model_network, refuse_weights_only
    from .model_problem import read_model_file
    from .problem import load_spec

    model = read_model_file(args)  # the layer's weights as run read them, once
    try:
        refuse_weights_only(model)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    loaded = load_spec(spec, args.work_size)
    x0 = model_input(loaded.pixels, model, args.scaling)
    return loaded, model, model_network(model, args.layer, x0.shape), x0


def _refuse_existing(folder: Path, methods: tuple[str, ...]) -> None:
    """Existing output files, refused before computing (export_prefix checks again)."""
    from ..core.network import PREFIX_PANELS
    from ..io.prefix_export import prefix_files

    panels = ["input", "forward", *(p for m in methods for p in PREFIX_PANELS[m])]
    existing = [n for n in prefix_files(panels) if (folder / n).exists()]
    if existing:
        raise ValueError(
            f"{', '.join(existing[:4])} exist in {folder} (use --overwrite to replace them)"
        )


def _compute(network, x0, methods: tuple[str, ...], channel, args: argparse.Namespace):
    """:func:`~deconv_gui.core.network.run_prefix` with a progress bar of the J⁺ solve."""
    from ..core.network import run_prefix
    from ..core.threads import limit_blas_threads

    # one BLAS thread, as the window runs: with two, the per-tap products' spinning
    # threads made the benchmark's J⁺ 115 s instead of 13 s on a busy machine
    limit_blas_threads(1)
    limits = _limits(args)
    solving = "pinv" in methods or "nullspace" in methods
    bar = _progress_bar(limits["max_iter"], args.layer or "the layer") if solving else None
    try:
        return run_prefix(
            network,
            x0,
            methods,
            channel=channel,
            reg=args.reg,
            rtol=args.rtol,
            **limits,
            progress=None if bar is None else (lambda i, _r: bar.update(i - bar.n)),
        )
    finally:
        if bar is not None:
            bar.close()


def run_through(
    spec: str, args: argparse.Namespace, folder: Path, notes: list[str]
) -> tuple[dict[str, Any], str]:
    """Compute and export one image's prefix: its JSON record and its summary line."""
    from ..io.prefix_export import export_prefix

    methods = prefix_methods(args.methods)
    check_activation(args)
    if not args.overwrite:
        _refuse_existing(folder, methods)
    loaded, model, network, x0 = load_prefix(spec, args)
    channel = getattr(args, "channel", None)
    c_out = network.shapes[-1][2]
    if channel is not None and not 0 <= channel < c_out:
        raise UsageError(
            f"--channel must be from 0 to {c_out - 1} (layer {args.layer or 'under study'} "
            f"has {c_out})"
        )
    result = _compute(network, x0, methods, channel, args)
    extra: dict[str, Any] = {
        "command": "run --through",
        "image": loaded.source,
        "methods": list(methods),
    }
    if model is None:  # a network built by hand, from its session
        extra["network"] = str(Path(args.network).resolve())
    else:
        extra.update(model=str(model.path), layer=args.layer, scaling=args.scaling)
    files = export_prefix(result, folder, overwrite=args.overwrite, extra=extra)
    record = {
        "image": loaded.source,
        "folder": str(folder),
        "files": [p.name for p in files],
        "layers": [layer.name for layer in network.layers],
        "metrics": {k: v if math.isfinite(v) else None for k, v in result.metrics.items()},
    }
    return record, _summary(loaded.source, folder, result, args.rtol)


def _summary(source: str, folder: Path, result, rtol: float) -> str:
    net = result.network
    parts = [
        f"{source} → {folder}",
        f"{len(net.layers)} layers, {'×'.join(map(str, net.input_shape))} → "
        f"{'×'.join(map(str, net.shapes[-1]))}",
    ]
    if result.solver is not None:
        from ..core.network.solve import stop_words

        parts.append(stop_words(result.solver, rtol))
    from ..core.network import linearity_words

    if "lost_fraction" in result.metrics:
        parts.append(f"lost {100 * result.metrics['lost_fraction']:.1f}% of ‖x₀‖²")
    parts.append(f"J {linearity_words(net.layers)}")
    return " · ".join(parts)
