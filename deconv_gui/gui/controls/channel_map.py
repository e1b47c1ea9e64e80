"""The filter editor's channel map: which input channels feed which output channel.

Input channels are a row of dots on top, output channels a row below, and a line joins
each pair that a weight connects (PyTorch's ``groups``: every input feeds every output
with ``groups = 1``; one input per output when depthwise). The output whose weights the
grids show is drawn in a stronger colour; clicking an output shows its weights.
"""

from __future__ import annotations

from qtpy.QtCore import QPointF, QRectF, QSize, Qt, Signal
from qtpy.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

from ...view import filter_ops as ops

__all__ = ["ChannelMap", "describe_links"]

#: Dot colours of the image's channels (grey for 1 channel, R/G/B/A for 3–4).
_CHANNEL_COLOURS = {
    1: ("#808080",),
    3: ("#d04040", "#3a9a3a", "#3f63d0"),
    4: ("#d04040", "#3a9a3a", "#3f63d0", "#9a9a9a"),
}
_OUTPUT_COLOUR = QColor("#1c2a5a")
_LINK = QColor(120, 130, 160, 110)
_LINK_SELECTED = QColor("#1c2a5a")
_RADIUS = 6.0


def _short_names(in_channels: int, maps: bool = False) -> list[str]:
    # a layer's feature maps are numbered: R, G, B would name an image's colours
    if maps:
        return [str(i) for i in range(in_channels)]
    if in_channels == 1:
        return ["grey"]
    if in_channels in (3, 4):
        return list("RGBA"[:in_channels])
    return [str(i) for i in range(in_channels)]


def describe_links(in_channels: int, out_channels: int, groups: int, maps: bool = False) -> str:
    """The map in words, e.g. ``"depthwise: R → out 0, G → out 1, B → out 2"``;
    ``maps``: the inputs are a layer's feature maps, numbered."""
    names = _short_names(in_channels, maps)
    if groups == 1:
        outs = "every output" if out_channels > 1 else "the output"
        return f"summed: all {in_channels} input channels feed {outs} (groups 1)"
    parts = []
    for o in range(out_channels):
        inputs = "+".join(names[i] for i in ops.output_inputs(o, in_channels, out_channels, groups))
        parts.append(f"{inputs} → out {o}")
    kind = "depthwise" if groups == in_channels else f"groups {groups}"
    return f"{kind}: " + ", ".join(parts)


