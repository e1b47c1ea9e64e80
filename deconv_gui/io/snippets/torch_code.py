"""The PyTorch snippet: ``F.conv2d``, ``F.conv_transpose2d`` (or autograd) and CGLS for ``A⁺``."""

from __future__ import annotations

from collections.abc import Sequence

from ...core import Params
from .activation import (
    conv_names,
    forward_output_lines,
    in_range_pinv,
    left_out_lines,
    pinv_lines,
    projection_arrays,
    projection_lines,
)
from .common import (
    PLACEHOLDER_NPY,
    Settings,
    ambiguity,
    bias_value,
    code_block,
    common_top,
    footer,
    geometry_lines,
    header,
    saved_arrays,
    symmetric_padding,
    torch_output_padding,
    weights_lines,
)
from .method_lines import lost_lines, normalized_lines, prior_lines, setting_lines
from .templates_torch import TORCH_CGLS
from .transposed import TORCH_TRANSPOSED_PADDED, TORCH_TRANSPOSED_ZEROS, transposed_geometry_lines

__all__ = ["torch_snippet"]

_FORWARD_ZEROS = '''
def forward(v, w=weights):
    """A v: the layer's linear part (F.conv2d without the bias)."""
    return F.conv2d(v, w, stride=stride, padding=padding, dilation=dilation, groups=groups)


def adjoint(r, w=weights):
    """A^T r: F.conv_transpose2d, the transposed convolution (the adjoint, not an inverse)."""
    # conv_transpose2d can return several sizes; output_padding picks the input's
    output_padding = tuple(
        n - ((n_out - 1) * s - 2 * p + d * (f - 1) + 1)
        for n, n_out, f, s, p, d in zip(
            x.shape[2:], r.shape[2:], w.shape[2:], stride, padding, dilation
        )
    )
    return F.conv_transpose2d(
        r,
        w,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        groups=groups,
        dilation=dilation,
    )
'''

_FORWARD_PADDED = '''
(top, bottom), (left, right) = np.broadcast_to(np.reshape(padding, (2, -1)), (2, 2)).tolist()
pads = (left, right, top, bottom)  # F.pad: last axis first


def forward(v, w=weights):
    """A v, as nn.Conv2d(padding_mode=...) computes it: F.pad, then an unpadded conv."""
    v_padded = F.pad(v, pads, mode=padding_mode)
    return F.conv2d(v_padded, w, stride=stride, dilation=dilation, groups=groups)


def adjoint(r, w=weights):
    """A^T r. conv_transpose2d knows only zero padding: A^T is the gradient of the
    padded forward (the border's share is added back onto the pixels it copied)."""
    v = torch.zeros(x.shape, dtype=r.dtype, requires_grad=True)
    (grad,) = torch.autograd.grad(forward(v, w), v, grad_outputs=r)
    return grad
'''


def torch_snippet(
    params: Params,
    image_shape: Sequence[int] | None = None,
    *,
    image_path: str = PLACEHOLDER_NPY,
    save_path: str | None = None,
    weights_path: str | None = None,
) -> str:
    """A runnable PyTorch script: ``F.conv2d``, ``F.conv_transpose2d`` and the pseudo-inverse.

    The weights are transposed from HWIO to OIHW and the image from HWC to NCHW; the
    ``output_padding`` is computed from the shapes in the script (see
    :func:`torch_output_padding`). Padding modes other than zeros go through
    ``F.pad`` and their adjoint through ``torch.autograd.grad``; ``groups`` and the
    flip of true convolution are passed to ``F.conv2d`` as PyTorch has them. A
    ConvTranspose2d layer (``layer_kind``) is ``F.conv_transpose2d`` with its
    ``output_padding`` forward and ``F.conv2d`` as its adjoint. When ``params.methods``
    has ``pinv``, the pseudo-inverse (Tikhonov when ``reg > 0``) is solved by CGLS over
    the script's own forward and adjoint; the priors are the NumPy snippet's, on
    tensors. Arguments as in :func:`numpy_snippet`; the saved arrays are converted back
    to the channels-last layout.
    """
    settings = Settings.of(params)
    lines = _torch_header(settings, image_shape)
    data, symmetric = _torch_data(settings, image_shape, (image_path, save_path, weights_path))
    lines += data
    if settings.transposed:
        zeros = settings.mode == "zeros" and symmetric
        body = TORCH_TRANSPOSED_ZEROS if zeros else TORCH_TRANSPOSED_PADDED
    else:
        zeros = settings.mode == "zeros" and symmetric
        body = _FORWARD_ZEROS if zeros else _FORWARD_PADDED
    lines += ["", "", *code_block(conv_names(body, settings))]
    lines += _torch_outputs(settings)
    lines += _torch_solves(settings) + prior_lines(settings, "torch")
    lines += lost_lines(
        settings.methods,
        in_range_pinv(settings, "pinv_cgls({rhs}{reg}, rtol, max_iter{ops})[0]", "{}", ", 0.0")[1],
        "float(torch.linalg.norm(x_lost) / torch.linalg.norm(x))",
    )
    lines += projection_lines(settings, "torch") + left_out_lines(settings)
    lines += ["", "# back to channels-last numpy arrays"]
    hwc = {}
    for name, var in {**saved_arrays(settings.methods), **projection_arrays(settings)}.items():
        lines.append(f"{var}_hwc = {var}[0].permute(1, 2, 0).detach().numpy()")
        hwc[name] = f"{var}_hwc"
    return "\n".join(lines + footer(hwc)) + "\n"


