"""The three side-by-side images of "Check my code": theirs, ours and the difference.

Drawing only: :class:`Triptych` shows one channel of three same-shaped arrays; the
first two share one grey scale (so equal arrays look equal), the difference gets a
diverging colormap centred on 0 (blue < 0 < red, white = no difference).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtWidgets

from ...core import InverseCandidate
from ...view.colormaps import lookup_table
from ...view.display import fmt
from ...view.inverse_table import inverse_check_html
from ...view.theme import CANVAS
from ..support.qthelp import signals_blocked
from ..support.style import window_rgb
from ..support.theme import follow_theme
from .check_jobs import verdict_colour

__all__ = ["InverseTable", "ToneLabel", "Triptych"]


def _after_events(draw: Callable[[], None]) -> None:
    """Call ``draw`` once the events already posted are handled: the application's
    palette signal comes before its widgets' own palettes change (in an order Qt does not
    fix), so a colour read from a window then may be the old one."""
    QtCore.QTimer.singleShot(0, draw)


class ToneLabel(QtWidgets.QLabel):
    """A label written in a verdict's colour (:meth:`say`), in the shade that reads on
    its window, light or dark: drawn again when the palette changes."""

    def __init__(self, text: str = "", extra: str = "") -> None:
        super().__init__(text)
        self._tone, self._extra = "", extra  # extra: style kept with any tone ("font-size")
        follow_theme(self, lambda _theme: _after_events(self._colour))  # as InverseTable's

    def say(self, text: str, tone: str = "", bold: bool = False) -> None:
        """Show ``text`` in verdict ``tone``'s colour (none: the palette's text colour)."""
        self._tone = tone + (" bold" if bold else "")
        self.setText(text)
        self._colour()

    def _colour(self) -> None:
        tone, _, bold = self._tone.partition(" ")
        back = window_rgb(self.window() or self)  # its dialog's: a style sheet pins its own palette
        sheet = f"color: {verdict_colour(tone, back)}; " if tone else ""
        sheet += ("font-weight: bold; " if bold else "") + self._extra
        if self.styleSheet() != sheet.strip():  # setting it re-polishes even if equal
            self.setStyleSheet(sheet.strip())

    def changeEvent(self, event: QtCore.QEvent | None) -> None:
        super().changeEvent(event)
        if event is not None and event.type() == QtCore.QEvent.Type.PaletteChange:
            self._colour()


class InverseTable(QtWidgets.QLabel):
    """The table of the asker's second guess (:func:`inverse_check_html`), its green and
    red in the shade that reads on its window: drawn again when the palette changes."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[list[InverseCandidate], int | None] | None = None
        self.setWordWrap(True)
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setToolTip(
            "Each answer x̂ is put through the layer (A x̂ + b) and compared with y: an inverse "
            "gives y back (0 %). 'At its best scale' forgives a wrong overall size."
        )
        # also once the application's palette has reached every widget: a PaletteChange
        # can come before its window's own palette has changed
        follow_theme(self, lambda _theme: _after_events(self._draw))

    def show_rows(self, rows: Sequence[InverseCandidate], lost: int | None) -> None:
        """Show the table of ``rows``; ``lost``: the dimensions the layer loses at least."""
        self._shown = (list(rows), lost)
        self._draw()

    def _draw(self) -> None:
        if self._shown is None:
            return
        back = window_rgb(self.window() or self)  # its dialog's: a style sheet pins its own palette
        text = inverse_check_html(*self._shown, back)
        if self.text() != text:
            self.setText(text)

    def changeEvent(self, event: QtCore.QEvent | None) -> None:
        super().changeEvent(event)
        if event is not None and event.type() == QtCore.QEvent.Type.PaletteChange:
            self._draw()


def _as_3d(array: np.ndarray) -> np.ndarray:
    return array if array.ndim == 3 else array.reshape(*array.shape[:2], -1)


