"""An image panel's picture: the image in its view, what is drawn over it, the levels bar.

A :class:`PanelPicture` is the pyqtgraph part of an
:class:`~deconv_gui.gui.panels.image_panel.ImagePanel`, the part that costs: a view box,
an image item, a histogram with its own view box, gradient and handles, some
milliseconds each. The window has two dozen panels and shows four of them at first (the
others wait for their method, the lost-information view or the network mode), so a
panel makes its picture on its first need, when it is about to be shown or when its
image, view or levels are asked for, through the :class:`Part` attributes.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar, overload

import pyqtgraph as pg
from qtpy import QtCore, QtWidgets

from ...view.theme import CANVAS
from .levels import LevelsBar
from .marks import PixelMarks, TileLabels, ValueLabels
from .shown_image import ShownImage

__all__ = ["PanelPicture", "Part"]

_T = TypeVar("_T")


class PanelPicture:
    """The graphics of one ``panel``, made now, to be laid out in it.

    Attributes
    ----------
    graphics : pg.GraphicsLayoutWidget
        The widget of the image's view.
    view : pg.ViewBox
        The aspect-locked view (y down) of the image.
    item : ShownImage
        The image (a pyqtgraph ``ImageItem``).
    values, tile_labels, marks
        What is drawn over the image: the pixels' values, the montage's channels, the
        inspection marks.
    pending_label : QtWidgets.QLabel
        "computing…" over the image while its method computes (hidden).
    levels : LevelsBar
        The levels bar, in a widget of its own (``levels.view``) beside ``graphics``.
    """

    def __init__(self, panel: QtWidgets.QWidget) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(CANVAS)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        # repaint the whole view on any change: with the minimal updates, a view resized
        # while its range changed (a layout switch) kept stale dark patches over the image
        self.graphics.setViewportUpdateMode(
            QtWidgets.QGraphicsView.ViewportUpdateMode.FullViewportUpdate
        )
        # no context menu: made without one rather than made and thrown away
        self.view = self.graphics.addViewBox(
            row=0, col=0, lockAspect=True, invertY=True, enableMenu=False
        )
        self.item = ShownImage()  # averaged when shown smaller: no moiré from the screen
        self.view.addItem(self.item)
        self.values = ValueLabels(self.view)
        self.tile_labels = TileLabels(self.view)
        self.marks = PixelMarks(self.view)
        # over the image while its method computes: the previous image stays, dimmed
        self.pending_label = QtWidgets.QLabel(self.graphics)
        self.pending_label.setObjectName("pending")
        self.pending_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.pending_label.setWordWrap(True)
        self.pending_label.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.pending_label.setStyleSheet(
            "QLabel#pending { color: #ffd27f; background: rgba(0, 0, 0, 170);"
            " border-radius: 4px; padding: 6px; font-weight: bold; }"
        )
        self.pending_label.hide()
        # the levels in a widget of their own beside the image: slim or hidden in a narrow
        # panel, its room goes to the image (an item hidden in the view's layout kept it)
        # (a child of the panel from the start: made parentless, its first "full" mode
        # showed it as a window of its own, on screen until the panel's layout took it)
        self.levels = LevelsBar(self.item, self.graphics, panel)
        self.graphics.setToolTip(
            "Scroll to zoom, drag to pan, F to fit. Drag the histogram handles on the "
            "right to change the levels."
        )

    @property
    def histogram(self) -> pg.HistogramLUTItem:
        """The levels bar's histogram, its handles and the colour bar."""
        return self.levels.histogram

    @property
    def levels_view(self) -> QtWidgets.QGraphicsView:
        """The widget of the levels bar."""
        return self.levels.view


class _HasPicture(Protocol):
    @property
    def picture(self) -> PanelPicture: ...


class Part(Generic[_T]):
    """An attribute of the owner's :class:`PanelPicture` (made on first use), by name.

    Examples
    --------
    >>> class Owner:
    ...     def __init__(self):
    ...         self.made = 0
    ...     @property
    ...     def picture(self):
    ...         self.made += 1
    ...         return type("Picture", (), {"view": "the view"})()
    ...     view = Part[str]()
    >>> owner = Owner()
    >>> owner.made, owner.view, owner.made
    (0, 'the view', 1)
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Part[_T]: ...

    @overload
    def __get__(self, instance: _HasPicture, owner: type | None = None) -> _T: ...

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return getattr(instance.picture, self._name)
