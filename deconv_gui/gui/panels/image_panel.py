"""One image panel: title with the shape, what it is and how it is scaled, image, levels.

An :class:`ImagePanel` is a title with the array's shape, a one-line subtitle that says
what the panel is and how its colours map to values, and its picture
(:class:`~.picture.PanelPicture`): a pyqtgraph ``ImageItem`` in an aspect-locked
``ViewBox``, and a ``HistogramLUTItem`` for the levels, made when the panel is first
shown or its picture first asked for. Its colours come from
:mod:`deconv_gui.view.colormaps` (as the exported PNGs' do).
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtGui, QtWidgets

from ...core import registry
from ...view.colormaps import colormap_anchors
from ...view.display import DisplaySpec
from ...view.linking import FIT_PADDING
from ...view.montage import picture_pixel
from ..support.qthelp import make_timer
from .levels import LevelsBar
from .marks import PixelMarks, TileLabels, ValueLabels
from .picture import PanelPicture, Part
from .title import FittingTitle, place_beside

__all__ = ["ImagePanel", "pg_colormap"]


#: Panels narrower or lower than this show only the scaling note under the title, not
#: the description.
_DESCRIPTION_MIN_PANEL_SIZE = (360, 300)


def pg_colormap(name: str) -> pg.ColorMap:
    """The view layer's colormap ``name`` as a pyqtgraph colormap (the PNG export's colours)."""
    return pg.ColorMap(*colormap_anchors(name))


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


class ImagePanel(QtWidgets.QFrame):
    """One labelled image view with its own levels histogram.

    Signals
    -------
    hovered(str, int, int, int)
        Panel name, row and column of the array's pixel under the cursor (``-1, -1``
        when the cursor leaves the image) and the channel of the montage tile it is in
        (-1: not a montage).
    levelsEdited(str, float, float)
        The user dragged the levels of this panel.
    channelChanged(int)
        The user picked another channel to draw (several output channels).
    clicked(str, int, int)
        Panel name, row and column of a left click on the image.
    viewResized()
        The image's view changed its size.
    rangeChangedManually()
        The user zoomed or panned the image's view.
    """

    hovered = QtCore.Signal(str, int, int, int)
    clicked = QtCore.Signal(str, int, int)
    levelsEdited = QtCore.Signal(str, float, float)
    channelChanged = QtCore.Signal(int)
    viewResized = QtCore.Signal()
    rangeChangedManually = QtCore.Signal()

    # the picture's parts (see PanelPicture), made on first use
    graphics = Part[pg.GraphicsLayoutWidget]()
    view = Part[pg.ViewBox]()
    item = Part[pg.ImageItem]()
    values = Part[ValueLabels]()
    tile_labels = Part[TileLabels]()
    marks = Part[PixelMarks]()
    pending_label = Part[QtWidgets.QLabel]()
    levels = Part[LevelsBar]()
    histogram = Part[pg.HistogramLUTItem]()
    levels_view = Part[QtWidgets.QGraphicsView]()

    def __init__(self, name: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        spec = registry.panel(name)
        title, subtitle, self.kind = spec.title, spec.text, spec.display
        self.description = subtitle
        self.data: np.ndarray | None = None
        self.spec: DisplaySpec | None = None
        self._updating = False
        self._roomy = True  # wide and high enough for the description (see resizeEvent)
        self._picture: PanelPicture | None = None
        self._fold_timer = make_timer(self, 0, single_shot=True)
        self._fold_timer.timeout.connect(self._fold)
        self.setObjectName(f"panel_{name}")
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self._build_header()
        self._lay_out()
        self.set_title(title)
        self.subtitle_label.setText(subtitle)
        self.setToolTip(subtitle)

    def _build_header(self) -> None:
        # wraps, and elides what still does not fit beside the channel box (never cut)
        self.title_label = FittingTitle()
        self.subtitle_label = QtWidgets.QLabel()
        self.subtitle_label.setObjectName("subtitle")
        self.subtitle_label.setWordWrap(True)
        self.channel_box = QtWidgets.QSpinBox()
        self.channel_box.setPrefix("channel ")
        self.channel_box.setToolTip("Which output channel of y to draw (three: or all as RGB)")
        self.channel_box.setVisible(False)
        self.channel_box.valueChanged.connect(self.channelChanged)

    def _lay_out(self) -> None:
        # the title row and the subtitle in one block, so that the panels of a row can
        # give theirs one height and their images start on one line
        self.head = QtWidgets.QWidget()
        header = QtWidgets.QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.channel_box, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
        self.header = header
        head = QtWidgets.QVBoxLayout(self.head)
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(2)
        head.addLayout(header)
        head.addWidget(self.subtitle_label)
        head.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addWidget(self.head)
        self._body = QtWidgets.QHBoxLayout()  # the picture, once made
        self._body.setContentsMargins(0, 0, 0, 0)
        self._body.setSpacing(0)
        layout.addLayout(self._body, 1)

    # -- picture ---------------------------------------------------------------------------
    @property
    def picture(self) -> PanelPicture:
        """The image, what is drawn over it and the levels bar (made now if not yet)."""
        if self._picture is None:
            self._picture = self._make_picture()
        return self._picture

    def make_picture(self) -> None:
        """Make the picture now, if not yet (a panel shown at start: its layout then
        has the picture's sizes before the window is first laid out)."""
        if self._picture is None:
            self._picture = self._make_picture()

    @property
    def has_picture(self) -> bool:
        """Whether the picture is made (a panel never shown nor drawn has none yet)."""
        return self._picture is not None

    def _make_picture(self) -> PanelPicture:
        picture = PanelPicture(self)
        view, scene = picture.view, picture.graphics.scene()
        view.sigResized.connect(lambda *_: self._place_pending())
        view.sigResized.connect(self.viewResized)
        view.sigRangeChangedManually.connect(self.rangeChangedManually)
        picture.histogram.sigLevelsChanged.connect(self._on_levels_changed)
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self._body.addWidget(picture.graphics, 1)
        self._body.addWidget(picture.levels_view)
        # Tab goes from the channel box to the picture, as if made with the panel
        QtWidgets.QWidget.setTabOrder(self.channel_box, picture.graphics)
        QtWidgets.QWidget.setTabOrder(picture.graphics, picture.levels_view)
        return picture

    def setVisible(self, visible: bool) -> None:
        """Shown (explicitly, or with its parent): the picture is made first, so the
        layout places it before the panel is painted."""
        if visible:
            self.make_picture()
        super().setVisible(visible)

    # -- content ---------------------------------------------------------------------------
    def set_title(self, title: str, subtitle: str | None = None) -> None:
        """Set the bold title (the shape is appended) and optionally the description."""
        self._title = title
        if subtitle is not None:
            self.description = subtitle
            self.setToolTip(subtitle)
        self._refresh_title()

    def _refresh_title(self) -> None:
        shape = "" if self.data is None else _shape_text(self.data.shape)
        self.title_label.set_parts(self._title, shape)
        place_beside(self.header, self.title_label, self.channel_box, self.head.width())

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the array shown, or None."""
        return None if self.data is None else tuple(self.data.shape)

    @property
    def title_text(self) -> str:
        """The title as plain text (with the shape)."""
        shape = "" if self.data is None else "  " + _shape_text(self.data.shape)
        return self._title + shape

    @property
    def pending(self) -> str | None:
        """The placeholder text while this panel's method computes, else None."""
        if self._picture is None:
            return None
        label = self._picture.pending_label
        return label.text() if not label.isHidden() else None

    def set_pending(self, text: str | None) -> None:
        """Mark the panel as computing (``text`` over the previous image, dimmed: stale),
        or, with None, as showing its own result again."""
        if text is None and self._picture is None:
            return  # nothing drawn, nothing dimmed
        if text is None:
            self.pending_label.hide()
            self.item.setOpacity(1.0)
            self.tile_labels.set_opacity(1.0)
            return
        self.pending_label.setText(text)
        self.item.setOpacity(0.3)
        self.tile_labels.set_opacity(0.3)  # the labels of a stale montage are stale too
        self.pending_label.show()
        self._place_pending()

    def _place_pending(self) -> None:
        area = self.graphics.rect()
        width = max(min(area.width() - 16, 320), 40)
        self.pending_label.setFixedWidth(width)
        self.pending_label.adjustSize()
        self.pending_label.move(
            (area.width() - width) // 2, (area.height() - self.pending_label.height()) // 2
        )

    def show_array(self, data: np.ndarray, spec: DisplaySpec) -> None:
        """Draw ``data`` (kept for the cursor read-out) as described by ``spec``."""
        self.set_pending(None)
        shown = self.spec.image.shape[:2] if self.spec is not None else None
        reset_view = self.data is None or shown != spec.image.shape[:2]
        self.data = data
        self.spec = spec
        self._updating = True
        try:
            if spec.colormap == "rgb":
                self.histogram.gradient.setVisible(False)
                self.item.setLookupTable(None)
            else:
                self.histogram.gradient.setVisible(True)
                self.histogram.gradient.setColorMap(pg_colormap(spec.colormap))
            self.item.setImage(spec.image, autoLevels=False, levels=spec.levels)
            self.histogram.setLevels(*spec.levels)
        finally:
            self._updating = False
        self._show_subtitle()
        self._refresh_title()
        self.values.draw(data)
        self.tile_labels.draw(spec.tiles, data.shape[:2])
        if reset_view:
            self.fit()
            self._fold_timer.start(0)  # the levels bar suits the picture's shape

    def set_compact(self, compact: bool) -> None:
        """Compact: the subtitle shows only the scaling note (the description stays a tooltip)."""
        self.compact = bool(compact)
        self._show_subtitle()

    def _show_subtitle(self) -> None:
        # rich text: escape the notes ("blue < 0 < red" would otherwise open a tag)
        note = "" if self.spec is None else f"<i>{html.escape(self.spec.note)}</i>"
        description = html.escape(self.description)
        if getattr(self, "compact", False) or not self._roomy:
            self.subtitle_label.setText(note)
        else:
            self.subtitle_label.setText(f"{description}<br>{note}" if note else description)

    def set_levels(self, low: float, high: float) -> None:
        """Set the levels without emitting :attr:`levelsEdited`."""
        self._updating = True
        try:
            self.histogram.setLevels(low, high)
        finally:
            self._updating = False

    def clear(self) -> None:
        """Forget the data (the panel keeps its title)."""
        self.set_pending(None)
        self.data = None
        if self._picture is None:  # never drawn: nothing to forget
            self._refresh_title()
            return
        self.item.clear()
        self.values.draw(None)
        self.tile_labels.draw((), None)
        self._refresh_title()

    def fit(self) -> None:
        """Show the whole image, letterboxed, whatever the view's size (now and later)."""
        if self.data is not None:
            h, w = (self.data if self.spec is None else self.spec.image).shape[:2]
            # the view keeps this target through resizes (aspect locked: it letterboxes)
            self.view.setRange(QtCore.QRectF(0, 0, w, h), padding=FIT_PADDING)

    def head_height(self) -> int:
        """The height the title and subtitle need at the panel's present width."""
        layout = self.head.layout()
        width = self.head.width()
        if layout is not None and layout.hasHeightForWidth() and width > 0:
            return int(layout.heightForWidth(width))
        return int(self.head.sizeHint().height())

    def set_head_height(self, height: int) -> None:
        """Give the title block at least ``height`` pixels (the tallest of its row)."""
        if self.head.minimumHeight() != height:
            self.head.setMinimumHeight(height)
            self.update()  # the strip the image view leaves is painted anew, not kept

    def view_size(self) -> tuple[float, float]:
        """The image view's size on screen: ``(width, height)`` pixels."""
        size = self.view.size()
        return float(size.width()), float(size.height())

    def show_range(self, x0: float, x1: float, y0: float, y1: float) -> None:
        """Show ``[x0, x1] × [y0, y1]`` (image pixels), as a linked zoom asks."""
        self.view.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)

    def resizeEvent(self, event: QtGui.QResizeEvent | None) -> None:
        """A narrow panel's levels bar is slim, or hidden, so the image gets its room."""
        super().resizeEvent(event)
        self._fold()
        # ... and again once the layout pass is over: a switch of layout passes the panel
        # through sizes it does not keep, and the histogram must follow the last one
        self._fold_timer.start(0)

    def _fold(self) -> None:
        place_beside(self.header, self.title_label, self.channel_box, self.head.width())
        if self._picture is not None:
            margins = self.layout().contentsMargins()  # type: ignore[union-attr]
            room = (self.width() - margins.left() - margins.right(), self.graphics.height())
            self.levels.follow(room, None if self.spec is None else self.spec.image.shape[:2])
        # ... and the description (its tooltip stays) when the panel is small
        roomy = self.width() >= _DESCRIPTION_MIN_PANEL_SIZE[0]
        roomy = roomy and self.height() >= _DESCRIPTION_MIN_PANEL_SIZE[1]
        if roomy != self._roomy:
            self._roomy = roomy
            self._show_subtitle()

    # -- events ----------------------------------------------------------------------------
    def _on_levels_changed(self) -> None:
        if not self._updating and self.data is not None:
            low, high = self.histogram.getLevels()
            self.levelsEdited.emit(self.name, float(low), float(high))

    def pixel_at(self, scene_pos: QtCore.QPointF) -> tuple[int, int] | None:
        """The ``(row, col)`` of the array's pixel at a scene position, or None."""
        hit = self.hit_at(scene_pos)
        return None if hit is None else (hit[0], hit[1])

    def hit_at(self, scene_pos: QtCore.QPointF) -> tuple[int, int, int] | None:
        """The ``(row, col, channel)`` of the array's pixel at a scene position (in a
        montage, the tile's; channel -1 otherwise), or None."""
        if self.data is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view.mapSceneToView(scene_pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        tiles = () if self.spec is None else self.spec.tiles
        return picture_pixel(row, col, self.data.shape[:2], tiles)

    def _on_mouse_clicked(self, event: object) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        pixel = self.pixel_at(event.scenePos())  # type: ignore[attr-defined]
        if pixel is not None:
            self.clicked.emit(self.name, *pixel)

    # -- marks (click to inspect) --------------------------------------------------------
    def clear_marks(self) -> None:
        """Remove the inspection marks (none on a panel not drawn yet)."""
        if self._picture is not None:
            self._picture.marks.clear()

    @property
    def overlay_items(self) -> list[QtWidgets.QGraphicsItem]:
        """The inspection markers drawn now."""
        return self.marks.items

    @property
    def overlay_pixels(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(rows, cols)`` of the pixels marked, or None."""
        return self.marks.pixels

    def _on_mouse_moved(self, pos: QtCore.QPointF) -> None:
        row, col, channel = self.hit_at(pos) or (-1, -1, -1)
        self.hovered.emit(self.name, row, col, channel)
