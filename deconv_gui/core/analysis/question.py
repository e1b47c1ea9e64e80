"""The seed question's own "deConv", and the comparison behind the "check my code" panel."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import lapack
from ..choices import check_choice
from ..geometry import as_float_array, as_pair, normalize_bias, normalize_weights
from ..norms import relative_norm

__all__ = [
    "QUESTION_SLICES",
    "ArrayComparison",
    "ReluLoss",
    "compare_arrays",
    "question_deconv",
    "relu_loss",
]

#: What the question's loop does to each ``f × f`` kernel slice ``W[:, :, x, c]``:
#: ``"transpose"`` (``np.transpose``, as written) or ``"pinv"`` (the commented-out
#: second guess, ``np.linalg.pinv``).
QUESTION_SLICES: tuple[str, ...] = ("transpose", "pinv")


def question_deconv(
    y: Any,
    weights: Any,
    bias: Any = None,
    *,
    input_shape: tuple[int, ...],
    stride: int = 1,
    slices: str = "transpose",
) -> np.ndarray:
    """The asker's ``deConv`` from the seed question, exactly as written (vectorised).

    Parameters
    ----------
    y : array_like
        ``Z``: the forward output ``(n_H, n_W, n_C)`` or a batch ``(m, n_H, n_W, n_C)``.
    weights : array_like
        ``W``: ``(f, f, n_C_prev, n_C)`` (or 3-D for ``n_C = 1``). The loop unpacks
        ``(f, f, ...)``, so the filter must be square.
    bias : float or array_like, optional
        ``b``: scalar, ``(n_C,)`` or ``(1, 1, 1, n_C)``; None means zero.
    input_shape : tuple of int
        ``X_prev.shape``: ``(n_H_prev, n_W_prev, n_C_prev)`` or ``(m, ...)``.
    stride : int
        ``s``. (The cache's padding ``p`` is ignored by the loop, so there is no
        padding argument.)
    slices : str
        ``"transpose"``: each kernel slice is ``np.transpose(W[:, :, x, c])``, as the
        loop is written. ``"pinv"``: the asker's commented-out second guess,
        ``inverse_W = np.linalg.pinv(W[:, :, x, c])`` (the matrix pseudo-inverse of
        each slice), used in its place; the rest (bias, ReLU) is unchanged.

    Returns
    -------
    numpy.ndarray
        ``X_curr``, of ``input_shape`` (with the batch axis if ``y`` had one), in the
        dtype of ``y``. Equal to the literal loop up to floating-point summation order.

    Raises
    ------
    ValueError
        On a non-square filter, mismatched channels, an unknown ``slices``, or
        windows that run past the image (the literal loop crashes there with a numpy
        broadcasting error; this happens when the forward pass used padding, which
        the loop ignores).

    Notes
    -----
    The loop computes, for each output pixel :math:`(h, w)` and channel :math:`c`,

    .. math::

        X[s h + a, s w + b, x] \\mathrel{+}= Z[h, w, c]\\, W[b, a, x, c]
        \\quad\\text{and}\\quad X[s h + a, s w + b, :] \\mathrel{+}= b_c,

    then applies ReLU. The true adjoint of the (padding-free) forward pass is
    :math:`X[s h + a, s w + b, x] \\mathrel{+}= Z[h, w, c]\\, W[a, b, x, c]` with no
    bias (the bias is subtracted from ``Z`` first) and no ReLU. So the two agree only
    when every kernel slice is symmetric (:math:`W[a, b] = W[b, a]`), the bias is
    zero, and the result is non-negative (also, padding must be zero). Where they
    differ: the transposed kernel mirrors features across the diagonal, the bias
    paints the coverage pattern (``Σ_c b_c`` times the number of windows covering each
    pixel) into every channel, and ReLU clips the negative half of the adjoint.

    The loop over pixels is vectorised as one scatter per filter tap ``(a, b)``:
    ``X[a::s, b::s] += Z @ W[b, a].T``. With ``slices="pinv"`` the tap is
    ``P[a, b]`` with ``P[:, :, x, c] = pinv(W[:, :, x, c])``: the inverse of a
    3×3 block of numbers, which has nothing to do with inverting the layer (see
    :func:`~deconv_gui.core.analysis.second_guess.question_inverse_check`).

    Examples
    --------
    The loop as written is the adjoint only for symmetric kernel slices, no bias and a
    non-negative result:

    >>> import numpy as np
    >>> from deconv_gui.core import conv2d_transpose, question_deconv
    >>> w = np.ones((3, 3, 3, 1))
    >>> y = np.random.default_rng(0).random((3, 3, 1))
    >>> bool(np.allclose(question_deconv(y, w, input_shape=(7, 7, 3), stride=2),
    ...                  conv2d_transpose(y, w, input_shape=(7, 7, 3), stride=2)))
    True
    """
    z = as_float_array(y, "y")
    batched = z.ndim == 4
    if z.ndim == 3:
        z = z[np.newaxis]
    elif z.ndim != 4:
        raise ValueError(
            f"y must have shape (n_H, n_W, n_C) or (m, n_H, n_W, n_C), got shape {z.shape}"
        )
    check_choice("slices", slices, QUESTION_SLICES)
    w = normalize_weights(weights).astype(z.dtype, copy=False)
    f, f_w, c_prev, c_out = w.shape
    if f != f_w:
        raise ValueError(
            f"weights must be square (f, f, n_C_prev, n_C) as the question's loop unpacks "
            f"them, got shape {w.shape}"
        )
    if z.shape[3] != c_out:
        raise ValueError(
            f"y has {z.shape[3]} channels but weights have n_C = {c_out} output channels"
        )
    s_h, s_w = as_pair(stride, "stride", minimum=1)
    if s_h != s_w:
        raise ValueError(f"stride must be a single int s in the question's loop, got {stride!r}")
    s = s_h
    shape = _input_shape(input_shape, z.shape[0], batched, c_prev)
    b = normalize_bias(bias if bias is not None else 0.0, c_out, z.dtype, leading_ones=True)
    assert b is not None  # a scalar bias always gives a (C_out,) array
    m, n_h, n_w, _ = z.shape
    h_prev, w_prev = shape
    _check_windows((n_h, n_w), (h_prev, w_prev), f, s)
    x_curr = np.zeros((m, h_prev, w_prev, c_prev), dtype=z.dtype)
    bias_sum = b.sum()
    taps = _loop_taps(w, slices)
    for a in range(f):
        for bb in range(f):
            rows = slice(a, a + s * (n_h - 1) + 1, s)
            cols = slice(bb, bb + s * (n_w - 1) + 1, s)
            x_curr[:, rows, cols, :] += z @ taps[a, bb].T + bias_sum
    np.maximum(x_curr, 0, out=x_curr)
    return x_curr if batched else x_curr[0]


def _check_windows(counts: tuple[int, int], sizes: tuple[int, int], f: int, s: int) -> None:
    """Refuse ``counts`` output rows and columns whose windows run past the image: the
    loop as written would crash there."""
    for label, count, size in zip(("height", "width"), counts, sizes, strict=True):
        if (count - 1) * s + f > size:
            raise ValueError(
                f"the question's loop writes windows up to {label} {(count - 1) * s + f} but "
                f"the image {label} is {size}: as written it would crash (it ignores the "
                "padding p, so y must come from an unpadded forward pass)"
            )


def _loop_taps(w: np.ndarray, slices: str) -> np.ndarray:
    """What the loop multiplies by at tap ``(a, b)``: ``taps[a, b]``, ``(C_in, C_out)``,
    of each kernel slice transposed, or of its pseudo-inverse (``slices="pinv"``)."""
    if slices == "transpose":
        # transpose_W = W[:, :, x, c].T, so its entry (a, bb) is W[bb, a, x, c]
        return w.transpose(1, 0, 2, 3)
    # inverse_W = np.linalg.pinv(W[:, :, x, c]), for every (x, c) at once
    return lapack.pinv(w.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1).astype(w.dtype)


def _input_shape(value: Any, m: int, batched: bool, c_prev: int) -> tuple[int, int]:
    try:
        shape = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be a tuple (H, W, C_in), got {value!r}") from None
    if len(shape) == 4:
        if not batched or shape[0] != m:
            raise ValueError(f"input_shape {shape} has a batch axis that does not match y")
        shape = shape[1:]
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (H, W, C_in) with sizes >= 1, got {value!r}")
    if shape[2] != c_prev:
        raise ValueError(
            f"channel mismatch: input_shape has C_in = {shape[2]} but weights expect "
            f"n_C_prev = {c_prev}"
        )
    return shape[0], shape[1]


class ArrayComparison(NamedTuple):
    """How a user's array differs from the app's reference.

    Attributes
    ----------
    difference : numpy.ndarray
        ``candidate − reference`` (float64), in the reference's shape.
    max_abs_error : float
        ``max |candidate − reference|``.
    relative_error : float
        ``‖candidate − reference‖ / ‖reference‖`` (0 if both are zero, inf if only
        the reference is zero).
    matches : bool
        ``relative_error <= rtol``.
    verdict : str
        One sentence for the panel.
    """

    difference: np.ndarray
    max_abs_error: float
    relative_error: float
    matches: bool
    verdict: str


def compare_arrays(
    candidate: Any, reference: Any, *, what: str = "the reference", rtol: float = 1e-5
) -> ArrayComparison:
    """Compare a user's array with the app's result ("check my code").

    Parameters
    ----------
    candidate : array_like
        The user's array (for example loaded from ``.npy``). Singleton axes are
        forgiven: ``(H, W)`` matches ``(H, W, 1)`` and ``(1, H, W, C)`` matches
        ``(H, W, C)``.
    reference : array_like
        The app's array (forward output or transposed reconstruction).
    what : str
        What the reference is, for the messages (e.g. ``"the forward output"``).
    rtol : float
        Relative error at or below which the arrays match (default 1e-5: float32
        rounding passes).

    Raises
    ------
    ValueError
        Naming ``candidate`` when its shape cannot be the reference's, or when it is
        not a finite numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import compare_arrays
    >>> compare_arrays(np.ones((3, 3)), np.ones((3, 3, 1)), what="y").verdict
    'matches y to float64 rounding'
    >>> compare_arrays(np.zeros(3), np.ones(3)).matches
    False
    """
    cand = as_float_array(candidate, "candidate").astype(np.float64, copy=False)
    ref = as_float_array(reference, "reference").astype(np.float64, copy=False)
    if cand.shape != ref.shape:
        squeezed = tuple(n for n in cand.shape if n != 1)
        if squeezed != tuple(n for n in ref.shape if n != 1):
            raise ValueError(
                f"candidate has shape {cand.shape} but {what} has shape {ref.shape}: "
                "load an array computed for the current image and filter"
            )
        cand = cand.reshape(ref.shape)
    difference = cand - ref
    max_abs = float(np.abs(difference).max()) if difference.size else 0.0
    err = float(np.linalg.norm(difference))
    scale = float(np.linalg.norm(ref))
    relative = relative_norm(err, scale)
    matches = relative <= rtol
    if relative <= 1e-12:
        verdict = f"matches {what} to float64 rounding"
    elif matches:
        verdict = f"matches {what} (relative error {relative:.1e}, within {rtol:.0e})"
    else:
        verdict = f"differs from {what}: relative error {relative:.2e}, max abs error {max_abs:.3g}"
    return ArrayComparison(difference, max_abs, relative, matches, verdict)


class ReluLoss(NamedTuple):
    """What a ReLU after the layer adds to its lost dimensions, at one image.

    Attributes
    ----------
    outputs : int
        Outputs of the layer.
    zeros : int
        Outputs the ReLU sets to 0: each says only ``A_i x + b_i ≤ 0``.
    lost : int
        ``n − rank(A)``: what the linear map already loses.
    free : int
        ``n − rank(A_E)`` (``E``: the positive outputs), from
        :func:`~deconv_gui.core.network.relu_preimage`: directions no equation fixes.
    """

    outputs: int
    zeros: int
    lost: int
    free: int

    @property
    def added(self) -> int:
        """Directions the ReLU frees beyond the linear map's: ``free − lost``."""
        return self.free - self.lost


def relu_loss(op: Any, image: Any, bias: Any = 0.0) -> ReluLoss:
    """How many directions ``ReLU(A x + b)`` leaves free at ``image`` (small layers).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator, make_filter
    >>> op = ConvOperator.from_weights(make_filter("seed_question"), input_shape=(7, 7, 3),
    ...                                stride=2)
    >>> x = np.random.default_rng(0).random((7, 7, 3))
    >>> loss = relu_loss(op, x, -float(np.median(op.apply(x))))
    >>> loss.lost, loss.zeros, loss.free, loss.added
    (138, 5, 143, 5)
    """
    from ..network.relu_preimage import relu_preimage

    b = np.broadcast_to(np.asarray(bias, dtype=np.float64), (op.geometry.output_shape[2],))
    y = np.maximum(op.apply(np.asarray(image, dtype=np.float64)) + b, 0)
    found = relu_preimage(y, op, b)
    dense = op.to_dense().astype(np.float64)
    n = dense.shape[1]
    lost = n - int(np.linalg.matrix_rank(dense)) if dense.size else n
    return ReluLoss(int(y.size), found.n_inequalities, lost, found.free_directions)
