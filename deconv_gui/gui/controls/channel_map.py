"""The filter editor's channel map: which input channels feed which output channel.

Input channels are a row of dots on top, output channels a row below, and a line joins
each pair that a weight connects (PyTorch's ``groups``: every input feeds every output
with ``groups = 1``; one input per output when depthwise). The output whose weights the
grids show is drawn in a stronger colour; clicking an output shows its weights.

A transposed conv (ConvTranspose2d) reads its input map on the filter's last axis
(``C_out``) and writes the filter's ``C_in`` channels: the map draws it as data flows,
the filter's ``C_out`` on top as inputs, its ``C_in`` below as outputs, and the grids
show the selected input's weights (click an input).
"""

from __future__ import annotations

from qtpy.QtCore import QPointF, QRectF, QSize, Qt, Signal
from qtpy.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

from ...view import filter_ops as ops
from ..support.theme import current_theme, theme_colour

__all__ = ["ChannelMap", "describe_links", "short_names"]

#: Dot colours of the image's channels (grey for 1 channel, R/G/B/A for 3–4).
_CHANNEL_COLOURS = {
    1: ("#808080",),
    3: ("#d04040", "#3a9a3a", "#3f63d0"),
    4: ("#d04040", "#3a9a3a", "#3f63d0", "#9a9a9a"),
}
_LINK = QColor(120, 130, 160, 110)  # half see-through: reads on a light or a dark dock
_RADIUS = 6.0


def short_names(in_channels: int, maps: bool = False) -> list[str]:
    """Short names of a layer's input channels: grey, R G B (A), or numbers for feature maps."""
    # a layer's feature maps are numbered: R, G, B would name an image's colours
    if maps:
        return [str(i) for i in range(in_channels)]
    if in_channels == 1:
        return ["grey"]
    if in_channels in (3, 4):
        return list("RGBA"[:in_channels])
    return [str(i) for i in range(in_channels)]


