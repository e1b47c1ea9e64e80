"""The asker's second guess: is ``np.linalg.pinv`` of each kernel slice an inverse of the layer?

The question's ``deConv`` has a commented-out line, ``inverse_W =
np.linalg.pinv(W[:, :, x, c])``: invert each 3×3 block of filter numbers instead of
transposing it. :func:`question_inverse_check` runs that variant, the loop as written,
the true adjoint ``Aᵀ(y − b)`` and the pseudo-inverse ``A⁺(y − b)`` on the same
measurement, and measures each the only way that decides whether it inverts the layer:
does the layer, applied to it, give ``y`` back? Only ``A⁺`` does (to rounding). The
pseudo-inverse of a kernel slice inverts a 3×3 block of numbers, an operation on the
filter; the layer is the ``m × n`` matrix ``A`` that slides the filter over the image
with a stride, and its inverse (where one exists) is ``A⁺``, which no per-slice
operation on ``W`` produces.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..conv import conv2d
from ..geometry import as_float_array, as_pair, centred_output, normalize_bias, normalize_weights
from ..norms import relative_norm
from ..operator import ConvOperator
from ..solvers import solve_pinv
from .question import question_deconv

__all__ = ["INVERSE_CANDIDATES", "InverseCandidate", "question_inverse_check"]

#: The candidates, in the order :func:`question_inverse_check` returns them:
#: key → (label, formula).
INVERSE_CANDIDATES: dict[str, tuple[str, str]] = {
    "pinv_slices": ("the loop with np.linalg.pinv(W[:, :, x, c])", "loop with pinv slices"),
    "question": ("the loop as written, np.transpose(W[:, :, x, c])", "loop as written"),
    "transposed": ("the transposed convolution Aᵀ(y − b)", "Aᵀ(y − b)"),
    "pinv": ("the pseudo-inverse A⁺(y − b)", "A⁺(y − b)"),
}


class InverseCandidate(NamedTuple):
    """One candidate "inverse" and how well it inverts the layer.

    Attributes
    ----------
    key : str
        A key of :data:`INVERSE_CANDIDATES`.
    label, formula : str
        What it is, in words and as a short formula.
    image : numpy.ndarray
        Its image ``x̂`` (float64, the input's shape).
    residual : float
        ``‖A x̂ + b − y‖ / ‖y − b‖``: does the layer give ``y`` back from ``x̂``?
        0 for an inverse (``A⁺`` reaches rounding); 1 is as bad as ``x̂ = 0``.
    scaled_residual : float
        The same after the best scale factor ``α``,
        ``min_α ‖α A x̂ − (y − b)‖ / ‖y − b‖``: whether ``x̂`` is wrong only in size
        (then this is ~0) or in shape.
    error : float
        ``‖x̂ − x‖ / ‖x‖``, the distance to the true image (no method reaches 0 when
        the layer loses dimensions; ``A⁺`` gives the smallest image that reproduces y).
    """

    key: str
    label: str
    formula: str
    image: np.ndarray
    residual: float
    scaled_residual: float
    error: float


def question_inverse_check(
    x: Any,
    weights: Any,
    bias: Any = None,
    *,
    stride: int = 1,
    y: Any = None,
    x_pinv: Any = None,
) -> tuple[InverseCandidate, ...]:
    """Run the asker's per-slice ``np.linalg.pinv`` variant and measure it against ``A⁺``.

    Parameters
    ----------
    x : array_like
        The true image ``(H, W, C_in)`` (the question's ``X_prev``).
    weights : array_like
        ``W``, a square filter ``(f, f, C_in, C_out)`` (or 3-D for ``C_out = 1``).
    bias : float or array_like, optional
        ``b``: scalar or ``(C_out,)``; None means zero.
    stride : int
        ``s``, one stride for both axes as in the question's loop. There is no
        padding: the loop ignores it, so the layer here has none.
    y : array_like, optional
        The measurement ``(H_out, W_out, C_out)``; by default the layer's exact output
        ``conv2d(x, W, b, stride=s)`` (pass a noisy one to see the same with noise).
    x_pinv : array_like, optional
        ``A⁺(y − b)`` when it is already known (the window's pseudo-inverse panel);
        solved here otherwise.

    Returns
    -------
    tuple of InverseCandidate
        In the order of :data:`INVERSE_CANDIDATES`: the loop with pseudo-inverted
        slices, the loop as written, ``Aᵀ(y − b)`` and ``A⁺(y − b)``.

    Raises
    ------
    ValueError
        Naming the argument: a non-square filter, a stride other than one int,
        mismatched channels or shapes (``y`` must be the unpadded layer's output).

    Notes
    -----
    The variant replaces ``np.transpose(W[:, :, x, c])`` by ``np.linalg.pinv(W[:, :, x,
    c])`` and keeps the rest of the loop (bias added, ReLU), exactly as uncommenting
    the line would; see :func:`~deconv_gui.core.question_deconv` with
    ``slices="pinv"``. Inverting each ``f × f`` slice cannot invert the layer: the
    slices are not the layer's matrix. The layer is ``A`` (``H_out W_out C_out``
    rows, ``H W C_in`` columns) and the image it should give back must satisfy
    ``A x̂ = y − b``; the minimum-norm such image is ``A⁺(y − b)``, and when ``A`` has
    fewer rows than columns no method finds ``x`` itself.

    Examples
    --------
    The question's filter on a 7×7×3 image, stride 2: only ``A⁺`` gives ``y`` back,
    and the pseudo-inverted slices miss even at their best scale:

    >>> import numpy as np
    >>> from deconv_gui.core import make_filter, question_inverse_check
    >>> x = np.random.default_rng(0).random((7, 7, 3))
    >>> rows = question_inverse_check(x, make_filter("seed_question"), stride=2)
    >>> for row in rows:
    ...     print(f"{row.formula:21} {row.residual:6.2f} {row.scaled_residual:5.2f}")
    loop with pinv slices   5.46  0.65
    loop as written        11.88  0.86
    Aᵀ(y − b)              58.02  0.03
    A⁺(y − b)               0.00  0.00
    """
    x_arr = as_float_array(x, "x").astype(np.float64)
    if x_arr.ndim != 3:
        raise ValueError(f"x must be an image (H, W, C_in), got shape {x_arr.shape}")
    w = normalize_weights(weights).astype(np.float64)
    s_h, s_w = as_pair(stride, "stride", minimum=1)
    if s_h != s_w:
        raise ValueError(f"stride must be a single int s in the question's loop, got {stride!r}")
    op = ConvOperator.from_weights(w, input_shape=x_arr.shape, stride=s_h)
    b = normalize_bias(
        0.0 if bias is None else bias, w.shape[3], np.dtype(np.float64), leading_ones=True
    )
    if y is None:
        y_arr = conv2d(x_arr, w, b, stride=s_h)
    else:
        y_arr = as_float_array(y, "y").astype(np.float64)
    centred = centred_output(y_arr, op.geometry, b)
    images = {
        "pinv_slices": question_deconv(
            y_arr, w, b, input_shape=x_arr.shape, stride=s_h, slices="pinv"
        ),
        "question": question_deconv(y_arr, w, b, input_shape=x_arr.shape, stride=s_h),
        "transposed": op.apply_adjoint(centred),
        "pinv": solve_pinv(op, centred).image if x_pinv is None else _known(x_pinv, x_arr.shape),
    }
    size = float(np.linalg.norm(centred))
    truth = float(np.linalg.norm(x_arr))
    rows = []
    for key, (label, formula) in INVERSE_CANDIDATES.items():
        image = images[key]
        back = op.apply(image)  # A x̂: what the layer makes of x̂, before its bias
        miss = float(np.linalg.norm(back - centred))
        power = float(np.vdot(back, back))
        alpha = float(np.vdot(back, centred)) / power if power > 0 else 0.0
        scaled_miss = float(np.linalg.norm(alpha * back - centred))
        rows.append(
            InverseCandidate(
                key,
                label,
                formula,
                image,
                relative_norm(miss, size),
                relative_norm(scaled_miss, size),
                relative_norm(float(np.linalg.norm(image - x_arr)), truth),
            )
        )
    return tuple(rows)


def _known(x_pinv: Any, shape: tuple[int, ...]) -> np.ndarray:
    arr = as_float_array(x_pinv, "x_pinv").astype(np.float64)
    if arr.shape != shape:
        raise ValueError(f"x_pinv must have the image's shape {shape}, got {arr.shape}")
    return arr