class ChannelMap(QWidget):
    """Dots for the input and output channels, a line for each connection.

    Signals
    -------
    outputClicked(int)
        The output channel (0-based) the user clicked.
    """

    outputClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._shape = (3, 1, 1)  # C_in, C_out, groups
        self._selected = 0
        self._maps = False  # the inputs are the feature maps of a layer before, not colours
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        self.setFont(font)
        self.setMouseTracking(False)

    def sizeHint(self) -> QSize:
        return QSize(240, self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(120, self._height())

    def _height(self) -> int:
        return 2 * self.fontMetrics().height() + 2 * int(_RADIUS) + 36  # room for the lines

    def set_feature_maps(self, maps: bool) -> None:
        """Number the inputs (a layer's feature maps) instead of naming colours."""
        if self._maps != bool(maps):
            self._maps = bool(maps)
            self._shape = (0, 0, 0)  # redraw and rewrite the tooltip at the next set_channels

    def set_channels(self, in_channels: int, out_channels: int, groups: int, selected: int) -> None:
        """Show ``C_in → C_out`` with ``groups``; ``selected`` is the output the grids show."""
        shape = (int(in_channels), int(out_channels), int(groups))
        if shape == self._shape and selected == self._selected:
            return
        self._shape, self._selected = shape, int(selected)
        self.setToolTip(
            "Which input channels feed which output channel.\n"
            + describe_links(*shape, maps=self._maps)
            + "\nWith groups g, the inputs and the outputs are split into g groups and each "
            "output\nsees only its group's C_in/g inputs (PyTorch's groups). Click an output "
            "to edit its weights."
        )
        self.update()

    def links(self) -> list[tuple[int, int]]:
        """The ``(input, output)`` pairs drawn (for tests)."""
        return ops.channel_links(*self._shape)

    # -- geometry of the drawing -------------------------------------------------------------
    def _label_width(self) -> int:
        return self.fontMetrics().horizontalAdvance("outputs") + 8

    def _xs(self, count: int) -> list[float]:
        left = self._label_width() + _RADIUS + 2
        right = self.width() - _RADIUS - 4
        if count == 1:
            return [(left + right) / 2]
        step = (right - left) / (count - 1)
        return [left + k * step for k in range(count)]

    def _rows(self) -> tuple[float, float]:
        text = self.fontMetrics().height()
        return text + _RADIUS + 2, self.height() - text - _RADIUS - 2

    # -- painting and clicks -------------------------------------------------------------------
    def paintEvent(self, _event: QPaintEvent | None) -> None:
        c_in, c_out, _ = self._shape
        top, bottom = self._rows()
        xs_in, xs_out = self._xs(c_in), self._xs(c_out)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = self.fontMetrics()
        painter.setPen(QColor("#606070"))
        for label, y in (("inputs", top), ("outputs", bottom)):
            painter.drawText(
                QRectF(0, y - 8, self._label_width(), 16), Qt.AlignmentFlag.AlignVCenter, label
            )
        for selected_pass in (False, True):  # the selected output's links on top
            for i, o in self.links():
                if (o == self._selected) != selected_pass:
                    continue
                colour, width = (_LINK_SELECTED, 2.0) if selected_pass else (_LINK, 1.2)
                painter.setPen(QPen(colour, width))
                painter.drawLine(QPointF(xs_in[i], top), QPointF(xs_out[o], bottom))
        grey = ("#707070",) * c_in
        colours = grey if self._maps else _CHANNEL_COLOURS.get(c_in, grey)
        for i, (x, name) in enumerate(zip(xs_in, _short_names(c_in, self._maps), strict=True)):
            painter.setPen(QPen(QColor("#303040"), 1))
            painter.setBrush(QColor(colours[i]))
            painter.drawEllipse(QPointF(x, top), _RADIUS, _RADIUS)
            width = metrics.horizontalAdvance(name)
            painter.drawText(
                QRectF(x - width / 2 - 2, 0, width + 4, top - _RADIUS),
                Qt.AlignmentFlag.AlignCenter,
                name,
            )
        for o, x in enumerate(xs_out):
            chosen = o == self._selected
            painter.setPen(QPen(_OUTPUT_COLOUR, 2 if chosen else 1))
            painter.setBrush(_OUTPUT_COLOUR if chosen else QColor("white"))
            painter.drawEllipse(QPointF(x, bottom), _RADIUS, _RADIUS)
            name = str(o)
            width = metrics.horizontalAdvance(name)
            painter.setPen(_OUTPUT_COLOUR)
            painter.drawText(
                QRectF(x - width / 2 - 2, bottom + _RADIUS, width + 4, self.height() - bottom),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                name,
            )
        painter.end()

    def output_at(self, x: float, y: float) -> int | None:
        """The output channel whose dot is at ``(x, y)`` (None: none there)."""
        _top, bottom = self._rows()
        if abs(y - bottom) > 2 * _RADIUS:
            return None
        xs = self._xs(self._shape[1])
        nearest = min(range(len(xs)), key=lambda o: abs(xs[o] - x))
        return nearest if abs(xs[nearest] - x) <= 2 * _RADIUS else None

    def mousePressEvent(self, event: QMouseEvent | None) -> None:
        if event is None:
            return
        output = self.output_at(event.pos().x(), event.pos().y())
        if output is not None and event.button() == Qt.MouseButton.LeftButton:
            self.outputClicked.emit(output)
        super().mousePressEvent(event)
