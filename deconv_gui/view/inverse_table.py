"""The "does it give y back?" table of the question's second guess, as rich text (no Qt).

Words the numbers of :func:`~deconv_gui.core.question_inverse_check` for the window's
*Check my code* and the question's 7×7×3 view: one row per candidate "inverse", how
far the layer applied to it lands from ``y``, and how far it is from the true image.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core import InverseCandidate
from .colormaps import readable_colour
from .theme import THEMES

__all__ = ["format_fraction", "inverse_check_html"]

#: Green and red for light backgrounds, then for dark ones (readable_colour picks).
_GOOD = tuple(THEMES[name]["table_good"] for name in ("light", "dark"))
_BAD = tuple(THEMES[name]["table_bad"] for name in ("light", "dark"))


def format_fraction(value: float) -> str:
    """A relative error for reading: ``"503 %"``, ``"2.4 %"``, or ``"0 (1e-15)"`` at rounding level.

    Examples
    --------
    >>> from deconv_gui.view.inverse_table import format_fraction
    >>> format_fraction(5.03), format_fraction(0.0244), format_fraction(1.5e-15)
    ('503\xa0%', '2.4\xa0%', '0 (1e-15)')
    """
    if value < 1e-6:
        return f"0 ({value:.0e})" if value > 0 else "0"
    if value < 0.1:
        return f"{100 * value:.1f}\u00a0%"
    return f"{100 * value:,.0f}\u00a0%"


def inverse_check_html(
    rows: Sequence[InverseCandidate],
    lost: int | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
) -> str:
    """A short explanation and the table, as Qt rich text.

    Parameters
    ----------
    rows : sequence of InverseCandidate
        From :func:`~deconv_gui.core.question_inverse_check`.
    lost : int, optional
        How many dimensions the layer loses at least (``geometry.min_nullity``), for
        the last sentence.
    background : tuple of int
        The RGB the table is drawn on: its green and red are shades that read there.
    """
    by_key = {row.key: row for row in rows}
    head = (
        "<tr><th align='left'>answer x̂</th>"
        "<th title='‖A x̂ + b − y‖ / ‖y − b‖'>&nbsp;misses y by&nbsp;</th>"
        "<th title='min over α of ‖α A x̂ − (y − b)‖ / ‖y − b‖'>&nbsp;at its best scale&nbsp;</th>"
        "<th title='‖x̂ − x‖ / ‖x‖'>&nbsp;misses the image by&nbsp;</th></tr>"
    )
    body = []
    for row in rows:
        colour = readable_colour(_GOOD if row.residual < 1e-6 else _BAD, background)
        name = row.label if row.key != "pinv_slices" else f"<b>{row.label}</b>"
        body.append(
            f"<tr><td>{name}</td>"
            f"<td align='right' style='color:{colour}'>{format_fraction(row.residual)}</td>"
            f"<td align='right'>{format_fraction(row.scaled_residual)}</td>"
            f"<td align='right'>{format_fraction(row.error)}</td></tr>"
        )
    guess, pinv = by_key.get("pinv_slices"), by_key.get("pinv")
    text = (
        "<p><b>The asker's second guess</b>, <code>np.linalg.pinv(W[:, :, x, c])</code> in "
        "place of the transpose, inverts blocks of filter numbers, not the layer. An inverse "
        "gives y back when the layer is applied to its answer"
    )
    if guess is not None:
        text += (
            f": this one misses y by {format_fraction(guess.residual)} "
            f"({format_fraction(guess.scaled_residual)} even at its best scale)."
        )
    else:
        text += "."
    if pinv is not None:
        text += f" Only A⁺ gives y back; it still misses the image by {format_fraction(pinv.error)}"
        text += f": {lost:,} dimensions are lost to every method." if lost else "."
    text += "</p>"
    return text + f"<table cellspacing='2'>{head}{''.join(body)}</table>"
