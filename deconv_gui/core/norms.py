"""The one rule for relative errors and residuals in the core.

Every "relative residual" the app shows (the solver's report, the metrics table, the
L-curve, "check my code") is ``‖r‖ / ‖b‖`` by :func:`relative_norm`, so that they agree
also when the reference is zero.
"""

from __future__ import annotations

__all__ = ["relative_norm"]


def relative_norm(value: float, reference: float) -> float:
    """``value / reference`` for two norms, with a defined answer when ``reference`` is 0.

    Parameters
    ----------
    value : float
        A norm (``>= 0``), e.g. ``‖A x − y‖``.
    reference : float
        The norm it is relative to (``>= 0``), e.g. ``‖y‖``.

    Returns
    -------
    float
        ``value / reference``; when ``reference`` is 0: ``0.0`` if ``value`` is 0 too
        (nothing to reproduce, and nothing missed), else ``inf`` (an error relative to
        nothing is unboundedly large).

    Examples
    --------
    >>> relative_norm(1.0, 4.0)
    0.25
    >>> relative_norm(0.0, 0.0), relative_norm(1e-9, 0.0)
    (0.0, inf)
    """
    value, reference = float(value), float(reference)
    if reference == 0:
        return 0.0 if value == 0 else float("inf")
    return value / reference
