"""Where the panels go: the grid, or one row, wrapped when that shows the pictures larger.

The View menu offers two layouts. The grid puts the input and the forward output on
top, the reconstructions in a second row and the lost-information panels in a third;
when a group has many panels (six reconstructions: 144-pixel panels side by side) and
the picture is wide, the group takes two or more rows of fewer, larger panels.
One row puts every panel side by side, which reads well for three or four panels; with
all methods and the Insight panels on, twelve panels in one row of a laptop's window
are 80 pixels wide each: titles cut to a word, pictures the size of a thumbnail. So
one row is honoured while every panel gets at least :data:`MIN_PANEL_WIDTH` pixels and
no wrapping draws the pictures :data:`WRAP_GAIN` times larger (four panels of a wide
picture in a tall area); otherwise the panels wrap, in reading order, into the number
of columns that shows the pictures largest, and the arrangement says so
(:attr:`Arrangement.note`).

Within a panel, :func:`levels_bar` decides how much of it the levels bar (the histogram
whose handles set the panel's levels) takes: all of it while that costs the picture
little, a slim bar without numbers in a narrow panel, none in a very narrow one (the
panel then says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.choices import check_choice

__all__ = [
    "FIGURE_COLUMNS",
    "LEVELS_BAR_WIDTHS",
    "MIN_PANEL_WIDTH",
    "WRAP_GAIN",
    "Arrangement",
    "arrange_panels",
    "figure_columns",
    "levels_bar",
    "wrapped_columns",
]

#: The narrowest panel of one row: a title of a few words, a picture worth looking at.
MIN_PANEL_WIDTH = 180
#: How much larger the pictures must be drawn for the layout asked for (one row, the
#: grid's groups in a row each) to give way to more rows: a few percent is not worth
#: the move, nor the flicker of a window resized across the tie.
WRAP_GAIN = 1.15
#: The most columns of an exported comparison figure: more panels wrap into rows.
FIGURE_COLUMNS = 6
#: The levels bar's width in pixels: ``"full"`` (histogram and numbers), ``"compact"``
#: (colour bar and handles, no numbers), ``"hidden"``.
LEVELS_BAR_WIDTHS = {"full": 98, "compact": 30, "hidden": 0}
#: Room (pixels across, picture and bar) from which the full bar is always drawn, and
#: below which none is: a picture narrower than ~90 pixels needs every one of them.
_FULL_BAR_ROOM, _BAR_ROOM = 360, 124
#: The share of the picture's size the full bar may cost in a narrower panel.
_FULL_BAR_COST = 0.1

#: ``(name, row, column, column span)``
Cell = tuple[str, int, int, int]


@dataclass(frozen=True)
class Arrangement:
    """The panels' places in a grid.

    Attributes
    ----------
    cells : tuple of (str, int, int, int)
        ``(name, row, column, column span)`` for each panel, in reading order.
    columns : int
        The number of columns.
    wrapped : bool
        One row was asked for and did not fit: the panels wrap into several rows.
    note : str
        What the user is told about a wrapped row ("" otherwise).
    """

    cells: tuple[Cell, ...]
    columns: int
    wrapped: bool = False
    note: str = ""

    @property
    def rows(self) -> int:
        """The number of rows used."""
        return 1 + max((row for _, row, _, _ in self.cells), default=-1)


def _fitted_scale(
    columns: int,
    count: int,
    size: tuple[float, float],
    picture: tuple[int, int],
    frame: tuple[float, float],
    spacing: float,
    rows: int = 0,
) -> tuple[float, float]:
    """``(scale, panel width)``: how large a ``picture`` (rows, columns) is drawn, letterboxed,
    in each panel of ``count`` panels in ``columns`` columns (``rows`` rows; 0: as many as
    they fill) of an area ``size`` (width, height); ``frame`` is what a panel keeps for
    itself (width, height: title, margins)."""
    rows = rows or math.ceil(count / columns)
    width = (size[0] - (columns - 1) * spacing) / columns
    height = (size[1] - (rows - 1) * spacing) / rows
    room = (max(width - frame[0], 0.0), max(height - frame[1], 0.0))
    return min(room[0] / max(picture[1], 1), room[1] / max(picture[0], 1)), width


def wrapped_columns(
    count: int,
    size: tuple[float, float],
    picture: tuple[int, int] = (1, 1),
    frame: tuple[float, float] = (0.0, 0.0),
    spacing: float = 4.0,
    min_width: float = MIN_PANEL_WIDTH,
) -> int:
    """The columns for ``count`` panels that draw a ``picture`` largest, none narrower than
    ``min_width`` (one column when even one is), the rows filled evenly.

    Parameters
    ----------
    count : int
        The number of panels.
    size : tuple of float
        The area's ``(width, height)`` in pixels.
    picture : tuple of int
        The picture's ``(rows, columns)``: its aspect decides between wide and tall cells.
    frame : tuple of float
        The pixels of a panel that are not picture: ``(width, height)`` (margins, title).
    spacing : float
        Pixels between panels.
    min_width : float
        The narrowest panel allowed.

    Returns
    -------
    int
        The number of columns, from 1 to ``count``.

    Examples
    --------
    Twelve panels in 880×540 pixels, a picture 1.5 times as wide as tall: three rows of
    four (one row would give 70-pixel panels; three columns make the rows too low).

    >>> wrapped_columns(12, (880, 540), picture=(170, 256), frame=(12, 90))
    4
    >>> wrapped_columns(3, (880, 540), picture=(170, 256), frame=(12, 90))
    3
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    widest = max(1, min(count, int((size[0] + spacing) // (min_width + spacing))))
    best = max(
        range(1, widest + 1),
        key=lambda c: (_fitted_scale(c, count, size, picture, frame, spacing)[0], c),
    )
    return math.ceil(count / math.ceil(count / best))  # 12 in 5 columns: 3 rows of 4


def figure_columns(count: int, most: int = FIGURE_COLUMNS) -> int:
    """The columns of a figure of ``count`` panels: one row up to ``most``, else the rows
    filled evenly (a figure of twelve panels, 4300 pixels wide in one row: two of six).

    Examples
    --------
    >>> [figure_columns(n) for n in (1, 4, 6, 7, 8, 12, 13)]
    [1, 4, 6, 4, 4, 6, 5]
    """
    if count < 1 or most < 1:
        raise ValueError(f"count and most must be at least 1, got {count} and {most}")
    return math.ceil(count / math.ceil(count / most))


def _grid(
    names: Sequence[str],
    reconstructions: Sequence[str],
    insight: Sequence[str],
    fit: tuple[tuple[float, float], tuple[int, int], tuple[float, float], float] | None,
) -> tuple[list[Cell], int]:
    """The grid's cells and columns; ``fit``, ``(size, picture, frame, spacing)``, lets a
    long group take more rows of fewer columns when that draws the pictures larger."""
    recon = [n for n in names if n in reconstructions]
    lost = [n for n in names if n in insight]
    columns = max(2, len(recon), len(lost))
    if fit is not None:
        count = sum(n in ("input", "forward") for n in names) + len(recon) + len(lost)

        def scale(c: int) -> float:
            rows = int(count > len(recon) + len(lost))
            rows += math.ceil(len(recon) / c) + math.ceil(len(lost) / c)
            return _fitted_scale(c, count, fit[0], fit[1], fit[2], fit[3], rows=rows)[0]

        # a tie goes to fewer, wider columns: 6 in 3 + 3 rather than 5 + 1
        best = max(range(2, columns + 1), key=lambda c: (scale(c), -c))
        if scale(best) >= WRAP_GAIN * scale(columns):
            columns = best
    cells: list[Cell] = [("input", 0, 0, 1), ("forward", 0, 1, columns - 1)]
    row = 1
    for group in (recon, lost):
        cells += [(name, row + i // columns, i % columns, 1) for i, name in enumerate(group)]
        row += math.ceil(len(group) / columns)
    return [cell for cell in cells if cell[0] in names], columns


def arrange_panels(
    names: Sequence[str],
    mode: str,
    *,
    reconstructions: Sequence[str] = (),
    insight: Sequence[str] = (),
    size: tuple[float, float] | None = None,
    picture: tuple[int, int] = (1, 1),
    frame: tuple[float, float] = (0.0, 0.0),
    spacing: float = 4.0,
    min_width: float = MIN_PANEL_WIDTH,
) -> Arrangement:
    """Place the panels ``names`` (in reading order) as layout ``mode`` asks.

    Parameters
    ----------
    names : sequence of str
        The panels shown, in reading order.
    mode : str
        ``"grid"``: input and forward output on top, the ``reconstructions`` below, the
        ``insight`` panels in a third row (a group in more rows of fewer columns when that
        draws the ``picture`` :data:`WRAP_GAIN` times larger in ``size``). ``"row"``: side
        by side, wrapped (see :func:`wrapped_columns`) when a panel of one row in ``size``
        would be narrower than ``min_width``, or wrapping draws the pictures
        :data:`WRAP_GAIN` times larger.
    reconstructions, insight : sequence of str
        The grid's second and third rows' panels.
    size : tuple of float, optional
        The area's ``(width, height)`` in pixels (None: not laid out yet, one row).
    picture, frame, spacing, min_width
        As :func:`wrapped_columns`.

    Returns
    -------
    Arrangement

    Examples
    --------
    >>> names = ["input", "forward", "transposed", "pinv"]
    >>> arrange_panels(names, "row", size=(1200, 600)).columns
    4
    >>> wrapped = arrange_panels(names * 3, "row", size=(880, 540), frame=(12, 90))
    >>> wrapped.wrapped, wrapped.columns, wrapped.rows
    (True, 4, 3)
    >>> wrapped.note.split(" (")[0]
    'One row would make the 12 panels 69 px wide: wrapped into 3 rows'
    """
    check_choice("mode", mode, ("grid", "row"))
    fit = None if size is None else (size, picture, frame, spacing)
    if mode == "grid":
        grid, columns = _grid(names, reconstructions, insight, fit)
        return Arrangement(tuple(grid), columns)
    return _row(names, size, picture, frame, spacing, min_width)


def _row(
    names: Sequence[str],
    size: tuple[float, float] | None,
    picture: tuple[int, int],
    frame: tuple[float, float],
    spacing: float,
    min_width: float,
) -> Arrangement:
    """One row, or the wrapped rows that draw the pictures largest (see the module)."""
    count = len(names)
    one_row = Arrangement(tuple((n, 0, col, 1) for col, n in enumerate(names)), max(count, 1))
    if size is None or count < 2:
        return one_row
    width = (size[0] - (count - 1) * spacing) / count
    columns = wrapped_columns(count, size, picture, frame, spacing, min_width)
    rows = math.ceil(count / columns)
    if width >= min_width:
        gain = _fitted_scale(columns, count, size, picture, frame, spacing)[0] / max(
            _fitted_scale(count, count, size, picture, frame, spacing)[0], 1e-9
        )
        if columns == count or gain < WRAP_GAIN:
            return one_row
        note = (
            f"{rows} rows draw the {count} pictures {gain:.1f}× as large as one row: wrapped "
            f"into {rows} rows (a wider, lower window gives one row)"
        )
    else:
        note = (
            f"One row would make the {count} panels {int(width)} px wide: wrapped into {rows} "
            "rows (a wider window or fewer panels give one row)"
        )
    cells = tuple((n, i // columns, i % columns, 1) for i, n in enumerate(names))
    return Arrangement(cells, columns, wrapped=True, note=note)


def levels_bar(room: tuple[float, float], picture: tuple[int, int] | None = None) -> str:
    """How a panel draws its levels bar: ``"full"``, ``"compact"`` or ``"hidden"``.

    Parameters
    ----------
    room : tuple of float
        ``(width, height)`` in pixels of the panel's picture and bar together.
    picture : tuple of int, optional
        The picture's ``(rows, columns)`` (None: nothing drawn yet).

    Returns
    -------
    str
        ``"hidden"`` below 124 pixels across; ``"full"`` from 360 pixels, or where the
        full bar shrinks the letterboxed picture by at most 10 % (a tall picture in a wide
        panel: nothing); else ``"compact"``. See :data:`LEVELS_BAR_WIDTHS`.

    Examples
    --------
    >>> levels_bar((400, 300)), levels_bar((200, 300), (100, 100)), levels_bar((100, 300))
    ('full', 'compact', 'hidden')
    >>> levels_bar((200, 60), (170, 256))  # the picture fills the height: the bar is free
    'full'
    """
    width, height = room
    if width >= _FULL_BAR_ROOM:
        return "full"
    if width < _BAR_ROOM:
        return "hidden"
    if picture is not None and min(picture) > 0:
        rows, columns = picture
        scale = min(width / columns, height / rows)
        narrower = min((width - LEVELS_BAR_WIDTHS["full"]) / columns, height / rows)
        if narrower >= (1 - _FULL_BAR_COST) * scale:
            return "full"
    return "compact"
