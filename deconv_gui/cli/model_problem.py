"""``--model MODEL --layer NAME``: the problem of one layer of a model file.

The image is run through the model up to the layer (:func:`~deconv_gui.io.models.
activations.layer_activation`), so ``input.npy`` is the activation the model feeds the
layer and ``forward_output.npy`` the layer's output before its activation. The layer's
weights, bias and geometry come from the file; a geometry flag given on the command line
completes what the file does not store, or overrides what it does.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from .options import UsageError

__all__ = [
    "GEOMETRY_FIELDS",
    "MODEL_FILE",
    "add_model_options",
    "load_model_problem",
    "read_layer_once",
    "read_model_file",
]

#: How the help names a model file: the common formats (the readers take a few more).
MODEL_FILE = "a model file (.onnx, .pt/.pth, .safetensors, .keras, .h5)"

#: The Params fields a layer record fills (when the file stores them); a ConvTranspose
#: layer sets ``layer_kind`` and its ``output_padding``.
GEOMETRY_FIELDS = (
    "stride",
    "padding",
    "dilation",
    "groups",
    "padding_mode",
    "layer_kind",
    "output_padding",
)


def add_model_options(
    parser: argparse.ArgumentParser,
    study: str = "study one of its layers on the activation the model feeds it "
    "(deconv-gui layers MODEL lists them)",
) -> None:
    """``--model``, ``--layer`` and ``--scaling`` (with them, ``--filter`` is not needed);
    ``study`` says what the program does with the model (the window's differs)."""
    from ..io.models.activations import SCALINGS

    group = parser.add_argument_group("model file (instead of --filter)")
    group.add_argument("--model", default=None, metavar="MODEL", help=f"{MODEL_FILE}: {study}")
    group.add_argument("--layer", default=None, metavar="NAME", help="the layer of --model")
    group.add_argument(
        "--scaling",
        choices=SCALINGS,
        default="unit",
        help="how the model expects the image: unit = floats in [0, 1] as loaded (default), "
        "255 = times 255, imagenet = (x − mean) / std",
    )


def _feature_map(spec: str):
    """A ``.npy`` feature map (H, W, C) of any channel count, as the layer's input."""
    from ..io.decode import read_npy
    from ..io.images import LoadedImage

    array = np.asarray(read_npy(Path(spec)), dtype=np.float64)
    if array.ndim != 3:
        raise ValueError(f"--image {spec}: a feature map must be (H, W, C), got {array.shape}")
    return LoadedImage(array, spec, "feature map")


def _layer_input(spec: str, args: argparse.Namespace, model, layer):
    """The layer's input: the model run on the image, else the image or feature map itself."""
    from ..io.images import LoadedImage
    from ..io.models.activations import layer_activation
    from .problem import load_spec

    if Path(spec).suffix.lower() == ".npy" and Path(spec).is_file():
        return _feature_map(spec)
    loaded = load_spec(spec, args.work_size)
    if model.format in ("onnx", "keras"):
        act = layer_activation(model, layer, loaded.pixels, args.scaling)
        note = f"the activation {Path(model.path).name} feeds {layer.name} ({act.runner})"
        source = f"{loaded.source} through {Path(model.path).name}"
        return LoadedImage(act.input.astype(np.float32), source, note)
    return loaded  # weights only: the image itself, if its channels fit (checked by Params)


def _geometry(layer, args: argparse.Namespace, height: int, width: int) -> dict[str, Any]:
    """The file's geometry, where the user typed no option of their own."""
    given: set[str] = getattr(args, "given_options", set())
    stored = layer.params_fields(height, width)
    return {
        name: stored[name] if name in stored and name not in given else getattr(args, name)
        for name in GEOMETRY_FIELDS
        if name in stored or hasattr(args, name)
    }


def read_layer_once(args: argparse.Namespace) -> None:
    """Read ``--layer``'s weights from ``--model`` now (one that cannot be used is one
    line naming the file) and keep them in ``args.layer_weights``: every image of the run
    then takes them from there (:func:`read_model_file`), not from the file again."""
    from ..io.models import read_model

    args.layer_weights = read_model(args.model).layer(args.layer).load()


def read_model_file(args: argparse.Namespace):
    """``--model``'s layers, ``--layer``'s weights those :func:`read_layer_once` read."""
    from ..io.models import read_model

    model = read_model(args.model)
    weights = getattr(args, "layer_weights", None)
    return model if weights is None else model.with_weights(args.layer, weights)


def load_model_problem(spec: str, args: argparse.Namespace):
    """``(loaded, params)`` for layer ``--layer`` of ``--model`` on image ``spec``."""
    from ..core import Params
    from ..core import params as schema

    if args.layer is None:
        raise UsageError(f"--model needs --layer (deconv-gui layers {args.model} lists them)")
    if not Path(args.model).is_file():
        raise UsageError(f"model file not found: {args.model}")
    model = read_model_file(args)
    layer = model.layer(args.layer)
    loaded = _layer_input(spec, args, model, layer)
    weights = layer.load()
    options = {name: getattr(args, name) for name in schema.defaults() if hasattr(args, name)}
    options.update(_geometry(layer, args, *loaded.pixels.shape[:2]))
    if weights.bias is not None and "bias" not in getattr(args, "given_options", set()):
        options["bias"] = tuple(float(b) for b in weights.bias)
    params = Params(weights.weights, image_source=loaded.source, **options)
    return loaded, params