def describe_links(
    in_channels: int,
    out_channels: int,
    groups: int,
    maps: bool = False,
    transposed: bool = False,
) -> str:
    """The map in words, e.g. ``"depthwise: R → out 0, G → out 1, B → out 2"``;
    ``maps``: the inputs are a layer's feature maps, numbered; ``transposed``: a
    ConvTranspose2d, whose inputs are the filter's ``out_channels`` and outputs its
    ``in_channels``.

    Examples
    --------
    >>> describe_links(3, 3, 3, transposed=True)
    'depthwise: R → out 0, G → out 1, B → out 2'
    >>> describe_links(2, 3, 1, transposed=True)
    'summed: all 3 input channels feed every output (groups 1)'
    """
    sources = out_channels if transposed else in_channels
    if groups == 1:
        outs = "every output" if (in_channels if transposed else out_channels) > 1 else "the output"
        return f"summed: all {sources} input channels feed {outs} (groups 1)"
    names = short_names(sources, maps)
    parts = []
    for o in range(out_channels):
        linked = ops.output_inputs(o, in_channels, out_channels, groups)
        if transposed:
            parts.append(f"{names[o]} → out {'+'.join(str(i) for i in linked)}")
        else:
            parts.append(f"{'+'.join(names[i] for i in linked)} → out {o}")
    kind = "depthwise" if groups == sources else f"groups {groups}"
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
        self._transposed = False  # a ConvTranspose2d: its inputs are the filter's C_out
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

    @property
    def maps(self) -> bool:
        """True when the inputs are a layer's feature maps (numbered)."""
        return self._maps

    def set_transposed(self, transposed: bool) -> None:
        """Draw a ConvTranspose2d: the filter's C_out on top (its input map), C_in below."""
        if self._transposed != bool(transposed):
            self._transposed = bool(transposed)
            self._shape = (0, 0, 0)  # redraw and rewrite the tooltip at the next set_channels

    def row_labels(self) -> tuple[str, str]:
        """The labels of the top (inputs) and bottom (outputs) rows."""
        return ("in: C_out", "out: C_in") if self._transposed else ("inputs", "outputs")

    def set_channels(self, in_channels: int, out_channels: int, groups: int, selected: int) -> None:
        """Show ``C_in → C_out`` with ``groups``; ``selected`` is the output the grids show."""
        shape = (int(in_channels), int(out_channels), int(groups))
        if shape == self._shape and selected == self._selected:
            return
        self._shape, self._selected = shape, int(selected)
        if self._transposed:
            intro = (
                "ConvTranspose2d: the input map enters on the filter's C_out (top);\n"
                "the output has the filter's C_in channels (below).\n"
            )
            click = "Click an input to edit its weights."
        else:
            intro = "Which input channels feed which output channel.\n"
            click = "Click an output to edit its weights."
        self.setToolTip(
            intro
            + describe_links(*shape, maps=self._maps, transposed=self._transposed)
            + "\nWith groups g, the inputs and the outputs are split into g groups and each "
            f"output\nsees only its group's inputs (PyTorch's groups). {click}"
        )
        self.update()

    def links(self) -> list[tuple[int, int]]:
        """The ``(input, output)`` pairs drawn (for tests)."""
        return ops.channel_links(*self._shape)

    # -- geometry of the drawing -------------------------------------------------------------
    def _label_width(self) -> int:
        return max(self.fontMetrics().horizontalAdvance(t) for t in self.row_labels()) + 8

    def _counts(self) -> tuple[int, int]:
        """The dots on top (inputs) and below (outputs)."""
        c_in, c_out, _ = self._shape
        return (c_out, c_in) if self._transposed else (c_in, c_out)

    def _selected_row(self) -> float:
        """The row of the filter's C_out, whose dots pick the output the grids show."""
        top, bottom = self._rows()
        return top if self._transposed else bottom

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
        n_top, n_bottom = self._counts()
        top, bottom = self._rows()
        xs_top, xs_bottom = self._xs(n_top), self._xs(n_bottom)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(theme_colour("muted"))
        for label, y in zip(self.row_labels(), (top, bottom), strict=True):
            painter.drawText(
                QRectF(0, y - 8, self._label_width(), 16), Qt.AlignmentFlag.AlignVCenter, label
            )
        for selected_pass in (False, True):  # the selected output's links on top
            for i, o in self.links():
                if (o == self._selected) != selected_pass:
                    continue
                colour, width = (theme_colour("heading"), 2.0) if selected_pass else (_LINK, 1.2)
                painter.setPen(QPen(colour, width))
                start, end = (o, i) if self._transposed else (i, o)
                painter.drawLine(QPointF(xs_top[start], top), QPointF(xs_bottom[end], bottom))
        self._paint_inputs(painter, xs_top, top)
        self._paint_outputs(painter, xs_bottom, bottom)
        painter.end()

    def _paint_inputs(self, painter: QPainter, xs: list[float], y: float) -> None:
        """The top row: the image's channels (coloured) or a layer's maps, names above."""
        theme = current_theme()
        grey = (theme["node_off"],) * len(xs)
        colours = grey if self._maps else _CHANNEL_COLOURS.get(len(xs), grey)
        outline, output = QColor(theme["node_outline"]), QColor(theme["heading"])
        metrics = self.fontMetrics()
        for i, (x, name) in enumerate(zip(xs, short_names(len(xs), self._maps), strict=True)):
            chosen = self._transposed and i == self._selected
            painter.setPen(QPen(output if chosen else outline, 2.5 if chosen else 1))
            painter.setBrush(QColor(colours[i]))
            painter.drawEllipse(QPointF(x, y), _RADIUS, _RADIUS)
            width = metrics.horizontalAdvance(name)
            painter.drawText(
                QRectF(x - width / 2 - 2, 0, width + 4, y - _RADIUS),
                Qt.AlignmentFlag.AlignCenter,
                name,
            )

    def _paint_outputs(self, painter: QPainter, xs: list[float], y: float) -> None:
        """The bottom row: numbered outputs, names below (a conv's selected one filled)."""
        metrics = self.fontMetrics()
        output, back = theme_colour("heading"), theme_colour("node_back")
        for o, x in enumerate(xs):
            chosen = not self._transposed and o == self._selected
            painter.setPen(QPen(output, 2 if chosen else 1))
            painter.setBrush(output if chosen else back)
            painter.drawEllipse(QPointF(x, y), _RADIUS, _RADIUS)
            name = str(o)
            width = metrics.horizontalAdvance(name)
            painter.setPen(output)
            painter.drawText(
                QRectF(x - width / 2 - 2, y + _RADIUS, width + 4, self.height() - y),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                name,
            )

    def output_at(self, x: float, y: float) -> int | None:
        """The filter's output channel whose dot is at ``(x, y)`` (None: none there); a
        transposed conv's are its inputs, on top."""
        if abs(y - self._selected_row()) > 2 * _RADIUS:
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
