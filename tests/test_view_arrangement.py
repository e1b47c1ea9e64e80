"""Where the panels go (Qt-free): one row while readable, wrapped into the best grid below."""

from __future__ import annotations

import itertools
import math

import pytest

from deconv_gui.core import registry
from deconv_gui.view.arrangement import (
    LEVELS_BAR_WIDTHS,
    MIN_PANEL_WIDTH,
    WRAP_GAIN,
    arrange_panels,
    levels_bar,
    wrapped_columns,
)

RECON = tuple(p.name for p in registry.PANELS if p.method in registry.METHODS)
INSIGHT = tuple(p.name for p in registry.PANELS if p.method in registry.INSIGHT_METHODS)
#: every method and the Insight panels on: what a newcomer gets by ticking everything
TWELVE = (
    "input", "forward", "transposed", "normalized_transposed", "pinv", "tv", "nonneg",
    "richardson_lucy", "coverage", "recoverable", "nullspace", "invented",
)  # fmt: skip
FRAME = (60.0, 90.0)


def _picture_width(columns, count, size, picture, frame, spacing=4.0):
    """How wide the picture is drawn, letterboxed, in each cell: the literal sums."""
    rows = -(-count // columns)
    cell_w = (size[0] - spacing * (columns - 1)) / columns - frame[0]
    cell_h = (size[1] - spacing * (rows - 1)) / rows - frame[1]
    return min(cell_w, cell_h * picture[1] / picture[0])


def test_one_row_is_kept_while_every_panel_is_readable():
    names = TWELVE[:4]
    arrangement = arrange_panels(names, "row", size=(1200, 600), frame=FRAME)
    assert not arrangement.wrapped and arrangement.note == ""
    assert arrangement.cells == tuple((n, 0, i, 1) for i, n in enumerate(names))
    # not laid out yet: the row as asked
    assert not arrange_panels(TWELVE, "row", size=None).wrapped


@pytest.mark.parametrize("size", [(884, 543), (1264, 700), (600, 500), (1900, 1000)])
@pytest.mark.parametrize("picture", [(170, 256), (256, 170), (24, 40), (40, 40)])
def test_a_row_too_narrow_wraps_into_the_grid_that_draws_the_pictures_largest(size, picture):
    arrangement = arrange_panels(TWELVE, "row", size=size, picture=picture, frame=FRAME)
    one_row_width = (size[0] - 4 * 11) / 12
    assert arrangement.wrapped is (one_row_width < MIN_PANEL_WIDTH)
    if not arrangement.wrapped:
        return
    assert f"{int(one_row_width)} px wide" in arrangement.note
    assert f"into {arrangement.rows} rows" in arrangement.note
    columns = arrangement.columns
    # reading order, row by row; the rows filled evenly (no lone panel on the last)
    assert [n for n, *_ in arrangement.cells] == list(TWELVE)
    places = [(row, col) for _, row, col, _ in arrangement.cells]
    assert places == [divmod(i, columns) for i in range(12)]
    assert arrangement.rows == math.ceil(12 / columns)
    assert math.ceil(12 / (columns - 1 or 1)) > arrangement.rows or columns == 1
    # no panel narrower than the minimum, unless the area has room for one column only
    width = (size[0] - 4 * (columns - 1)) / columns
    assert width >= MIN_PANEL_WIDTH or columns == 1
    # no other allowed column count draws the pictures larger
    allowed = [c for c in range(1, 13) if (size[0] - 4 * (c - 1)) / c >= MIN_PANEL_WIDTH] or [1]
    best = max(_picture_width(c, 12, size, picture, FRAME) for c in allowed)
    assert _picture_width(columns, 12, size, picture, FRAME) == pytest.approx(best)


def test_a_tall_picture_wraps_into_more_columns_than_a_wide_one():
    size = (884, 543)
    tall = wrapped_columns(12, size, picture=(256, 128), frame=FRAME)
    wide = wrapped_columns(12, size, picture=(128, 256), frame=FRAME)
    assert tall >= wide
    assert wrapped_columns(1, size) == 1
    with pytest.raises(ValueError, match="count"):
        wrapped_columns(0, size)


def test_the_grid_is_input_and_forward_on_top_reconstructions_then_insight():
    names = ("input", "forward", "transposed", "pinv", "tv", "coverage", "nullspace")
    arrangement = arrange_panels(
        names, "grid", reconstructions=RECON, insight=INSIGHT, size=(300, 300)
    )
    assert not arrangement.wrapped  # the grid is what was asked, whatever the size
    assert arrangement.columns == 3 and arrangement.rows == 3
    assert dict((n, (r, c, s)) for n, r, c, s in arrangement.cells) == {
        "input": (0, 0, 1),
        "forward": (0, 1, 2),
        "transposed": (1, 0, 1),
        "pinv": (1, 1, 1),
        "tv": (1, 2, 1),
        "coverage": (2, 0, 1),
        "nullspace": (2, 1, 1),
    }
    with pytest.raises(ValueError, match="mode"):
        arrange_panels(names, "column")


def _order(mode: str) -> int:
    return ("hidden", "compact", "full").index(mode)


@pytest.mark.parametrize("picture", [None, (170, 256), (256, 170), (24, 40), (300, 30)])
@pytest.mark.parametrize("height", [60.0, 150.0, 400.0])
def test_the_levels_bar_grows_with_the_panel_and_costs_the_picture_little(picture, height):
    modes = [levels_bar((width, height), picture) for width in range(40, 700, 4)]
    # never smaller in a wider panel; always full from 360 pixels, never any below 124
    assert all(_order(a) <= _order(b) for a, b in itertools.pairwise(modes))
    for width, mode in zip(range(40, 700, 4), modes, strict=True):
        if width >= 360:
            assert mode == "full"
        elif width < 124:
            assert mode == "hidden"
        elif mode == "full":  # a narrower panel has it only when the picture barely shrinks
            rows, columns = picture
            bare = min(width / columns, height / rows)
            with_bar = min((width - LEVELS_BAR_WIDTHS["full"]) / columns, height / rows)
            assert with_bar >= 0.9 * bare


def test_a_tall_picture_keeps_the_full_bar_in_a_narrow_panel():
    # 200 px across, 150 high: a 256x170 portrait is drawn 100 px wide either way
    assert levels_bar((200, 150), (256, 170)) == "full"
    assert levels_bar((200, 150), (170, 256)) == "compact"  # a landscape one needs the width
    assert levels_bar((200, 150), None) == "compact"


def _grid_picture_width(arrangement, size, picture, frame, spacing=4.0):
    """How wide the picture is drawn in a cell of ``arrangement``: the literal sums."""
    columns, rows = arrangement.columns, arrangement.rows
    cell_w = (size[0] - spacing * (columns - 1)) / columns - frame[0]
    cell_h = (size[1] - spacing * (rows - 1)) / rows - frame[1]
    return min(cell_w, cell_h * picture[1] / picture[0])


SIX = ("input", "forward", "transposed", "normalized_transposed", "pinv", "tv", "nonneg",
       "richardson_lucy")  # fmt: skip


@pytest.mark.parametrize("size", [(880, 600), (1264, 700), (870, 640), (884, 479)])
@pytest.mark.parametrize("picture", [(170, 256), (100, 300), (256, 256), (300, 100)])
def test_six_reconstructions_in_the_grid_take_the_rows_that_draw_them_largest(size, picture):
    """Six reconstructions side by side are 144-pixel panels on a laptop: a wide picture
    is drawn larger in two rows of three. The grid takes the column count that draws the
    picture largest (as the literal sums say), unless that gains less than WRAP_GAIN."""
    arrangement = arrange_panels(
        SIX, "grid", reconstructions=RECON, insight=INSIGHT, size=size, picture=picture,
        frame=FRAME,
    )  # fmt: skip
    assert not arrangement.wrapped and arrangement.note == ""
    places = {n: (r, c, s) for n, r, c, s in arrangement.cells}
    columns = arrangement.columns
    assert places["input"] == (0, 0, 1) and places["forward"] == (0, 1, columns - 1)
    recon = SIX[2:]
    assert [places[n][:2] for n in recon] == [(1 + i // columns, i % columns) for i in range(6)]

    def width(c):
        rows = 1 + -(-6 // c)
        cell_w = (size[0] - 4 * (c - 1)) / c - FRAME[0]
        cell_h = (size[1] - 4 * (rows - 1)) / rows - FRAME[1]
        return min(cell_w, cell_h * picture[1] / picture[0])

    best = max(range(2, 7), key=lambda c: (width(c), -c))
    expected = best if width(best) >= WRAP_GAIN * width(6) else 6
    assert columns == expected
    # the rows filled evenly: no lone panel on a row of its own (6 in 5 + 1)
    assert columns in (2, 3, 6)
    assert _grid_picture_width(arrangement, size, picture, FRAME) == pytest.approx(width(columns))
    if picture == (170, 256) and size == (880, 600):  # the laptop's case: two rows of three
        assert columns == 3 and arrangement.rows == 3
        assert width(3) > 1.5 * width(6)


def test_the_grid_wraps_each_group_on_its_own_rows():
    names = (*SIX, "coverage", "recoverable", "nullspace")
    arrangement = arrange_panels(
        names, "grid", reconstructions=RECON, insight=INSIGHT, size=(880, 900),
        picture=(100, 300), frame=FRAME,
    )  # fmt: skip
    rows = {n: r for n, r, _, _ in arrangement.cells}
    columns = arrangement.columns
    assert columns < 6
    recon_rows = -(-6 // columns)
    assert {rows[n] for n in SIX[2:]} == set(range(1, 1 + recon_rows))
    assert {rows[n] for n in ("coverage", "recoverable", "nullspace")} == set(
        range(1 + recon_rows, 1 + recon_rows + -(-3 // columns))
    )


def test_one_row_of_few_wide_panels_wraps_when_two_rows_draw_them_much_larger():
    """Four panels of a wide picture in a tall area: one row is readable (each over
    MIN_PANEL_WIDTH) but two rows of two draw the pictures about twice as large; a square
    picture in a wide area keeps its one row."""
    names = TWELVE[:4]
    size, picture = (1000, 800), (170, 256)
    arrangement = arrange_panels(names, "row", size=size, picture=picture, frame=FRAME)
    assert (size[0] - 12) / 4 >= MIN_PANEL_WIDTH
    assert arrangement.wrapped and arrangement.columns == 2 and arrangement.rows == 2
    gain = _picture_width(2, 4, size, picture, FRAME) / _picture_width(4, 4, size, picture, FRAME)
    assert gain >= WRAP_GAIN
    assert f"{gain:.1f}× as large" in arrangement.note and "wrapped into 2 rows" in arrangement.note
    kept = arrange_panels(names, "row", size=(1400, 500), picture=(256, 256), frame=FRAME)
    assert not kept.wrapped and kept.rows == 1 and kept.note == ""
