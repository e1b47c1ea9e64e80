"""Short, runnable scripts that reproduce what the app computes, for "Copy as code".

Three flavours: NumPy and SciPy only (no deconv_gui needed), NumPy with this package's
API, and PyTorch (``torch.nn.functional.conv2d`` / ``conv_transpose2d``). Each
reproduces the forward output and the transposed reconstruction for every padding
mode, ``groups`` and true convolution (flip), and, when ``Params.methods`` asks for
them, the pseudo-inverse (a ``scipy.sparse.linalg.LinearOperator`` solved by LSQR, or
CGLS in PyTorch; Tikhonov when ``reg > 0``) and the priors (non-negative least
squares, Richardson–Lucy, total variation), the normalised transpose, the coverage
``Aᵀ1`` and the split into recoverable and lost parts. The filter weights are
embedded as literals (Python's round-trip ``repr``, so they are exact); the image is
read from a ``.npy`` path set at the top of the script (an export writes the input as
``input.npy``).

The modules: :mod:`.common` (what a snippet reproduces, header, noise, footer),
:mod:`.templates` and :mod:`.templates_torch` (the code blocks as printed),
:mod:`.numpy_code` and :mod:`.torch_code`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...core import Params
from .common import PLACEHOLDER_NPY, SNIPPET_METHODS, torch_output_padding
from .numpy_code import numpy_snippet
from .torch_code import torch_snippet

__all__ = [
    "PLACEHOLDER_NPY",
    "SNIPPET_LANGUAGES",
    "SNIPPET_METHODS",
    "make_snippet",
    "numpy_snippet",
    "torch_output_padding",
    "torch_snippet",
]

#: ``"numpy"`` (NumPy only), ``"api"`` (deconv_gui's API) and ``"torch"``.
SNIPPET_LANGUAGES: tuple[str, ...] = ("numpy", "api", "torch")


def make_snippet(
    language: str,
    params: Params,
    image_shape: Sequence[int] | None = None,
    *,
    image_path: str = PLACEHOLDER_NPY,
    save_path: str | None = None,
) -> str:
    """The snippet in ``language`` (one of :data:`SNIPPET_LANGUAGES`).

    Raises
    ------
    ValueError
        On an unknown language, a ConvTranspose2d layer (``layer_kind``) or an
        activation (``activation``), which the snippets do not write yet.

    Examples
    --------
    >>> from deconv_gui.core import Params, make_filter
    >>> from deconv_gui.io.snippets import make_snippet
    >>> code = make_snippet("numpy", Params(make_filter("gaussian")), (16, 16, 3))
    >>> "lsqr(" in code and "import deconv_gui" not in code
    True
    """
    if params.layer_kind != "conv":
        raise ValueError(
            f"layer_kind {params.layer_kind!r}: the code snippets write Conv2d layers only "
            "(a ConvTranspose2d layer is F.conv_transpose2d forward, F.conv2d adjoint)"
        )
    if params.activation != "none":
        raise ValueError(
            f"activation {params.activation!r}: the code snippets write the conv alone "
            "(y = A x + b), not yet its activation and local map J = D A"
        )
    if language in ("numpy", "api"):
        standalone = language == "numpy"
        return numpy_snippet(
            params, image_shape, standalone=standalone, image_path=image_path, save_path=save_path
        )
    if language == "torch":
        return torch_snippet(params, image_shape, image_path=image_path, save_path=save_path)
    raise ValueError(f"language must be one of {', '.join(SNIPPET_LANGUAGES)}, got {language!r}")
