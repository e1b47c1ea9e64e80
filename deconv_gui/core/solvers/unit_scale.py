"""Scaling a pseudo-inverse problem to unit size and back.

The solution of ``A x = y`` is linear in ``y`` and scales as ``1/c`` with the filter:
solving for unit-size data and weights keeps every norm and dot product far from overflow
and underflow; these functions scale the problem and its answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..operator import ConvOperator

__all__ = [
    "fourier_data",
    "in_data_units",
    "out_of_range_error",
    "unit_data",
    "unit_operator",
    "unit_reg",
]


def unit_data(centred: np.ndarray, unit: float, dtype: Any) -> np.ndarray:
    """``centred / unit`` in ``dtype`` (a copy)."""
    data = centred.astype(dtype)
    data /= data.dtype.type(unit)
    return data


def _moderate(scale: float) -> bool:
    """A scale the per-frequency transforms take without overflow or underflow."""
    return 1e-10 <= scale <= 1e10


def unit_reg(reg: float, w_scale: float) -> float:
    """``reg`` for the unit operator, ``reg / w_scale²`` (``A = c A₀`` makes Tikhonov's
    ``λ`` a ``λ / c²`` for ``A₀``), without Python's OverflowError (``c`` = 1e160) or
    ZeroDivisionError (``c²`` = 0 for ``c`` = 1e-200): beyond 1e300 it is 1e300, which
    leaves a solution of 0 to every digit, as an infinite weight would."""
    with np.errstate(over="ignore", under="ignore"):
        scaled = np.float64(reg) / np.float64(w_scale) / np.float64(w_scale)
    return float(min(scaled, 1e300))


def unit_operator(op: ConvOperator) -> tuple[ConvOperator, float]:
    """``op`` with its weights divided by their largest magnitude when that is extreme."""
    w_scale = float(np.abs(op.weights).max()) if op.weights.size else 0.0
    if w_scale == 0 or 1e-30 <= w_scale <= 1e30:
        return op, 1.0
    return op.replace(op.weights.astype(np.float64) / w_scale, np.float64), w_scale


def in_data_units(image: np.ndarray, factor: float, dtype: np.dtype) -> np.ndarray:
    """The solution of the scaled problem times ``factor`` (data scale over filter scale),
    in ``dtype``: non-finite where that overflows."""
    if not 1e-30 <= factor <= 1e30:  # a float32 image would overflow before the cast
        image = image.astype(np.float64)
    if factor != 1:
        with np.errstate(over="ignore"):
            image = image * factor
    return image.astype(dtype, copy=False)


def out_of_range_error(bias: Any, y_scale: float, w_scale: float, dtype: np.dtype) -> ValueError:
    """The error for a pseudo-inverse beyond the range of ``dtype``, naming the bias when
    it is what makes ``y − b`` large, else ``y``."""
    top = float(np.abs(np.asarray(bias, dtype=np.float64)).max(initial=0.0))
    name = "bias" if bias is not None and not top < y_scale / 2 else "y"
    return ValueError(
        f"{name}: the pseudo-inverse of y − b has values beyond the range of "
        f"{dtype} (|y − b| up to {y_scale:.3g}, |weights| up to {w_scale:.3g}); "
        f"rescale {'the bias' if name == 'bias' else 'y'} or the weights"
    )


def fourier_data(
    centred: np.ndarray, op: ConvOperator, unit: float, y_scale: float
) -> tuple[np.ndarray, ConvOperator, float, float]:
    """The per-frequency solve's data, operator, data unit and filter scale.

    ``centred`` and ``op`` as they are where the transforms of these scales cannot overflow
    or underflow (1e10 · 1e9 pixels / (1e-6 cut · 1e-10) < 1e38), which saves a pass over
    the image; else scaled to unit size (data divided by ``unit``, weights by their largest
    magnitude when that is extreme).
    """
    if _moderate(y_scale) and _moderate(float(np.abs(op.weights).max())):
        return centred, op, 1.0, 1.0
    solve_op, w_scale = unit_operator(op)
    return unit_data(centred, unit, centred.dtype), solve_op, unit, w_scale
