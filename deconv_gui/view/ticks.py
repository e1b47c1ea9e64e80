"""The tick labels of a logarithmic axis, one style per axis, without Qt.

pyqtgraph writes each tick of a log axis with ``%0.1g``: ``1e-06`` (shown as 10⁻⁶) next to
``0.0001``, ``10¹`` next to ``1``. An axis here is written in one style: while everything
it spans lies between 0.001 and 10 000, :data:`PLAIN` numbers (0.001, 0.5, 20); beyond,
:data:`POWERS` of ten (10⁻⁶, 10⁻⁴, 2·10⁻⁴, 10⁰).
"""

from __future__ import annotations

import math

from ..core.choices import check_choice

__all__ = [
    "PLAIN",
    "PLAIN_DECADES",
    "POWERS",
    "log_tick_label",
    "log_tick_labels",
    "log_tick_style",
]

PLAIN = "plain"
POWERS = "powers"
#: The decades written out in full: 10⁻³ (0.001) to 10⁴ (10000).
PLAIN_DECADES = (-3, 4)
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_tick_style(low: float, high: float) -> str:
    """The style of an axis showing ``10**low`` to ``10**high``: :data:`PLAIN` or :data:`POWERS`.

    Examples
    --------
    >>> log_tick_style(-0.8, 0.1)  # 0.16 … 1.3
    'plain'
    >>> log_tick_style(-7.2, 0.4)  # 6e-8 … 2.5
    'powers'
    """
    low, high = sorted((float(low), float(high)))
    first, last = math.ceil(low - 1e-9), math.floor(high + 1e-9)
    return PLAIN if PLAIN_DECADES[0] <= first and last <= PLAIN_DECADES[1] else POWERS


def log_tick_label(value: float, style: str, digits: int = 3) -> str:
    """``value`` (> 0) written in ``style``, to ``digits`` significant digits.

    Examples
    --------
    >>> [log_tick_label(v, "plain") for v in (0.001, 0.0025, 0.5, 1.0, 60.5, 2000.0)]
    ['0.001', '0.0025', '0.5', '1', '60.5', '2000']
    >>> [log_tick_label(v, "powers") for v in (1e-6, 2e-4, 1.0, 10.0, 1.25e5)]
    ['10⁻⁶', '2·10⁻⁴', '10⁰', '10¹', '1.25·10⁵']
    """
    check_choice("style", style, (PLAIN, POWERS))
    if not value > 0 or not math.isfinite(value):
        return ""
    value = float(f"{value:.{digits}g}")  # 10**log10(0.002) is 0.0020000000000000005
    exponent = math.floor(math.log10(value) + 1e-9)
    if style == PLAIN:
        decimals = max(digits - 1 - exponent, 0)
        return f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"
    mantissa = float(f"{value / 10.0**exponent:.{digits}g}")
    power = f"10{str(exponent).translate(_SUPERSCRIPT)}"
    return power if mantissa == 1 else f"{mantissa:g}·{power}"


def log_tick_labels(values: list[float], style: str) -> list[str]:
    """``values`` written in ``style`` with the fewest significant digits, three at least,
    that keep different values apart (a narrow range: 100.2, 100.4, not 100, 100).

    Examples
    --------
    >>> log_tick_labels([100.2, 100.4, 100.6], "plain")
    ['100.2', '100.4', '100.6']
    >>> log_tick_labels([1.2e5, 1.205e5], "powers")
    ['1.2·10⁵', '1.205·10⁵']
    """
    distinct = len({float(f"{v:.12g}") for v in values})
    for digits in range(3, 13):
        labels = [log_tick_label(v, style, digits) for v in values]
        if len(set(labels)) >= distinct:
            break
    return labels
