"""The snippets' pieces for a ConvTranspose2d layer under study (``layer_kind``).

The layer is ``B = Aᵀ``, the adjoint of the strided conv ``A`` with the same weights:
so a script keeps its ``conv2d`` / ``conv2d_transpose`` (NumPy) or ``F.conv2d`` /
``F.conv_transpose2d`` (PyTorch) and swaps them: ``forward`` is the transposed conv
(PyTorch's ``conv_transpose2d`` with ``output_padding``), ``adjoint`` the strided conv.
Everything after (the pseudo-inverse, the priors, the coverage, the null space) only
calls ``forward`` and ``adjoint``, and studies ``B``. The padding is written resolved
(four sides, or a pair when symmetric) and ``output_padding`` as the layer has it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...core import Params, TransposedGeometry

__all__ = [
    "NUMPY_LAYER_TRANSPOSED",
    "TORCH_TRANSPOSED_PADDED",
    "TORCH_TRANSPOSED_ZEROS",
    "numpy_out_shape",
    "transposed_geometry",
    "transposed_geometry_lines",
]

NUMPY_LAYER_TRANSPOSED = '''
def forward(v, w=weights):
    """B v: the ConvTranspose2d layer's linear part (no bias), the adjoint of the strided
    conv A: PyTorch's F.conv_transpose2d(v, W_t, stride, padding, output_padding)."""
    return conv2d_transpose(v, w, out_shape, stride, padding, dilation, padding_mode)


def adjoint(r, w=weights):
    """B^T r = A r: the strided convolution whose transpose the layer is."""
    return conv2d(r, w, 0, stride, padding, dilation, padding_mode)
'''

TORCH_TRANSPOSED_ZEROS = '''
def forward(v, w=weights):
    """B v: the layer itself, nn.ConvTranspose2d without the bias."""
    return F.conv_transpose2d(
        v,
        w,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        groups=groups,
        dilation=dilation,
    )


def adjoint(r, w=weights):
    """B^T r: F.conv2d, the strided convolution whose transpose the layer is."""
    return F.conv2d(r, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
'''

TORCH_TRANSPOSED_PADDED = '''
(top, bottom), (left, right) = np.broadcast_to(np.reshape(padding, (2, -1)), (2, 2)).tolist()
pads = (left, right, top, bottom)  # F.pad: last axis first
# the layer's output (1, C_out, H_out, W_out): the image the strided conv A reads
out_shape = (1, weights.shape[1] * groups) + tuple(
    (n - 1) * s - lo - hi + d * (f - 1) + 1 + op
    for n, s, (lo, hi), d, f, op in zip(
        x.shape[2:],
        stride,
        ((top, bottom), (left, right)),
        dilation,
        weights.shape[2:],
        output_padding,
    )
)


def forward(v, w=weights):
    """B v: F.conv_transpose2d onto the padded grid (output_padding makes its size), then
    the padding's adjoint, the gradient of F.pad: a crop for zeros, the border folded
    back onto the pixels it copied for the other modes."""
    full = F.conv_transpose2d(
        v, w, stride=stride, output_padding=output_padding, groups=groups, dilation=dilation
    )
    u = torch.zeros(out_shape, dtype=v.dtype, requires_grad=True)
    (grad,) = torch.autograd.grad(F.pad(u, pads, mode=padding_mode), u, grad_outputs=full)
    return grad


def adjoint(r, w=weights):
    """B^T r = A r: F.pad, then the strided convolution whose transpose the layer is."""
    r_padded = F.pad(r, pads, mode=padding_mode)
    return F.conv2d(r_padded, w, stride=stride, dilation=dilation, groups=groups)
'''


def transposed_geometry(
    params: Params, image_shape: Sequence[int] | None
) -> tuple[tuple[tuple[int, int], tuple[int, int]], tuple[int, int]]:
    """The four sides ``((top, bottom), (left, right))`` and ``output_padding``.

    Resolved for a map of ``image_shape`` when given (a ``'same'`` padding needs it).

    Raises
    ------
    ValueError
        Naming ``padding`` when it is a name and no image shape is given.
    """
    if image_shape is not None:
        geometry = params.operator(tuple(image_shape)).geometry
        assert isinstance(geometry, TransposedGeometry)
        (t, b), (left, right) = geometry.pads
        oh, ow = geometry.output_padding
        return ((t, b), (left, right)), (oh, ow)
    padding = params.padding
    if isinstance(padding, str):
        raise ValueError(
            f"padding {padding!r}: a ConvTranspose2d snippet needs the image's shape to resolve it"
        )
    rows, cols = padding
    sides = (
        (rows, rows) if isinstance(rows, int) else (int(rows[0]), int(rows[1])),
        (cols, cols) if isinstance(cols, int) else (int(cols[0]), int(cols[1])),
    )
    oh, ow = params.output_padding or (0, 0)
    return sides, (oh, ow)


def transposed_geometry_lines(
    params: Params, image_shape: Sequence[int] | None
) -> tuple[list[str], bool]:
    """``stride, padding, dilation`` and ``output_padding`` lines, and whether the padding
    is symmetric (a pair, as ``nn.ConvTranspose2d(padding=)`` takes it)."""
    ((t, b), (left, right)), output_padding = transposed_geometry(params, image_shape)
    symmetric = t == b and left == right
    padding = (t, left) if symmetric else ((t, b), (left, right))
    return [
        f"stride, padding, dilation = {params.stride}, {padding}, {params.dilation}",
        f"output_padding = {output_padding}  # PyTorch's: rows and columns added at the "
        "bottom and right",
    ], symmetric


def numpy_out_shape(channels: str) -> list[str]:
    """``out_shape``: the layer's output ``(H_out, W_out, C_out)`` from ``x`` and the filter
    (``channels`` the expression of ``C_out``)."""
    return [
        "# the layer's output (H_out, W_out, C_out): the image the strided conv A reads",
        "out_shape = (",
        "    *(",
        "        (n - 1) * s - lo - hi + d * (f - 1) + 1 + op",
        "        for n, s, (lo, hi), d, f, op in zip(",
        "            x.shape[:2], stride, sides(padding), dilation, weights.shape[:2],",
        "            output_padding,",
        "        )",
        "    ),",
        f"    {channels},",
        ")",
    ]
