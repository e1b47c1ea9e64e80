"""Short, runnable scripts that reproduce what the app computes, for "Copy as code".

Three flavours: NumPy and SciPy only (no deconv_gui needed), NumPy with this package's
API, and PyTorch (``torch.nn.functional.conv2d`` / ``conv_transpose2d``). Each
reproduces the forward output and the transposed reconstruction for every padding
mode, ``groups`` and true convolution (flip), and, when ``Params.methods`` asks for
them, the pseudo-inverse (a ``scipy.sparse.linalg.LinearOperator`` solved by LSQR, or
CGLS in PyTorch; Tikhonov when ``reg > 0``) and the priors (non-negative least
squares, Richardson–Lucy, total variation), the normalised transpose, the coverage
``Aᵀ1`` and the split into recoverable and lost parts; a layer with an activation (ReLU,
leaky ReLU) through it, its methods on the local map ``J = D A`` as the app computes them,
and the deconvnet and guided backprop (:mod:`.activation`). The filter weights are
embedded as literals (Python's round-trip ``repr``, so they are exact); the image is
read from a ``.npy`` path set at the top of the script (an export writes the input as
``input.npy``).

The modules: :mod:`.common` (what a snippet reproduces, header, noise, footer),
:mod:`.method_lines` (the lines every flavour prints alike for the methods),
:mod:`.activation` (the activation and ``J``),
:mod:`.templates` and :mod:`.templates_torch` (the code blocks as printed),
:mod:`.numpy_code` and :mod:`.torch_code`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...core import Params, registry
from ...core.choices import check_choice
from .common import PLACEHOLDER_NPY, SNIPPET_METHODS, SnippetPaths, torch_output_padding
from .numpy_code import numpy_snippet
from .torch_code import torch_snippet

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "PLACEHOLDER_NPY",
    "SNIPPET_LANGUAGES",
    "SNIPPET_METHODS",
    "layer_weights_name",
    "layer_weights_npz",
    "layer_weights_path",
    "make_snippet",
    "numpy_snippet",
    "snippet_image_path",
    "torch_output_padding",
    "torch_snippet",
    "write_layer_weights",
]

#: ``"numpy"`` (NumPy only), ``"api"`` (deconv_gui's API) and ``"torch"``.
SNIPPET_LANGUAGES: tuple[str, ...] = ("numpy", "api", "torch")


def make_snippet(
    language: str,
    params: Params,
    image_shape: Sequence[int] | None = None,
    **paths: Unpack[SnippetPaths],
) -> str:
    """The snippet in ``language`` (one of :data:`SNIPPET_LANGUAGES`).

    ``paths`` are the writer's ``image_path``, ``save_path`` and ``weights_path`` (a
    ``.npz`` holding ``weights`` and ``bias`` that the script loads instead of holding
    the filter as a literal: a model's layer; see :func:`write_layer_weights`).

    Raises
    ------
    ValueError
        On an unknown language, or naming ``methods`` when they hold a prior with an
        ``activation`` (the priors solve with the conv alone, and the window refuses them).

    Examples
    --------
    >>> from deconv_gui.core import Params, make_filter
    >>> from deconv_gui.io.snippets import make_snippet
    >>> code = make_snippet("numpy", Params(make_filter("gaussian")), (16, 16, 3))
    >>> "lsqr(" in code and "import deconv_gui" not in code
    True
    """
    check_choice("language", language, SNIPPET_LANGUAGES)
    priors = [m for m in params.methods if m in registry.PRIORS]
    if params.activation != "none" and priors:
        # the window refuses them too: the priors solve with the conv alone, not with J
        raise ValueError(
            f"methods: {', '.join(priors)}: the priors need activation none (they solve with "
            f"the conv alone); with activation {params.activation} use pinv"
        )
    if language == "torch":
        return torch_snippet(params, image_shape, **paths)
    return numpy_snippet(params, image_shape, standalone=language == "numpy", **paths)


def snippet_image_path(source: str, image_shape: Sequence[int]) -> str:
    """The ``.npy`` file a script can load for an image from ``source``.

    ``source`` itself (resolved) when it is a ``.npy`` file holding a float array of
    exactly the shape used (no conversion or resizing happened), else
    :data:`PLACEHOLDER_NPY`.
    """
    path = Path(source) if source else None
    if path is None or path.suffix.lower() != ".npy" or not path.is_file():
        return PLACEHOLDER_NPY
    try:
        stored = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return PLACEHOLDER_NPY
    shape = stored.shape if stored.ndim == 3 else (*stored.shape, 1)
    if stored.dtype.kind != "f" or tuple(shape) != tuple(image_shape):
        return PLACEHOLDER_NPY
    return str(path.resolve())


def layer_weights_name(layer: str) -> str:
    """A file name for a layer's weights: ``/2/ConvTranspose`` → ``2_ConvTranspose.npz``.

    >>> layer_weights_name("/2/ConvTranspose"), layer_weights_name("../..")
    ('2_ConvTranspose.npz', 'layer.npz')
    """
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", layer).strip("_")[:80]
    return f"{stem or 'layer'}.npz"


def layer_weights_path(path: str | Path) -> Path:
    """``path`` with ``.npz`` added when it has another suffix (as NumPy would add it).

    >>> layer_weights_path("w").name, layer_weights_path("w.NPZ").name
    ('w.npz', 'w.NPZ')
    """
    path = Path(path)
    return path if path.suffix.lower() == ".npz" else path.with_name(path.name + ".npz")


def layer_weights_npz(params: Params) -> bytes:
    """The ``.npz`` bytes :func:`write_layer_weights` writes: ``weights`` and ``bias``
    (the same for the same numbers: NumPy's zip members carry no time)."""
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.asarray(params.weights), bias=np.asarray(params.bias))
    return buffer.getvalue()


def write_layer_weights(path: str | Path, params: Params) -> Path:
    """Write ``params``' weights and bias as a ``.npz`` for a snippet's ``WEIGHTS_PATH``.

    A model's layer is written beside its script rather than inlined (a 3×3×512×512
    filter is two million literals) or read back from the model by the script (with
    ``onnx.numpy_helper``, say): the layer as studied is not always a tensor of the file
    (a BatchNormalization folded in, a Keras or PyTorch file, geometry flags, the
    user's edits), and the ``.npz`` holds exactly the ``Params``' numbers, which the
    script loads with NumPy alone. Written all or nothing (a temp file, then renamed).

    Raises
    ------
    ValueError
        Naming ``path`` when its folder is missing or not writable (nothing written).
    """
    from ..files import write_all_or_nothing

    path = layer_weights_path(path)
    if not path.parent.is_dir():
        raise ValueError(f"path: the folder {path.parent} does not exist")
    try:
        write_all_or_nothing(path.parent, {path.name: layer_weights_npz(params)})
    except OSError as exc:
        raise ValueError(f"path: cannot write {path}: {exc.strerror or exc}") from None
    return path
