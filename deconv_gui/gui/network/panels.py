"""The panels of the "network up to here" mode: a :class:`~deconv_gui.core.network.PrefixResult`
side by side, and the effective receptive field of a clicked unit.

Eight :class:`~deconv_gui.gui.panels.image_panel.ImagePanel`, placed as the layer alone's
panels are (the View menu's grid or one row, by
:func:`~deconv_gui.view.arrangement.arrange_panels`: a wide image in a narrow window gets
more rows of fewer columns, a tall one more columns): the image as the model takes it,
``f(x₀)`` at the layer, ``Jᵀ``, the deconvnet, guided backprop, ``J⁺``, the null space,
and ``Jᵀ e_unit`` of the unit clicked in ``f(x₀)`` with its theoretical receptive field
drawn as a rectangle (on the input too). Titles say ``J`` where the single layer's say ``A``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtGui, QtWidgets

from ...core.network import PrefixResult
from ...view.display import display_spec
from ..panels.arranged import ArrangedPanels
from ..panels.image_panel import ImagePanel
from ..support.qthelp import signals_blocked

__all__ = ["ERF_PANEL", "NETWORK_PANELS", "NetworkPanels"]

#: The panels in reading order: (key, registry panel the look comes from, title, description).
NETWORK_PANELS: tuple[tuple[str, str, str, str], ...] = (
    ("input", "input", "Input x₀", "the image as the model's first layer takes it"),
    (
        "forward",
        "forward",
        "f(x₀)",
        "the layer's output at the image, before its activation "
        "(click a unit to see its receptive field)",
    ),
    (
        "transposed",
        "transposed",
        "Backprop Jᵀ",
        "Jᵀ(f(x₀) − c) = JᵀJ x₀: the features sent back through every layer, each ReLU by its "
        "forward mask (the gradient)",
    ),
    (
        "deconvnet",
        "deconvnet",
        "Deconvnet",
        "Zeiler & Fergus: f(x₀) sent back with each conv by its transpose and each ReLU applied "
        "to the signal (the question's deConv is one such step)",
    ),
    (
        "guided_backprop",
        "guided_backprop",
        "Guided backprop",
        "Springenberg et al.: the deconvnet's ReLU on the signal and the forward masks both",
    ),
    (
        "pinv",
        "pinv",
        "Pseudoinverse J⁺",
        "J⁺(f(x₀) − c) = J⁺J x₀: the minimum-norm image with the same features (locally)",
    ),
    (
        "nullspace",
        "nullspace",
        "Lost x₀ − J⁺Jx₀",
        "what the features at this layer cannot see: x₀'s part in J's null space",
    ),
    (
        "erf",
        "transposed",
        "Receptive field",
        "Jᵀ e_unit of the unit clicked in f(x₀): its gradient with respect to the input; the "
        "dashed box is its theoretical receptive field",
    ),
)
#: The key of the effective-receptive-field panel.
ERF_PANEL = "erf"
#: How each panel's array is drawn (the view layer's kinds).
_KINDS = {
    "input": "input",
    "forward": "forward",
    "transposed": "signed",
    "deconvnet": "signed",
    "guided_backprop": "signed",
    "pinv": "reconstruction",
    "nullspace": "signed",
    ERF_PANEL: "signed",
}
#: The grid's second and third rows: what comes back through ``J``, and what it loses.
_RECONSTRUCTIONS = ("transposed", "deconvnet", "guided_backprop", "pinv")
_INSIGHT = ("nullspace", ERF_PANEL)
_RECT_COLOUR = "#ffd54a"


class NetworkPanels(ArrangedPanels):
    """The prefix's panels; see the module.

    Signals
    -------
    unitClicked(int, int, int)
        Row, column and (shown) channel of a unit clicked in ``f(x₀)``.
    arranged(str)
        The panels moved: what the user is told about it ("" unless one row wrapped), as
        :class:`~deconv_gui.gui.panels.grid.PanelGrid` says it.
    """

    unitClicked = QtCore.Signal(int, int, int)
    reconstruction_panels = _RECONSTRUCTIONS
    insight_panels = _INSIGHT

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("network_panels")
        for key, look, title, text in NETWORK_PANELS:
            panel = ImagePanel(look, self)
            panel.setObjectName(f"network_panel_{key}")
            panel.set_title(title, text)
            panel.set_compact(True)  # eight panels: the scaling note only, the text a tooltip
            self.panels[key] = panel
        forward = self.panels["forward"]
        forward.clicked.connect(lambda _name, row, col: self._clicked(row, col))
        forward.channelChanged.connect(lambda _c: self._draw_forward())
        self.result: PrefixResult | None = None
        self.unit: tuple[int, int, int] | None = None
        self._rects: list[tuple[pg.ViewBox, QtWidgets.QGraphicsRectItem]] = []
        self._arrange()

    def picture_shape(self) -> tuple[int, int]:
        """The shape of the image drawn, which decides between wide and tall cells."""
        return (1, 1) if self.result is None else self.result.image.shape[:2]

    def showEvent(self, event: QtGui.QShowEvent | None) -> None:
        """Shown at last: placed for its real size."""
        super().showEvent(event)
        self._arrange()

    def panel(self, key: str) -> ImagePanel:
        """The panel ``key`` (see :data:`NETWORK_PANELS`)."""
        return self.panels[key]

    @property
    def channel(self) -> int:
        """The channel of ``f(x₀)`` drawn (and clicked)."""
        return int(self.panels["forward"].channel_box.value())

    def show_result(self, result: PrefixResult) -> None:
        """Draw every array of ``result`` (the receptive field shown stays: same network)."""
        self.result = result
        self._arrange()  # the image's shape decides between wide and tall cells
        reference = (float(np.min(result.image)), float(np.max(result.image)))
        box = self.panels["forward"].channel_box
        c_out = result.forward_output.shape[2]
        with signals_blocked(box):
            box.setRange(0, c_out - 1)
            box.setVisible(c_out > 1)
        for key, _look, _title, _text in NETWORK_PANELS:
            if key in (ERF_PANEL, "forward"):
                continue
            data = result.images.get(key)
            if data is None:
                self.panels[key].clear()
                continue
            spec = display_spec(data, _KINDS[key], scaling="clip", reference_range=reference)
            self.panels[key].show_array(data, spec)
        self._describe(result)
        self._draw_forward()

    def _describe(self, result: PrefixResult) -> None:
        """The backward rules' titles name the channel they project; the J⁺ panel's tooltip
        says how its solve ended (and why)."""
        texts = {key: (title, text) for key, _look, title, text in NETWORK_PANELS}
        for key in ("deconvnet", "guided_backprop"):
            title, text = texts[key]
            if result.channel is not None:
                title = f"{title} of channel {result.channel}"
                text = f"{text}; only channel {result.channel} of f(x₀), the others set to 0"
            self.panels[key].set_title(title, text)
        title, text = texts["pinv"]
        if result.solver is not None and "pinv" in result.images:
            text = f"{text}\n\nThe solve: {result.solver.message}"
        self.panels["pinv"].set_title(title, text)

    def _draw_forward(self) -> None:
        if self.result is None:
            return
        data = self.result.forward_output
        channel = min(self.channel, data.shape[2] - 1)
        spec = display_spec(data, "forward", scaling="auto", channel=channel, signed_filter=True)
        self.panels["forward"].show_array(data, spec)

    def _clicked(self, row: int, col: int) -> None:
        if self.result is not None:
            self.unitClicked.emit(row, col, self.channel)

    def clear_field(self) -> None:
        """Forget the clicked unit: no marks, an empty receptive-field panel."""
        self.unit = None
        self.panels[ERF_PANEL].clear()
        self.panels[ERF_PANEL].set_title("Receptive field")
        self.panels["forward"].clear_marks()
        self._clear_rects()

    def show_field(
        self,
        unit: tuple[int, int, int],
        field: np.ndarray,
        rect: tuple[float, float, float, float],
    ) -> None:
        """Draw ``Jᵀ e_unit`` of ``unit`` and its theoretical field ``rect`` ``(x, y, w, h)``."""
        self.unit = unit
        row, col, channel = unit
        panel = self.panels[ERF_PANEL]
        panel.set_title(f"Field of unit ({row}, {col}, {channel})")
        panel.show_array(field, display_spec(field, "signed"))
        self.panels["forward"].marks.mark(np.array([row]), np.array([col]), outline=False)
        self._clear_rects()
        for key in ("input", ERF_PANEL):
            item = QtWidgets.QGraphicsRectItem(*rect)
            pen = pg.mkPen(_RECT_COLOUR, width=2, style=QtCore.Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setZValue(20)
            item.setToolTip("the theoretical receptive field (every layer's window)")
            self.panels[key].view.addItem(item)
            self._rects.append((self.panels[key].view, item))
        # zoom the field's panel to the box and as much around it again
        x, y, w, h = rect
        panel.show_range(x - w / 2, x + 1.5 * w, y - h / 2, y + 1.5 * h)

    @property
    def field_rects(self) -> list[tuple[float, float, float, float]]:
        """The rectangles drawn now, ``(x, y, w, h)`` each (for tests)."""
        out = []
        for _view, item in self._rects:
            r = item.rect()
            out.append((r.x(), r.y(), r.width(), r.height()))
        return out

    def _clear_rects(self) -> None:
        for view, item in self._rects:
            view.removeItem(item)
        self._rects = []
