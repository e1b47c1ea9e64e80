"""When a least-squares iterate is as good as the data's precision allows.

An iterative pseudo-inverse stops on ``rtol`` (``‖y − A x‖ ≤ rtol ‖y‖``, or the
normal-equation residual ``η = ‖Aᵀ(y − A x)‖ / (‖A‖ ‖y − A x‖) ≤ rtol``). With float32 data
``y`` is known to its rounding only: ``y = A x₀`` rounded to float32 lies just outside the
range of a tall ``A``, the residual cannot fall below that rounding (``~10⁻⁷ ‖y‖``), and
``η ≤ rtol`` then asks for ``‖Aᵀ r‖`` at ``10⁻¹⁵`` of ``‖A‖ ‖y‖``: iterations that only fit
the rounding. So an iterate also counts as converged, at the data's precision ``ε`` (that of
the coarser of the filter's and the data's dtype, as for the dense and per-frequency
solves' singular-value cut, :func:`~deconv_gui.core.solvers.dense.pinv_cutoff`), when

* ``‖y − A x‖ ≤ ε (‖y‖ + ‖A‖ ‖x‖)``: ``x`` solves ``(A + E) x = y + f`` exactly with
  ``‖E‖ ≤ ε ‖A‖`` and ``‖f‖ ≤ ε ‖y‖`` (LSQR's first test with ``atol = btol = ε``, Paige
  and Saunders' advice for data known to that precision); or
* ``η ≤ ε``: ``x`` is the exact least-squares solution for ``A + E`` with
  ``E = −r rᵀA / ‖r‖²``, ``‖E‖ = η ‖A‖`` (LSQR's second test), the relative change of
  ``A`` that the dense solve's cut at ``ε σ_max`` also accepts.

The first test is what stops a float32 solve near the range (the residual at the data's
rounding); the second a noisy one (``y`` far outside the range). For float64 data both
sit at ``10⁻¹⁶`` and change nothing for any usable ``rtol``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["data_precision", "precision_words", "within_precision"]


def data_precision(*dtypes: Any) -> float:
    """``ε`` of the coarsest floating dtype among ``dtypes`` (0 for none: exact data).

    Examples
    --------
    >>> data_precision(np.float64, np.float32) == float(np.finfo(np.float32).eps)
    True
    >>> data_precision(np.int64)
    0.0
    """
    floats = [np.dtype(d) for d in dtypes if np.dtype(d).kind in "fc"]
    return max((float(np.finfo(d).eps) for d in floats), default=0.0)


def within_precision(
    residual: float,
    y_norm: float,
    x_norm: float,
    operator_norm: float,
    normal_residual: float,
    precision: float,
) -> str:
    """Which test of the module says ``x`` solves the least-squares problem to the data's
    ``precision``: ``"residual"`` (``‖r‖ ≤ ε (‖y‖ + ‖A‖ ‖x‖)``), ``"normal"`` (``η ≤ ε``),
    or ``""`` (neither, or ``precision`` 0).

    Examples
    --------
    >>> eps = data_precision(np.float32)
    >>> within_precision(2e-7, 1.0, 1.0, 3.0, 0.3, eps)  # ‖r‖ at y's rounding
    'residual'
    >>> within_precision(0.1, 1.0, 1.0, 3.0, 1e-7, eps)  # y far outside the range
    'normal'
    >>> within_precision(2e-7, 1.0, 1.0, 3.0, 0.3, 0.0)
    ''
    """
    if precision <= 0:
        return ""
    if residual <= precision * (y_norm + operator_norm * x_norm):
        return "residual"
    return "normal" if normal_residual <= precision else ""


def precision_words(reason: str, precision: float, normal_residual: float) -> str:
    """The report's words for a solve stopped by :func:`within_precision` for ``reason``.

    >>> eps = data_precision(np.float32)
    >>> print(precision_words("residual", eps, 0.2))
    converged to the precision of the data (float32, ε = 1.2e-07): ‖y − A x‖ ≤ ε (‖y‖ + ‖A‖ ‖x‖)
    >>> print(precision_words("normal", eps, 9e-8))
    converged to the least-squares solution at the precision of the data (float32, ε = 1.2e-07): \
normal-equation residual 9.0e-08 ≤ ε
    """
    names = {float(np.finfo(d).eps): np.dtype(d).name for d in (np.float16, np.float32, np.float64)}
    data = f"the precision of the data ({names[precision] + ', ' if precision in names else ''}"
    data += f"ε = {precision:.1e})"
    if reason == "residual":
        return f"converged to {data}: ‖y − A x‖ ≤ ε (‖y‖ + ‖A‖ ‖x‖)"
    return (
        f"converged to the least-squares solution at {data}: "
        f"normal-equation residual {normal_residual:.1e} ≤ ε"
    )