def _torch_header(settings: Settings, image_shape: Sequence[int] | None) -> list[str]:
    """The docstring and the imports."""
    kind = "transposed convolution (ConvTranspose2d)" if settings.transposed else "convolution"
    what = f"A strided {kind} with torch.nn.functional: forward output, transposed"
    activation = settings.params.activation
    if activation != "none":
        what = (
            f"A strided {kind} and its {activation} with torch.nn.functional: forward output\n"
            f"{activation}(A x + b), transposed J^T(y - c) (J = D A, c = D b at x)"
        )
    if "pinv" in settings.methods:
        pinv = "A+(y - b)" if activation == "none" else "J+(y - c)"
        what += f",\nand the pseudo-inverse {pinv} (the image back, as far as y determines it)"
    lines = header(settings, image_shape, what + ".")
    if image_shape is not None and not settings.transposed:
        geometry = settings.geometry(tuple(image_shape))
        lines.insert(-2, ambiguity(geometry))
        lines.insert(-2, f"For this image, output_padding = {torch_output_padding(geometry)}.")
    lines += ["import math", ""] if {"nonneg", "tv"} & set(settings.methods) else []
    return [*lines, "import numpy as np", "import torch", "import torch.nn.functional as F", ""]


def _torch_data(
    settings: Settings,
    image_shape: Sequence[int] | None,
    paths: tuple[str, str | None, str | None],
) -> tuple[list[str], bool]:
    """The image, the filter (OIHW), the bias and the geometry; and whether the padding is
    a symmetric pair."""
    p = settings.params
    layout = "C_in/groups" if settings.groups != 1 else "C_in"
    filter_layout = f"(f_h, f_w, {layout}, C_out); torch wants OIHW"
    if settings.transposed:
        filter_layout = "(f_h, f_w, C_out/groups, C_in); torch's W_t is (C_in, C_out/groups, …)"
    lines = [
        *common_top(p, *paths),
        "x_hwc = np.load(IMAGE_PATH)  # (H, W, C_in) float",
        "if x_hwc.ndim == 2:",
        "    x_hwc = x_hwc[:, :, None]",
        "x = torch.from_numpy(x_hwc).permute(2, 0, 1)[None]  # NCHW",
        f"# filter given in HWIO {filter_layout}",
        *weights_lines(p, paths[2], "weights_hwio", 23, ""),
        "weights = torch.from_numpy(weights_hwio.astype(x_hwc.dtype)).permute(3, 2, 0, 1)",
    ]
    if settings.flip:
        lines += [
            "# true convolution (scipy.signal.convolve): F.conv2d is a cross-correlation,",
            "# so flip the kernel in both spatial axes",
            "weights = weights.flip(2, 3)",
        ]
    lines.append(f"bias = torch.tensor({bias_value(p, paths[2])}, dtype=x.dtype).view(1, -1, 1, 1)")
    if settings.transposed:
        geometry, symmetric = transposed_geometry_lines(p, image_shape)
    else:
        geometry = geometry_lines(p, "x_hwc.shape[:2]", "weights_hwio.shape[:2]")
        symmetric = symmetric_padding(p)
    lines += [
        *geometry,
        f"groups = {settings.groups}  # each group of C_out/groups outputs sees C_in/groups inputs",
    ]
    if settings.mode != "zeros":
        lines.append(f"padding_mode = {settings.mode!r}  # as nn.Conv2d(padding_mode=...)")
    elif not symmetric:
        lines += [
            "# padding differs between the sides: F.pad (zeros), then Conv2d(padding=0)",
            'padding_mode = "constant"',
        ]
    return lines + _solver_lines(settings), symmetric


def _torch_outputs(settings: Settings) -> list[str]:
    """The forward output (with noise), the transpose, the coverage."""
    lines = [*forward_output_lines(settings, torch=True), "x_transposed = adjoint(y - bias)"]
    if settings.covers:
        lines.append("cover = adjoint(torch.ones_like(y))  # the coverage A^T 1: weight per pixel")
    seen = "cover.abs() > 1e-12 * max(float(cover.abs().max()), 1e-300)"
    divided = "torch.where(seen, x_transposed / cover, torch.zeros_like(cover))"
    return lines + normalized_lines(settings.methods, seen, divided)


def _torch_solves(settings: Settings) -> list[str]:
    """CGLS, and the pseudo-inverse when asked for."""
    lines = ["", "", *code_block(TORCH_CGLS)] if settings.solves else []
    if "pinv" in settings.methods:
        lines += [
            *pinv_lines(settings, "pinv_cgls({rhs}{reg}, rtol, max_iter{ops})", "x_pinv, n_iter"),
            "misfit = torch.linalg.norm(forward(x_pinv) - (y - bias))",
            "residual = misfit / torch.linalg.norm(y - bias)",
            'print(f"pseudo-inverse: {n_iter} CGLS iterations, |A x - (y - b)| / |y - b| = '
            '{float(residual):.1e}")',
        ]
    return lines


def _solver_lines(settings: Settings) -> list[str]:
    limit = max(2000, settings.params.max_iter or 0)
    solver = f"rtol, max_iter = {settings.params.rtol!r}, {limit}  # CGLS's tolerance and limit"
    return setting_lines(settings, solver)
