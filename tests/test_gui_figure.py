"""The exported comparison figure: plain-text captions, even columns, nothing overlapping."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtGui

from deconv_gui.gui.panels.figure import comparison_figure
from deconv_gui.gui.support.qimage import qimage_to_array

pytestmark = pytest.mark.gui
LONG = "stretched to its own range 0.012 … 2.4 (Aᵀ changes the brightness) " * 2


def _pictures():
    rng = np.random.default_rng(0)
    shapes = [(64, 40), (32, 20), (64, 40), (7, 7)]
    notes = ["shown at its range: values 0 … 1", "blue < 0 < red, ±0.83", LONG, "<b>x</b> & y"]
    titles = ["Input x", "Forward output y = A x + b  32×20×1 " * 2, "Aᵀ(y − b)", "A⁺(y − b)"]
    return [
        (title, note, rng.integers(0, 255, (*shape, 3), dtype=np.uint8))
        for title, note, shape in zip(titles, notes, shapes, strict=True)
    ]


def test_the_figure_is_plain_text_in_even_columns_without_overlaps(qtbot):
    files = comparison_figure(_pictures(), panel_width=200)
    svg = files["figure.svg"].decode("utf-8")
    assert svg.count("<image") == 4
    for text in ("blue &lt; 0 &lt; red", "&lt;b&gt;x&lt;/b&gt; &amp; y"):
        assert text in svg  # written as it reads, not taken as markup
    image = QtGui.QImage.fromData(files["figure.png"], "PNG")
    pixels = qimage_to_array(image)[:, :, :3]
    assert pixels.shape[1] == 2 * 14 + 4 * 200 + 3 * 18  # four columns of one width
    inked = (pixels < 200).any(axis=2)
    for n in range(3):  # the gutters between columns hold nothing: no caption runs over
        left = 14 + (n + 1) * 200 + n * 18
        assert not inked[:, left : left + 18].any(), n
    rows = np.nonzero(inked.any(axis=1))[0]
    assert rows.max() < pixels.shape[0] - 14  # the wrapped captions fit the figure


def test_a_figure_of_many_panels_wraps_into_even_rows(qtbot):
    rng = np.random.default_rng(1)
    pictures = [
        (f"panel {n}", "shown at its range", rng.integers(0, 255, (30, 40, 3), dtype=np.uint8))
        for n in range(12)
    ]
    files = comparison_figure(pictures, panel_width=100)
    assert files["figure.svg"].decode("utf-8").count("<image") == 12
    pixels = qimage_to_array(QtGui.QImage.fromData(files["figure.png"], "PNG"))[:, :, :3]
    assert pixels.shape[1] == 2 * 14 + 6 * 100 + 5 * 18  # two rows of six, not 12 columns
    # the pictures: two bands of rows, six in each, apart (random pixels are never white)
    coloured = (pixels != 255).any(axis=2)
    bands = np.flatnonzero(np.diff(np.r_[0, coloured.any(axis=1).astype(int), 0]))
    picture_rows = [
        (a, b) for a, b in zip(bands[::2], bands[1::2], strict=True) if b - a >= 60
    ]  # a picture is 75 rows (100 x 30/40); titles and captions are lower
    assert len(picture_rows) == 2, bands
    for top, bottom in picture_rows:
        columns = coloured[(top + bottom) // 2]
        starts = np.flatnonzero(np.diff(np.r_[0, columns.astype(int)]) == 1)
        assert len(starts) == 6