class Triptych(QtWidgets.QWidget):
    """Three image views in a row with titles and a shared channel chooser.

    Attributes
    ----------
    arrays : tuple of numpy.ndarray or None
        ``(candidate, reference, difference)`` as last drawn, each ``(H, W, C)``.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.rounding = False
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(CANVAS)
        self.graphics.setToolTip(
            "Left and middle share one grey scale (black = smallest, white = largest of "
            "the middle array). Right: blue < 0 < red, white = equal; scale ±max|difference|"
        )
        self.titles: list[pg.LabelItem] = []
        self.captions: list[pg.LabelItem] = []
        self.items: list[pg.ImageItem] = []
        for col in range(3):
            self.titles.append(self.graphics.addLabel("", row=0, col=col))
            view = self.graphics.addViewBox(
                row=1, col=col, invertY=True, lockAspect=True, enableMenu=False
            )
            item = pg.ImageItem(axisOrder="row-major")
            view.addItem(item)
            self.items.append(item)
            self.captions.append(self.graphics.addLabel("", row=2, col=col, size="8pt"))
        self.items[2].setLookupTable(lookup_table("diverging"))
        self.channel = QtWidgets.QSpinBox()
        self.channel.setPrefix("showing channel ")
        self.channel.setToolTip("Which channel of the arrays to draw (all channels are compared)")
        self.channel.setRange(0, 0)  # numbered from 0, as the panels' channels
        self.channel.valueChanged.connect(self._draw)
        self.channel.setVisible(False)  # until there are arrays to page through
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.channel)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(row)

    def set_titles(self, first: str, second: str, third: str) -> None:
        """Titles above the three images."""
        for label, text in zip(self.titles, (first, second, third), strict=True):
            label.setText(text)

    def show_arrays(
        self,
        candidate: np.ndarray,
        reference: np.ndarray,
        difference: np.ndarray,
        *,
        rounding: bool = False,
    ) -> None:
        """Draw three arrays of one shape (``(H, W)`` or ``(H, W, C)``).

        With ``rounding`` (the arrays match to rounding) the difference is drawn at the
        scale of ``reference``, so rounding noise stays white instead of filling the
        colour range.
        """
        self.arrays = (_as_3d(candidate), _as_3d(reference), _as_3d(difference))
        self.rounding = rounding
        channels = self.arrays[1].shape[2]
        with signals_blocked(self.channel):
            self.channel.setRange(0, channels - 1)
            self.channel.setSuffix(f" of {channels}")
        self.channel.setEnabled(channels > 1)
        self.channel.setVisible(True)
        self._draw()
        for item in self.items:
            item.getViewBox().autoRange(padding=0.02)

    def clear(self) -> None:
        """Remove the images (nothing to compare)."""
        self.arrays = None
        for item in self.items:
            item.clear()
        for label in self.captions:
            label.setText("")
        self.channel.setVisible(False)

    def _draw(self) -> None:
        if self.arrays is None:
            return
        k = self.channel.value()
        first, second, diff = (a[:, :, min(k, a.shape[2] - 1)] for a in self.arrays)
        low, high = float(second.min()), float(second.max())
        if high <= low:
            high = low + 1.0
        for item, data in ((self.items[0], first), (self.items[1], second)):
            item.setImage(data, autoLevels=False, levels=(low, high))
        biggest_diff = float(np.abs(diff).max())
        m = max(abs(low), abs(high)) if self.rounding else biggest_diff
        m = m or 1.0
        self.items[2].setImage(diff, autoLevels=False, levels=(-m, m))
        shape = "×".join(str(n) for n in self.arrays[1].shape)
        for label, data in zip(self.captions[:2], (first, second), strict=True):
            label.setText(f"{shape} · values {fmt(data.min())} … {fmt(data.max())}")
        biggest = np.unravel_index(int(np.argmax(np.abs(diff))), diff.shape)
        if not diff.any():
            text = "all zero: identical in this channel"
        elif self.rounding:
            text = f"rounding only (max {fmt(biggest_diff)}), drawn at the scale ±{fmt(m)} of ours"
        else:
            text = f"scale ±{fmt(m)} · largest at row {biggest[0]}, col {biggest[1]}"
        self.captions[2].setText(text)
