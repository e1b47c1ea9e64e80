"""A panel's levels bar: the histogram whose handles set its levels, and its colour bar.

How much of the panel it takes is the Qt-free rule of
:func:`deconv_gui.view.arrangement.levels_bar`: the full bar (numbers, histogram, colour
bar), a compact one (the handles on a slim histogram and the colour bar, no numbers) in a
narrow panel, or none in a very narrow one, where a note in a corner of the picture says
so (its tooltip: how to get the bar back): in the band the letterboxed image leaves free,
never over the image (none when the image fills the corners). The bar never sets a
panel's minimum width.
"""

from __future__ import annotations

import pyqtgraph as pg
from qtpy import QtCore, QtWidgets

from ...core.choices import check_choice
from ...view.arrangement import LEVELS_BAR_WIDTHS, levels_bar
from ...view.theme import CANVAS
from ..support.popups import adopt_popups

__all__ = ["LevelsBar"]

#: The histogram's own width in a compact bar (the handles), at least in a full one (it
#: takes what the numbers leave: their width varies), and the colour bar's.
_COMPACT_HISTOGRAM, _FULL_HISTOGRAM, _COLOUR_BAR = 12, 24, 16
_NO_LEVELS_TIP = (
    "This panel is too narrow for its levels bar (the histogram whose handles set its "
    "levels): widen the window, or show fewer panels, to get it back"
)


class _LevelsView(pg.GraphicsView):
    """The levels histogram's view: never what sets a panel's (or the window's) minimum."""

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self.maximumWidth(), 0)

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(0, 0)


class LevelsBar:
    """The levels bar of ``image``, in a view of its own; the note goes over ``picture``.

    The view is a child of ``parent`` (to lay out beside ``picture``); without one it
    is a window of its own until it is laid out.

    Attributes
    ----------
    histogram : pg.HistogramLUTItem
        The histogram, its handles and the colour bar.
    view : QtWidgets.QGraphicsView
        The widget that shows them, to lay out beside the picture.
    note : QtWidgets.QLabel
        "no levels", shown at a right corner of ``picture`` while the bar is hidden,
        where the image leaves room for it.
    mode : str
        ``"full"``, ``"compact"`` or ``"hidden"``.
    """

    def __init__(
        self,
        image: pg.ImageItem,
        picture: pg.GraphicsView,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        self.picture, self._image = picture, image
        self.histogram = pg.HistogramLUTItem(image=image)
        # the colour bar without the colormap editor's tick strip beside it (the colours
        # are the display rules', not the user's)
        self.histogram.gradient.setMaxDim(_COLOUR_BAR)
        self.view = _LevelsView(parent, background=CANVAS)
        self.view.setCentralItem(self.histogram)
        adopt_popups(self.view)  # the histogram's menus go with the view
        self.view.setViewportUpdateMode(
            QtWidgets.QGraphicsView.ViewportUpdateMode.FullViewportUpdate
        )
        self.note = QtWidgets.QLabel("no levels", picture)
        self.note.setObjectName("noLevels")
        self.note.setToolTip(_NO_LEVELS_TIP)
        self.note.setStyleSheet(
            "QLabel#noLevels { color: #c9d1d9; background: rgba(0, 0, 0, 150);"
            " border-radius: 3px; padding: 0px 3px; font-size: 8pt; }"
        )
        self.note.hide()
        self.mode, self._hidden = "", False
        self.set_mode("full")
        view = image.getViewBox()
        if view is not None:  # zoomed, panned or resized: the image's corners move
            view.sigRangeChanged.connect(lambda *_: self._place_note())
            view.sigResized.connect(lambda *_: self._place_note())

    def follow(self, room: tuple[float, float], picture: tuple[int, int] | None) -> None:
        """The bar that suits ``room`` (width of picture and bar, height) and ``picture``
        (its rows and columns, None: nothing drawn)."""
        view = self.view
        if view.isHidden() and view.isVisible():
            # hidden while its parents were being shown, Qt left it on screen (and ignores
            # a second hide): show it, so that hiding it takes
            view.setVisible(True)
        self.set_mode(levels_bar(room, picture))

    def set_mode(self, mode: str) -> None:
        """``"full"`` (numbers, histogram, colour bar), ``"compact"`` (no numbers, a slim
        histogram) or ``"hidden"`` (the note says so)."""
        check_choice("mode", mode, LEVELS_BAR_WIDTHS)
        view, shown = self.view, mode != "hidden"
        if shown != (not view.isHidden()) or shown != self.histogram.isVisible():
            view.setVisible(shown)
            self.histogram.setVisible(shown)
        self._hidden = not shown
        self._place_note()
        if mode == self.mode:
            return
        self.mode = mode
        if shown:
            compact = mode == "compact"
            self.histogram.axis.setVisible(not compact)  # its numbers
            width = _COMPACT_HISTOGRAM if compact else _FULL_HISTOGRAM
            self.histogram.vb.setMinimumWidth(width)
            self.histogram.vb.setMaximumWidth(width if compact else 152)
            view.setMaximumWidth(LEVELS_BAR_WIDTHS[mode])
            view.updateGeometry()

    def _place_note(self) -> None:
        """The note at the picture's top-right corner, or its bottom-right one, whichever
        the image leaves free; none when it covers both (a narrow panel's image fills its
        width: the corner it took was over the picture)."""
        note, picture = self.note, self.picture
        if not self._hidden:
            note.setVisible(False)
            return
        note.adjustSize()
        drawn = self.image_rect()
        x = max(picture.width() - note.width() - 4, 0)
        for y in (4, picture.height() - note.height() - 4):
            spot = QtCore.QRect(x, y, note.width(), note.height())
            if y >= 0 and (drawn is None or not spot.intersects(drawn)):
                note.move(x, y)
                note.setVisible(True)
                return
        note.setVisible(False)

    def image_rect(self) -> QtCore.QRect | None:
        """Where the image is drawn in the picture (None: nothing drawn)."""
        image = self._image
        if image.image is None or not image.isVisible():
            return None
        scene = image.mapRectToScene(image.boundingRect())
        return self.picture.mapFromScene(scene).boundingRect()
