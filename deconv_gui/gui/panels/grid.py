"""The grid of image panels: input, forward output, the reconstructions, the lost information.

:class:`PanelGrid` makes one :class:`~.image_panel.ImagePanel` per panel of the
registry, arranges them in a 2×2 grid or one row (wrapped when too narrow), links the
zoom and pan of the image-sized panels, keeps levels shared on request, and draws a
:class:`~deconv_gui.core.Result` panel by panel with the display rules of
:mod:`deconv_gui.view.display`.
"""

from __future__ import annotations

from collections.abc import Iterator

from qtpy import QtCore, QtWidgets

from ...core import Result, registry
from ...view.display import data_range, display_spec, filter_is_signed
from ...view.linking import (
    IDENTITY,
    PanelMap,
    Zoom,
    forward_map,
    proportional_map,
    view_range,
    zoom_of,
)
from ..support.qthelp import make_timer, signals_blocked
from .arranged import PANEL_FRAME, ArrangedPanels, place_panels
from .image_panel import ImagePanel
from .title import result_titles

__all__ = ["INSIGHT_PANELS", "PANEL_FRAME", "PANEL_NAMES", "PanelGrid", "place_panels"]

#: Panel names, in reading order (from the registry).
PANEL_NAMES: tuple[str, ...] = registry.PANEL_NAMES
#: The "lost information" panels, drawn in a third row when computed.
INSIGHT_PANELS: tuple[str, ...] = tuple(
    p.name for p in registry.PANELS if p.method in registry.INSIGHT_METHODS
)
_RECONSTRUCTION_PANELS = tuple(p.name for p in registry.PANELS if p.method in registry.METHODS)
# panels not in image units: never drawn with the shared levels
_OWN_LEVELS = tuple(p.name for p in registry.PANELS if p.own_levels)


#: Up to this many output channels the forward panel has its channel box; more (a deep
#: layer) are a montage of the channels picked in the filter editor.
MAX_BOX_CHANNELS = 8


def _pending(result: Result, name: str) -> bool:
    """Panel ``name``'s method is still computing (a partial result); the split's
    "invented" panel only when a prior is computed too."""
    if registry.panel(name).method not in result.pending:
        return False
    return name != "invented" or any(p in result.params.methods for p in registry.PRIORS)


