"""``run --network SESSION``: the network built by hand in the window, from its session file.

The session's layers up to the one under study run on ``--image`` as the window runs them
(:mod:`deconv_gui.document.network`: each conv takes the channels that reach it). With
``--through`` the prefix is ``J`` at the image (:func:`~deconv_gui.core.network.run_prefix`,
the window's network panels); without, the layer alone on what the layers before it make
of the image, with its Params from the session (an option typed on the command line
overrides the session's value; ``--methods`` is the command line's).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from .options import UsageError

__all__ = ["add_network_option", "load_network_problem", "network_prefix", "read_network"]


def add_network_option(parser: argparse.ArgumentParser) -> None:
    """``--network SESSION`` (instead of ``--filter`` or ``--model``)."""
    group = parser.add_argument_group("network built by hand (instead of --filter)")
    group.add_argument(
        "--network",
        type=Path,
        default=None,
        metavar="SESSION",
        help="a session file (*.deconv.json) of the window: its layers up to the one under "
        "study, run on --image (with --through: the network up to that layer as J; without: "
        "that layer alone on what the layers before it make of the image)",
    )


def read_network(path: Path) -> Any:
    """The session's :class:`~deconv_gui.document.Document`.

    A file that cannot be read or is no valid session is a failure (a ``ValueError``
    naming ``--network``: exit 1, the flags were fine); a valid session of a model's
    layer is a usage error (``--model`` and ``--layer`` are the flags for it: exit 2).
    """
    from ..io.session import load_session

    try:
        document = load_session(path).document
    except ValueError as exc:
        raise ValueError(f"--network: {exc}") from None
    if document.layer.model is not None:
        raise UsageError(
            f"--network: the session studies a model's layer ({document.layer.model.layer}): "
            "use --model and --layer"
        )
    return document


def _chain(spec: str, args: argparse.Namespace):
    """``(loaded, layers, document)``: the image and the layers up to the studied one."""
    from ..document.network import adapt_channels
    from .problem import load_spec

    document = read_network(args.network)
    loaded = load_spec(spec, args.work_size)
    layers = adapt_channels(document.layers[: document.selected + 1], loaded.pixels.shape[2])
    return loaded, layers, document


def network_prefix(spec: str, args: argparse.Namespace):
    """``(loaded, network, x0, label)`` for ``--through``: the image, the core network up
    to the studied layer, the image as it takes it and the layer's name."""
    from ..document.network import chain_network

    loaded, layers, document = _chain(spec, args)
    x0 = np.asarray(loaded.pixels, dtype=np.float64)
    return loaded, chain_network(layers, x0.shape), x0, f"layer {document.selected + 1}"


def load_network_problem(spec: str, args: argparse.Namespace):
    """``(loaded, params)``: the studied layer alone on what the layers before it make of
    image ``spec``."""
    from ..core import params as schema
    from ..document.network import layer_input
    from ..io.images import LoadedImage

    loaded, layers, document = _chain(spec, args)
    index = document.selected
    pixels = layer_input(layers, index, loaded.pixels)
    if index:
        source = f"{loaded.source} through layers 1–{index}"
        note = f"what layers 1–{index} of {Path(args.network).name} make of the image"
        loaded = LoadedImage(pixels.astype(np.float32), source, note)
    given: set[str] = getattr(args, "given_options", set())
    typed = {name: getattr(args, name) for name in schema.defaults() if name in given}
    typed["methods"] = args.methods  # what to compute is the command line's, as for --filter
    params = layers[index].params.replace(image_source=loaded.source, **typed)
    return loaded, params
