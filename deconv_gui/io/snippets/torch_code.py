"""The PyTorch snippet: ``F.conv2d``, ``F.conv_transpose2d`` (or autograd) and CGLS for ``A⁺``."""

from __future__ import annotations

from collections.abc import Sequence

from ...core import Params
from .common import (
    Settings,
    ambiguity,
    common_top,
    footer,
    header,
    literal,
    noise_lines,
    torch_output_padding,
)

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
pads = (padding[1], padding[1], padding[0], padding[0])  # F.pad: last axis first


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

_CGLS = '''
def pinv_cgls(data, reg, rtol, max_iter):
    """The least-norm argmin |A x - data|^2 + reg |x|^2 by CGLS (conjugate gradients on
    (A^T A + reg I) x = A^T data, in float64). Started at 0, the iterates stay in the row
    space of A, so with reg = 0 it converges to the pseudo-inverse A+ data."""
    w = weights.double()
    x_k = torch.zeros(x.shape, dtype=torch.float64)
    r = data.double().clone()
    s = adjoint(r, w)
    p = s.clone()
    gamma = gamma_0 = torch.sum(s * s)
    k = 0
    while k < max_iter and gamma > rtol**2 * gamma_0:
        k += 1
        q = forward(p, w)
        alpha = gamma / (torch.sum(q * q) + reg * torch.sum(p * p))
        x_k += alpha * p
        r -= alpha * q
        s = adjoint(r, w) - reg * x_k
        gamma_new = torch.sum(s * s)
        p = s + (gamma_new / gamma) * p
        gamma = gamma_new
    return x_k.to(x.dtype), k
'''


def torch_snippet(
    params: Params,
    image_shape: Sequence[int] | None = None,
    *,
    image_path: str = "input.npy",
    save_path: str | None = None,
) -> str:
    """A runnable PyTorch script: ``F.conv2d``, ``F.conv_transpose2d`` and the pseudo-inverse.

    The weights are transposed from HWIO to OIHW and the image from HWC to NCHW; the
    ``output_padding`` is computed from the shapes in the script (see
    :func:`torch_output_padding`). Padding modes other than zeros go through
    ``F.pad`` and their adjoint through ``torch.autograd.grad``; ``groups`` and the
    flip of true convolution are passed to ``F.conv2d`` as PyTorch has them. When
    ``params.methods`` has ``pinv``, the pseudo-inverse (Tikhonov when ``reg > 0``) is
    solved by CGLS over the script's own forward and adjoint. The priors are in the
    NumPy snippet. Arguments as in :func:`numpy_snippet`; the saved arrays are
    converted back to the channels-last layout.
    """
    settings = Settings.of(params)
    p = params
    what = "A strided convolution with torch.nn.functional: forward output, transposed"
    pinv = "pinv" in settings.methods
    if pinv:
        what += ",\nand the pseudo-inverse A+(y - b) (the image back, as far as y determines it)"
    lines = header(settings, image_shape, what + ".")
    if image_shape is not None:
        geometry = settings.geometry(tuple(image_shape))
        lines.insert(-2, ambiguity(geometry))
        lines.insert(-2, f"For this image, output_padding = {torch_output_padding(geometry)}.")
    lines += ["import numpy as np", "import torch", "import torch.nn.functional as F", ""]
    lines += common_top(p, image_path, save_path)
    layout = "C_in/groups" if settings.groups != 1 else "C_in"
    lines += [
        "x_hwc = np.load(IMAGE_PATH)  # (H, W, C_in) float",
        "if x_hwc.ndim == 2:",
        "    x_hwc = x_hwc[:, :, None]",
        "x = torch.from_numpy(x_hwc).permute(2, 0, 1)[None]  # NCHW",
        f"# filter given in HWIO (f_h, f_w, {layout}, C_out); torch wants OIHW",
        f"weights_hwio = np.array({literal(p.weights.tolist(), 23)})",
        "weights = torch.from_numpy(weights_hwio.astype(x_hwc.dtype)).permute(3, 2, 0, 1)",
    ]
    if settings.flip:
        lines += [
            "# true convolution (scipy.signal.convolve): F.conv2d is a cross-correlation,",
            "# so flip the kernel in both spatial axes",
            "weights = weights.flip(2, 3)",
        ]
    lines += [
        f"bias = torch.tensor({list(p.bias)!r}, dtype=x.dtype).view(1, -1, 1, 1)",
        f"stride, padding, dilation = {p.stride}, {p.padding}, {p.dilation}",
        f"groups = {settings.groups}  # each group of C_out/groups outputs sees C_in/groups inputs",
    ]
    if settings.mode != "zeros":
        lines.append(f"padding_mode = {settings.mode!r}  # as nn.Conv2d(padding_mode=...)")
    if pinv:
        lines.append(
            f"reg, rtol, max_iter = {p.reg!r}, {p.rtol!r}, {max(2000, p.max_iter or 0)}"
            "  # Tikhonov weight (0: the exact A+), CGLS's tolerance and limit"
        )
    body = _FORWARD_ZEROS if settings.mode == "zeros" else _FORWARD_PADDED
    lines += ["", "", *body.strip("\n").splitlines(), "", ""]
    lines += ["y = forward(x) + bias  # the forward output", *noise_lines(p, "y", to_tensor=True)]
    lines += ["x_transposed = adjoint(y - bias)"]
    arrays = {"forward_output": "y", "transposed": "x_transposed"}
    if pinv:
        lines += ["", "", *_CGLS.strip("\n").splitlines(), "", ""]
        lines += [
            "x_pinv, n_iter = pinv_cgls(y - bias, reg, rtol, max_iter)",
            "misfit = torch.linalg.norm(forward(x_pinv) - (y - bias))",
            "residual = misfit / torch.linalg.norm(y - bias)",
            'print(f"pseudo-inverse: {n_iter} CGLS iterations, |A x - (y - b)| / |y - b| = '
            '{float(residual):.1e}")',
        ]
        arrays["pinv"] = "x_pinv"
    others = [m for m in settings.methods if m != "pinv"]
    if others:
        lines.append(f"# {', '.join(others)}: see the NumPy snippet (Copy as code → NumPy)")
    lines += ["", "# back to channels-last numpy arrays"]
    hwc = {}
    for name, var in arrays.items():
        lines.append(f"{var}_hwc = {var}[0].permute(1, 2, 0).detach().numpy()")
        hwc[name] = f"{var}_hwc"
    return "\n".join(lines + footer(hwc)) + "\n"
