"""The image panels: input, forward output, transposed, normalised transposed, pseudo-inverse.

Each :class:`ImagePanel` is a title with the array's shape, a one-line subtitle that
says what the panel is and how its colours map to values, a pyqtgraph ``ImageItem`` in
an aspect-locked ``ViewBox``, and a ``HistogramLUTItem`` for the levels.
:class:`PanelGrid` arranges them in a 2×2 grid or one row, links the zoom and pan of
the image-sized panels, and keeps levels shared on request.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtCore, QtGui, QtWidgets

from ...core import Result, registry
from ...view.colormaps import colormap_anchors
from ...view.display import DisplaySpec, data_range, display_spec, fmt

__all__ = ["INSIGHT_PANELS", "PANEL_NAMES", "ImagePanel", "PanelGrid"]

#: Panel names, in reading order (from the registry).
PANEL_NAMES: tuple[str, ...] = registry.PANEL_NAMES
#: The "lost information" panels, drawn in a third row when computed.
INSIGHT_PANELS: tuple[str, ...] = tuple(
    p.name for p in registry.PANELS if p.method in registry.INSIGHT_METHODS
)
_RECONSTRUCTION_PANELS = tuple(p.name for p in registry.PANELS if p.method in registry.METHODS)
# panels not in image units: never drawn with the shared levels
_OWN_LEVELS = tuple(p.name for p in registry.PANELS if p.own_levels)
# panels whose zoom and pan follow the input's
_LINKED = tuple(p.name for p in registry.PANELS if p.linked and p.name != "input")
_TIKHONOV = (
    "Tikhonov  (AᵀA + λI)⁻¹Aᵀ(y − b)",
    "regularised least squares with λ = {reg}: trades exactness for stability",
)
_ANNOTATE_LIMIT = 144  # draw the values on the pixels of images with at most this many pixels


#: Width of each panel's level histogram, and the panel width below which it is folded
#: away (one-row layout on a laptop screen): the image needs the room more.
_HISTOGRAM_WIDTH = 90
_HISTOGRAM_MIN_PANEL_WIDTH = 360


def _colormap(name: str) -> pg.ColorMap:
    """The view layer's colormap ``name`` as a pyqtgraph colormap (the PNG export's colours)."""
    return pg.ColorMap(*colormap_anchors(name))


def _signed_spec(data: np.ndarray) -> DisplaySpec:
    """Symmetric levels ``±m`` so that 0 is white (one channel) or mid-grey (RGB)."""
    array = data if data.ndim == 3 else data[:, :, np.newaxis]
    image = array[:, :, 0] if array.shape[2] == 1 else array[:, :, :3]
    low, high = data_range(image)
    m = max(abs(low), abs(high)) or 1.0
    values = f"values {fmt(low)} … {fmt(high)}"
    if image.ndim == 2:
        return DisplaySpec(image, (-m, m), "diverging", f"blue < 0 < red, ±{fmt(m)} ({values})")
    return DisplaySpec(image, (-m, m), "rgb", f"0 = mid-grey, ±{fmt(m)} per channel ({values})")


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


class ImagePanel(QtWidgets.QFrame):
    """One labelled image view with its own levels histogram.

    Signals
    -------
    hovered(str, int, int)
        Panel name, row and column of the pixel under the cursor (``-1, -1`` when the
        cursor leaves the image).
    levelsEdited(str, float, float)
        The user dragged the levels of this panel.
    channelChanged(int)
        The user picked another channel to draw (several output channels).
    clicked(str, int, int)
        Panel name, row and column of a left click on the image.
    """

    hovered = QtCore.pyqtSignal(str, int, int)
    clicked = QtCore.pyqtSignal(str, int, int)
    levelsEdited = QtCore.pyqtSignal(str, float, float)
    channelChanged = QtCore.pyqtSignal(int)

    def __init__(self, name: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        spec = registry.panel(name)
        title, subtitle, self.kind = spec.title, spec.text, spec.display
        self.description = subtitle
        self.data: np.ndarray | None = None
        self.spec: DisplaySpec | None = None
        self._updating = False
        self._labels: list[pg.TextItem] = []
        self.overlay_items: list[QtWidgets.QGraphicsItem] = []
        self.overlay_pixels: tuple[np.ndarray, np.ndarray] | None = None
        self.setObjectName(f"panel_{name}")
        self.setFrameShape(QtWidgets.QFrame.StyledPanel)

        self.title_label = QtWidgets.QLabel()
        self.title_label.setTextFormat(QtCore.Qt.RichText)
        # a long title must not set the window's minimum width (one-row or three-column
        # layout on a laptop): it wraps onto a second line instead of being cut
        self.title_label.setWordWrap(True)
        self.title_label.setSizePolicy(
            QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Preferred
        )
        # ... without raising the panel's minimum height to that of the narrowest wrap
        self.title_label.setMinimumHeight(self.title_label.fontMetrics().lineSpacing() + 2)
        self.subtitle_label = QtWidgets.QLabel()
        self.subtitle_label.setObjectName("subtitle")
        self.subtitle_label.setWordWrap(True)
        self.channel_box = QtWidgets.QSpinBox()
        self.channel_box.setPrefix("channel ")
        self.channel_box.setToolTip("Which output channel of y to draw")
        self.channel_box.setVisible(False)
        self.channel_box.valueChanged.connect(self.channelChanged)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#15171a")
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.view = self.graphics.addViewBox(row=0, col=0, lockAspect=True, invertY=True)
        self.view.setMenuEnabled(False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.item)
        self.view.sigRangeChanged.connect(lambda *_: self._update_label_visibility())
        self.view.sigResized.connect(lambda *_: self._update_label_visibility())
        self.histogram = pg.HistogramLUTItem(image=self.item)
        self.histogram.setMaximumWidth(_HISTOGRAM_WIDTH)
        self.graphics.addItem(self.histogram, row=0, col=1)
        self.histogram.sigLevelsChanged.connect(self._on_levels_changed)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.graphics.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.graphics.setToolTip(
            "Scroll to zoom, drag to pan, F to fit. Drag the histogram handles on the "
            "right to change the levels."
        )

        header = QtWidgets.QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.channel_box)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.subtitle_label)
        layout.addWidget(self.graphics, 1)
        self.set_title(title)
        self.subtitle_label.setText(subtitle)
        self.setToolTip(subtitle)

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
        self.title_label.setText(
            f"<b>{html.escape(self._title)}</b>&nbsp;&nbsp;"
            f"<span style='color:#8fb3ff'>{shape}</span>"
        )

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the array shown, or None."""
        return None if self.data is None else tuple(self.data.shape)

    @property
    def title_text(self) -> str:
        """The title as plain text (with the shape)."""
        shape = "" if self.data is None else "  " + _shape_text(self.data.shape)
        return self._title + shape

    def show_array(self, data: np.ndarray, spec: DisplaySpec) -> None:
        """Draw ``data`` (kept for the cursor read-out) as described by ``spec``."""
        reset_view = self.data is None or self.data.shape[:2] != data.shape[:2]
        self.data = data
        self.spec = spec
        self._updating = True
        try:
            if spec.colormap == "rgb":
                self.histogram.gradient.setVisible(False)
                self.item.setLookupTable(None)
            else:
                self.histogram.gradient.setVisible(True)
                self.histogram.gradient.setColorMap(_colormap(spec.colormap))
            self.item.setImage(spec.image, autoLevels=False, levels=spec.levels)
            self.histogram.setLevels(*spec.levels)
        finally:
            self._updating = False
        self._show_subtitle()
        self._refresh_title()
        self._annotate(data)
        if reset_view:
            self.fit()

    def set_compact(self, compact: bool) -> None:
        """Compact: the subtitle shows only the scaling note (the description stays a tooltip)."""
        self.compact = bool(compact)
        self._show_subtitle()

    def _show_subtitle(self) -> None:
        # rich text: escape the notes ("blue < 0 < red" would otherwise open a tag)
        note = "" if self.spec is None else f"<i>{html.escape(self.spec.note)}</i>"
        description = html.escape(self.description)
        if getattr(self, "compact", False):
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
        self.data = None
        self.item.clear()
        self._annotate(None)
        self._refresh_title()

    def fit(self) -> None:
        """Zoom to show the whole image."""
        if self.data is not None:
            self.view.autoRange(padding=0.02)

    def value_at(self, row: int, col: int) -> np.ndarray | None:
        """The channel values at ``(row, col)``, or None outside the image."""
        if self.data is None:
            return None
        h, w = self.data.shape[:2]
        if not (0 <= row < h and 0 <= col < w):
            return None
        return np.asarray(self.data[row, col])

    def _annotate(self, data: np.ndarray | None) -> None:
        for label in self._labels:
            self.view.removeItem(label)
        self._labels = []
        if data is None or data.shape[0] * data.shape[1] > _ANNOTATE_LIMIT:
            return
        channels = data.shape[2] if data.ndim == 3 else 1
        if channels > 3:
            return
        for row in range(data.shape[0]):
            for col in range(data.shape[1]):
                values = np.atleast_1d(data[row, col])
                text = "\n".join(fmt(round(float(v), 2)) for v in values)
                label = pg.TextItem(text, color="w", anchor=(0.5, 0.5), fill=(0, 0, 0, 150))
                label.setFont(self._label_font(channels))
                label.setPos(col + 0.5, row + 0.5)
                self.view.addItem(label)
                self._labels.append(label)
        self._update_label_visibility()

    @staticmethod
    def _label_font(lines: int) -> QtGui.QFont:
        font = QtGui.QFont()
        font.setPointSize(8 if lines == 1 else 7)
        return font

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        """Fold the level histogram away in narrow panels, so the image keeps the room."""
        super().resizeEvent(event)
        show = event.size().width() >= _HISTOGRAM_MIN_PANEL_WIDTH
        if show != self.histogram.isVisible():
            self.histogram.setVisible(show)
            self.graphics.ci.layout.setColumnMaximumWidth(1, _HISTOGRAM_WIDTH if show else 0)

    def _update_label_visibility(self) -> None:
        """Show the value labels only while a data pixel is large enough on screen."""
        if not self._labels or self.data is None:
            return
        size = self.view.viewPixelSize()[1]  # data units per screen pixel
        lines = self.data.shape[2] if self.data.ndim == 3 else 1
        visible = size > 0 and 1.0 / size >= 13 * lines + 4
        for label in self._labels:
            label.setVisible(visible)

    # -- events ----------------------------------------------------------------------------
    def _on_levels_changed(self) -> None:
        if not self._updating and self.data is not None:
            low, high = self.histogram.getLevels()
            self.levelsEdited.emit(self.name, float(low), float(high))

    def pixel_at(self, scene_pos: QtCore.QPointF) -> tuple[int, int] | None:
        """The ``(row, col)`` of the image pixel at a scene position, or None."""
        if self.data is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view.mapSceneToView(scene_pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        h, w = self.data.shape[:2]
        return (row, col) if 0 <= row < h and 0 <= col < w else None

    def _on_mouse_clicked(self, event: object) -> None:
        if event.button() != QtCore.Qt.LeftButton:  # type: ignore[attr-defined]
            return
        pixel = self.pixel_at(event.scenePos())  # type: ignore[attr-defined]
        if pixel is not None:
            self.clicked.emit(self.name, *pixel)

    # -- overlay (click to inspect) --------------------------------------------------------
    def set_overlay(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        *,
        labels: list[str] | None = None,
        color: str = "#ffd54a",
        outline: bool = True,
    ) -> None:
        """Mark pixels ``(rows[k], cols[k])`` with squares (and ``labels[k]`` in them).

        A rectangle around all of them stays visible when the pixels are too small to
        see at the current zoom.
        """
        self.clear_overlay()
        rows, cols = np.asarray(rows, dtype=float), np.asarray(cols, dtype=float)
        self.overlay_pixels = (rows.astype(int), cols.astype(int))
        if rows.size == 0:
            return
        pen = pg.mkPen(color, width=2)
        pen.setCosmetic(True)
        squares = pg.ScatterPlotItem(
            x=cols + 0.5,
            y=rows + 0.5,
            symbol="s",
            size=0.92,
            pxMode=False,
            pen=pen,
            brush=pg.mkBrush(255, 213, 74, 50),
        )
        items: list[QtWidgets.QGraphicsItem] = [squares]
        if outline:
            box = QtWidgets.QGraphicsRectItem(
                cols.min() - 0.5, rows.min() - 0.5, np.ptp(cols) + 2, np.ptp(rows) + 2
            )
            dashed = pg.mkPen(color, width=1, style=QtCore.Qt.DashLine)
            dashed.setCosmetic(True)
            box.setPen(dashed)
            items.append(box)
        for k, text in enumerate(labels or []):
            label = pg.TextItem(text, color=color, anchor=(0.5, 0.5), fill=(0, 0, 0, 170))
            label.setPos(cols[k] + 0.5, rows[k] + 0.5)
            items.append(label)
        for item in items:
            item.setZValue(20)
            self.view.addItem(item)
        self.overlay_items = items

    def clear_overlay(self) -> None:
        """Remove the inspection markers."""
        for item in self.overlay_items:
            self.view.removeItem(item)
        self.overlay_items = []
        self.overlay_pixels = None

    def _on_mouse_moved(self, pos: QtCore.QPointF) -> None:
        if self.data is None or not self.view.sceneBoundingRect().contains(pos):
            self.hovered.emit(self.name, -1, -1)
            return
        point = self.view.mapSceneToView(pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        h, w = self.data.shape[:2]
        if 0 <= row < h and 0 <= col < w:
            self.hovered.emit(self.name, row, col)
        else:
            self.hovered.emit(self.name, -1, -1)


class PanelGrid(QtWidgets.QWidget):
    """All panels, arranged in a grid or a row, with linked views and optional shared levels.

    Signals
    -------
    hovered(str, int, int)
        Forwarded from the panels.
    clicked(str, int, int)
        Forwarded from the panels (left click on a pixel).
    """

    hovered = QtCore.pyqtSignal(str, int, int)
    clicked = QtCore.pyqtSignal(str, int, int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels: dict[str, ImagePanel] = {name: ImagePanel(name, self) for name in PANEL_NAMES}
        self.layout_mode = "grid"
        self.scaling = "clip"
        self.shared_levels = False
        self.result: Result | None = None
        #: True until the user zooms or pans: the panels then refit whenever their size
        #: or their image's shape changes (launch, window resize, maximise, layout switch)
        self.auto_fit = True
        # a child timer dies with the grid: never fires on a deleted widget
        self._fit_timer = QtCore.QTimer(self, singleShot=True, interval=0)
        self._fit_timer.timeout.connect(self._refit)
        self._grid = QtWidgets.QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        base = self.panels["input"].view
        for name in _LINKED:
            self.panels[name].view.setXLink(base)
            self.panels[name].view.setYLink(base)
        for panel in self.panels.values():
            panel.hovered.connect(self.hovered)
            panel.clicked.connect(self.clicked)
            panel.levelsEdited.connect(self._on_levels_edited)
            panel.view.sigResized.connect(self._schedule_refit)
            panel.view.sigRangeChangedManually.connect(self._on_manual_range)
        self.panels["forward"].channelChanged.connect(lambda _: self.redraw())
        for name in ("normalized_transposed", *INSIGHT_PANELS):
            self.panels[name].setVisible(False)
        self._arrange()

    def panel(self, name: str) -> ImagePanel:
        """The panel called ``name`` (one of :data:`PANEL_NAMES`)."""
        return self.panels[name]

    def visible_names(self) -> list[str]:
        """Names of the panels shown, in reading order."""
        return [name for name in PANEL_NAMES if not self.panels[name].isHidden()]

    @property
    def forward_channel(self) -> int:
        """The output channel drawn in the forward panel."""
        return self.panels["forward"].channel_box.value()

    # -- arrangement -----------------------------------------------------------------------
    def set_layout_mode(self, mode: str) -> None:
        """``"grid"`` (input and forward on top, reconstructions below) or ``"row"``."""
        if mode not in ("grid", "row"):
            raise ValueError(f"layout mode must be 'grid' or 'row', got {mode!r}")
        self.layout_mode = mode
        self._arrange()
        self._schedule_refit()  # linked views: refit once the panels have their new sizes

    def _arrange(self) -> None:
        for panel in self.panels.values():
            self._grid.removeWidget(panel)
        for i in range(self._grid.columnCount()):
            self._grid.setColumnStretch(i, 0)
        for i in range(self._grid.rowCount()):
            self._grid.setRowStretch(i, 0)
        names = self.visible_names()
        if self.layout_mode == "row":
            for col, name in enumerate(names):
                self._grid.addWidget(self.panels[name], 0, col)
                self._grid.setColumnStretch(col, 1)
            self._grid.setRowStretch(0, 1)
            return
        recon = [n for n in names if n in _RECONSTRUCTION_PANELS]
        insight = [n for n in names if n in INSIGHT_PANELS]
        columns = max(2, len(recon), len(insight))
        self._grid.addWidget(self.panels["input"], 0, 0)
        self._grid.addWidget(self.panels["forward"], 0, 1, 1, columns - 1)
        for row, group in ((1, recon), (2, insight)):
            for col, name in enumerate(group):
                self._grid.addWidget(self.panels[name], row, col)
        for col in range(columns):
            self._grid.setColumnStretch(col, 1)
        self._grid.setRowStretch(0, 1)
        self._grid.setRowStretch(1, 1 if recon else 0)
        self._grid.setRowStretch(2, 1 if insight else 0)

    # -- drawing ---------------------------------------------------------------------------
    def set_scaling(self, scaling: str) -> None:
        """``"clip"`` or ``"auto"`` (see :func:`~deconv_gui.view.display.display_spec`)."""
        self.scaling = scaling
        self.redraw()

    def set_shared_levels(self, shared: bool) -> None:
        """Use the input's levels for every image-sized panel (and keep them in step)."""
        self.shared_levels = bool(shared)
        self.redraw()

    def show_result(self, result: Result) -> None:
        """Draw every array of ``result`` now; panels without data are hidden."""
        for _name in self.draw_steps(result):
            pass

    def draw_steps(self, result: Result) -> Iterator[str]:
        """Draw ``result`` one panel at a time, yielding each drawn panel's name.

        The window returns to the event loop between steps, so each panel is painted
        on its own and the loop never waits for all of them at once (each panel is a few
        milliseconds of GUI-thread work; five in a row held the loop for 40 ms). Until
        the generator is exhausted, some panels still show the previous result.
        """
        previous, self.result = self.result, result
        if previous is None or previous.image.shape[:2] != result.image.shape[:2]:
            self.auto_fit = True  # a new image: the old zoom means nothing for it
        c_out = result.forward_output.shape[2]
        box = self.panels["forward"].channel_box
        box.blockSignals(True)
        box.setRange(0, c_out - 1)
        box.blockSignals(False)
        box.setVisible(c_out > 1)
        reg = result.params.reg
        if reg > 0:
            self.panels["pinv"].set_title(_TIKHONOV[0], _TIKHONOV[1].format(reg=fmt(reg)))
        else:
            pinv = registry.panel("pinv")
            self.panels["pinv"].set_title(pinv.title, pinv.text)
        split = result.metrics.split
        for name in ("nullspace", "recoverable"):
            title = registry.panel(name).title
            if split is not None:
                fraction = (
                    split.lost_fraction if name == "nullspace" else split.recoverable_fraction
                )
                title += f"  ·  {100 * fraction:.1f} % of ‖x‖"
            self.panels[name].set_title(title)
        before = self.visible_names()
        for name in (*_RECONSTRUCTION_PANELS, *INSIGHT_PANELS):
            self.panels[name].setVisible(getattr(result, name) is not None)
        changed = self.visible_names() != before
        if changed:
            compact = any(not self.panels[n].isHidden() for n in INSIGHT_PANELS)
            for panel in self.panels.values():
                panel.set_compact(compact)
            self._arrange()
        reference = data_range(result.image)
        for name in PANEL_NAMES:
            if self._draw_panel(name, result, reference):
                yield name
        if changed:  # linked views: refit once the new layout has its sizes
            self._refit()
            self._schedule_refit()

    def redraw(self) -> None:
        """Draw the current result again with the current scaling and levels settings."""
        result = self.result
        if result is None:
            return
        reference = data_range(result.image)
        for name in PANEL_NAMES:
            self._draw_panel(name, result, reference)

    def _draw_panel(self, name: str, result: Result, reference: tuple[float, float]) -> bool:
        """Draw ``name``'s array of ``result`` (or clear the panel); True if it was drawn."""
        panel = self.panels[name]
        data = getattr(result, registry.panel(name).attribute, None)
        if data is None:
            panel.clear()
            return False
        if panel.kind == "signed":
            panel.show_array(data, _signed_spec(data))
            return True
        shared = reference if self.shared_levels else None
        spec = display_spec(
            data,
            panel.kind,
            scaling=self.scaling,
            reference_range=reference,
            shared_levels=shared if name not in _OWN_LEVELS else None,
            channel=self.forward_channel,
        )
        panel.show_array(data, spec)
        return True

    def stop_timers(self) -> None:
        """Stop the pending refit (the window is closing)."""
        self._fit_timer.stop()

    def fit_all(self) -> None:
        """Zoom every panel to show its whole image, and keep them fitted (F)."""
        self.auto_fit = True
        self._refit()

    def _refit(self) -> None:
        if not self.auto_fit:
            return
        for panel in self.panels.values():
            if not panel.isHidden():
                panel.fit()

    def _schedule_refit(self, *_args: object) -> None:
        # once per event-loop pass, after every panel of a layout change has its size
        if self.auto_fit:
            self._fit_timer.start(0)

    def _on_manual_range(self, *_args: object) -> None:
        """The user zoomed or panned: stop refitting until F (or a new image shape)."""
        self.auto_fit = False

    def _on_levels_edited(self, name: str, low: float, high: float) -> None:
        if not self.shared_levels or name in _OWN_LEVELS:
            return
        for other, panel in self.panels.items():
            if other != name and other not in _OWN_LEVELS and panel.data is not None:
                panel.set_levels(low, high)
