"""Arrays as the core takes them: real floats (float32 kept), a 4-D filter, a bias vector.

Imported by (and public through) :mod:`deconv_gui.core.geometry`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_float_array", "normalize_bias", "normalize_weights"]


def as_float_array(array: Any, name: str, *, finite: bool = True) -> np.ndarray:
    """Convert ``array`` to a float ndarray, keeping float32/float64, else float64.

    ``finite=False`` leaves the NaN/inf check to the caller.

    Raises
    ------
    ValueError
        If the data is not numeric (strings, objects, complex) or holds NaN or inf.
    """
    try:
        arr = np.asarray(array)
    except Exception as exc:  # ragged lists and similar
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        pass
    elif arr.dtype.kind in "biu" or arr.dtype == np.float16:
        arr = arr.astype(np.float64)
    elif arr.dtype.kind == "f":  # longdouble and friends
        arr = arr.astype(np.float64)
    else:
        raise ValueError(
            f"{name} must hold real numbers (bool, int or float), got dtype {arr.dtype}"
        )
    # The sum of finite numbers is finite unless it overflows, and NaN or inf makes it
    # non-finite: one cheap reduction clears almost every array, the full check
    # (a boolean temporary as large as the array) runs only when the sum is not finite.
    if finite and arr.size:
        with np.errstate(over="ignore", invalid="ignore"):
            total = arr.sum()
        if not np.isfinite(total) and not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf; every value must be finite")
    return arr


def normalize_weights(weights: Any) -> np.ndarray:
    """Return the filter as a 4-D ``(f_h, f_w, C_in, C_out)`` float array.

    A 3-D filter ``(f_h, f_w, C_in)`` means ``C_out = 1``.
    """
    w = as_float_array(weights, "weights")
    if w.ndim == 3:
        w = w[..., np.newaxis]
    if w.ndim != 4:
        raise ValueError(
            "weights must have shape (f_h, f_w, C_in, C_out) or (f_h, f_w, C_in), "
            f"got {w.ndim} dimensions with shape {w.shape}"
        )
    if min(w.shape) < 1:
        raise ValueError(f"weights must have no empty axis, got shape {w.shape}")
    return w


def normalize_bias(
    bias: Any, c_out: int, dtype: np.dtype, *, leading_ones: bool = False
) -> np.ndarray | None:
    """Return the bias as a ``(C_out,)`` array of ``dtype``, or None for no bias.

    A scalar is broadcast to every output channel. Any other shape than ``(C_out,)``
    is refused (a ``(1, 1)`` array is a shape mistake worth naming), except
    ``(1, …, 1, C_out)`` with ``leading_ones`` (the question's TensorFlow-style bias).
    """
    if bias is None:
        return None
    b = as_float_array(bias, "bias")
    if b.ndim == 0:
        b = np.full(c_out, b, dtype=dtype)
    if leading_ones and b.ndim > 1 and b.size == b.shape[-1]:
        b = b.reshape(-1)
    if b.ndim != 1 or b.shape[0] != c_out:
        raise ValueError(
            f"bias must be a scalar or have shape (C_out,) = ({c_out},), got shape {b.shape}"
        )
    return b.astype(dtype, copy=False)