class PanelGrid(ArrangedPanels):
    """All panels, arranged in a grid or a row, with linked views and optional shared levels.

    Signals
    -------
    hovered(str, int, int, int)
        Forwarded from the panels.
    clicked(str, int, int)
        Forwarded from the panels (left click on a pixel).
    arranged(str)
        The panels moved: what the user is told about it ("" unless one row wrapped).
    """

    hovered = QtCore.Signal(str, int, int, int)
    clicked = QtCore.Signal(str, int, int)
    reconstruction_panels = _RECONSTRUCTION_PANELS
    insight_panels = INSIGHT_PANELS

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels = {name: ImagePanel(name, self) for name in PANEL_NAMES}
        self.scaling = "clip"
        self.shared_levels = False
        self.result: Result | None = None
        #: the picked channels of a deep layer (image side, forward): drawn as montages
        self.tiles: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
        #: True until the user zooms or pans: the panels then refit whenever their size
        #: or their image's shape changes (launch, window resize, maximise, layout switch)
        self.auto_fit = True
        # a child timer dies with the grid: never fires on a deleted widget
        self._fit_timer = make_timer(self, 0, single_shot=True)
        self._fit_timer.timeout.connect(self._refit)
        #: what the user zoomed or panned to, shared by every panel (None: each fitted)
        self.zoom: Zoom | None = None
        for name, panel in self.panels.items():
            panel.hovered.connect(self.hovered)
            panel.clicked.connect(self.clicked)
            panel.levelsEdited.connect(self._on_levels_edited)
            panel.viewResized.connect(self._schedule_refit)
            panel.rangeChangedManually.connect(lambda name=name: self._on_manual_range(name))
        self.panels["forward"].channelChanged.connect(lambda _: self.redraw())
        for name in ("normalized_transposed", *INSIGHT_PANELS):
            self.panels[name].setVisible(False)
        # the panels shown at start have their pictures before the window's first layout
        # (its size on a small screen follows their minimum sizes); the hidden ones make
        # theirs when first shown
        for panel in self.panels.values():
            if not panel.isHidden():
                panel.make_picture()
        self._arrange()

    def panel(self, name: str) -> ImagePanel:
        """The panel called ``name`` (one of :data:`PANEL_NAMES`)."""
        return self.panels[name]

    def visible_names(self) -> list[str]:
        """Names of the panels shown, in reading order."""
        return [name for name in PANEL_NAMES if not self.panels[name].isHidden()]

    @property
    def forward_channel(self) -> int:
        """The output channel drawn in the forward panel (0 while three are drawn as RGB)."""
        return max(self.panels["forward"].channel_box.value(), 0)

    @property
    def forward_composite(self) -> bool:
        """Three output channels drawn together as RGB (the channel box's first entry)."""
        return self.panels["forward"].channel_box.value() < 0

    # -- arrangement -----------------------------------------------------------------------
    def arranged_names(self) -> list[str]:
        """The panels shown, in reading order (:meth:`visible_names`)."""
        return self.visible_names()

    def picture_shape(self) -> tuple[int, int]:
        """The shape of the input drawn, which decides between wide and tall cells."""
        return (1, 1) if self.result is None else self.result.image.shape[:2]

    def set_layout_mode(self, mode: str) -> None:
        """``"grid"`` (input and forward on top, reconstructions below) or ``"row"``."""
        super().set_layout_mode(mode)
        self._schedule_refit()  # linked views: refit once the panels have their new sizes

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
            self.zoom = None
        self._set_channel_choice(result.forward_output.shape[2], previous)
        for name, (title, text) in result_titles(result).items():
            self.panels[name].set_title(title, text)
        before = self.visible_names()
        for name in (*_RECONSTRUCTION_PANELS, *INSIGHT_PANELS):
            shown = getattr(result, name) is not None or _pending(result, name)
            self.panels[name].setVisible(shown)
        changed = self.visible_names() != before
        if changed:
            compact = any(not self.panels[n].isHidden() for n in INSIGHT_PANELS)
            for panel in self.panels.values():
                panel.set_compact(compact)
        self._arrange()  # the panels shown, or the picture's shape, may change their places
        reference = data_range(result.image)
        for name in PANEL_NAMES:
            if self._draw_panel(name, result, reference):
                yield name
        if changed:
            self._refit()
        # fitted (or at the user's zoom) once the layout has its sizes: a new shape of
        # the forward output or a panel shown or hidden moves the others too
        self._schedule_refit()

    def _set_channel_choice(self, c_out: int, previous: Result | None) -> None:
        """The forward panel's channel box: each channel, and all three as RGB for three."""
        box = self.panels["forward"].channel_box
        before = None if previous is None else previous.forward_output.shape[2]
        with signals_blocked(box):
            box.setRange(-1 if c_out == 3 else 0, c_out - 1)
            box.setSpecialValueText("all three (RGB)" if c_out == 3 else "")
            if c_out == 3 and before != 3:
                box.setValue(-1)  # the RGB picture first, as for an RGB image
        box.setVisible(1 < c_out <= MAX_BOX_CHANNELS)  # deep: the channel picker's montage

    def _channel_of(self, name: str, channels: int) -> int | None:
        """The one channel the panel draws (None: all, as RGB for three, or a montage of
        the picked channels of a deep layer's)."""
        if name != "forward" or self.forward_composite or channels > MAX_BOX_CHANNELS:
            return None
        return self.forward_channel

    def set_tiles(self, inputs: tuple[int, ...], outputs: tuple[int, ...]) -> None:
        """The channels of a deep layer drawn as montages: ``inputs`` in the image-side
        panels, ``outputs`` in the forward panel."""
        self.tiles = (tuple(inputs), tuple(outputs))
        self.redraw()

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
        data = result.panel(name)
        if data is None and _pending(result, name):
            panel.set_pending(panel.pending or "computing…")  # the previous image, dimmed
            return True
        if data is None:
            panel.clear()
            return False
        if panel.kind == "signed":
            panel.show_array(data, display_spec(data, "signed", reference_range=reference))
            return True
        shared = reference if self.shared_levels else None
        spec = display_spec(
            data,
            panel.kind,
            scaling=self.scaling,
            reference_range=reference,
            shared_levels=shared if name not in _OWN_LEVELS else None,
            channel=self._channel_of(name, data.shape[2]),
            signed_filter=filter_is_signed(result.params.weights),
            tiles=self.tiles[1 if name == "forward" else 0],
        )
        panel.show_array(data, spec)
        return True

    def show_progress(self, method: str, iteration: int, value: float) -> None:
        """Say in the placeholders of ``method``'s panels how far its solve is."""
        what = "change" if method in registry.PRIORS else "residual"
        text = f"computing…  (iteration {iteration}, {what} {value:.2e})"
        for spec in registry.PANELS:
            if (
                spec.method == method
                and self.result is not None
                and _pending(self.result, spec.name)
            ):
                self.panels[spec.name].set_pending(text)

    def stop_timers(self) -> None:
        """Stop the pending refit (the window is closing)."""
        self._fit_timer.stop()

    def fit_all(self) -> None:
        """Zoom every panel to show its whole image, and keep them fitted (F)."""
        self.auto_fit = True
        self.zoom = None
        self._refit()

    def _align_heads(self) -> None:
        """The panels of a row give their titles one height: their images start level."""
        rows: dict[int, list[ImagePanel]] = {}
        for panel in self.panels.values():
            index = self._grid.indexOf(panel)
            row = self._grid.getItemPosition(index)[0] if index >= 0 else None
            if row is not None and not panel.isHidden():
                rows.setdefault(row, []).append(panel)
        for panels in rows.values():
            height = max(panel.head_height() for panel in panels)
            for panel in panels:
                panel.set_head_height(height)

    def _refit(self) -> None:
        """Fit every panel, or show the user's zoom in every panel (after any change)."""
        self._align_heads()
        for name, panel in self.panels.items():
            if panel.isHidden() or panel.data is None:
                continue
            if self.auto_fit or self.zoom is None:
                panel.fit()
            else:
                self._show_zoom(name, self.zoom)

    def _schedule_refit(self, *_args: object) -> None:
        # once per event-loop pass, after every panel of a layout change has its size
        self._fit_timer.start(0)

    def _panel_map(self, name: str) -> PanelMap | None:
        """How ``name``'s pixels sit on the input's (the forward output: through the stride)."""
        panel, source = self.panels[name].data, self.panels["input"].data
        if panel is None or source is None:
            return None
        if panel.shape[:2] == source.shape[:2]:
            return IDENTITY
        geometry = None if self.result is None else self.result.geometry
        if name == "forward" and geometry is not None:
            filter_size = geometry.filter_shape[:2]
            return forward_map(geometry.stride, geometry.padding, geometry.dilation, filter_size)
        return proportional_map(panel.shape[:2], source.shape[:2])

    def _show_zoom(self, name: str, zoom: Zoom) -> None:
        """Show ``zoom`` in panel ``name`` (mapped onto its pixels, at its own size)."""
        panel = self.panels[name]
        panel_map = self._panel_map(name)
        if panel_map is not None and panel.data is not None:
            shape = panel.data.shape[:2]
            panel.show_range(*view_range(zoom, panel_map, shape, panel.view_size()))

    def _on_manual_range(self, name: str) -> None:
        """The user zoomed or panned ``name``: every other panel follows, until F."""
        panel = self.panels[name]
        panel_map = self._panel_map(name)
        if panel_map is None or panel.data is None:
            return
        self.auto_fit = False
        (x0, x1), (y0, y1) = panel.view.viewRange()
        shape = panel.data.shape[:2]
        self.zoom = zoom_of((x0, x1, y0, y1), panel_map, shape, panel.view_size())
        for other, follower in self.panels.items():
            if other != name and not follower.isHidden() and follower.data is not None:
                self._show_zoom(other, self.zoom)

    def _on_levels_edited(self, name: str, low: float, high: float) -> None:
        if not self.shared_levels or name in _OWN_LEVELS:
            return
        for other, panel in self.panels.items():
            if other != name and other not in _OWN_LEVELS and panel.data is not None:
                panel.set_levels(low, high)
