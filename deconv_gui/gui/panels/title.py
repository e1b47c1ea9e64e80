"""A panel's title with its array's shape, fitted to the width it is given: never cut.

The title is bold, the shape light blue after it. Where both fit on one line they share
it; else the words wrap, the shape on a line of its own when it must; a word wider than
the label (a narrow panel beside a channel box) and anything past :data:`MAX_LINES`
lines is elided with "…", and the label's tooltip then gives the whole title. The
fitting is redone whenever the label is resized, and layouts ask it how high it is at a
width (height for width). A box beside the title (the forward panel's channel) moves under
it when the title would not fit beside it whole (:func:`place_beside`).
"""

from __future__ import annotations

import html
import math

from qtpy import QtCore, QtGui, QtWidgets

from ...core import Result, registry
from ...core.scores import PreimageScore
from ...view.display import fmt

__all__ = [
    "MAX_LINES",
    "SHAPE_COLOUR",
    "FittingTitle",
    "fit_lines",
    "place_beside",
    "result_titles",
]

#: The most lines a title takes; the last one is elided past it.
MAX_LINES = 2
#: The colour of the shape after the title.
SHAPE_COLOUR = "#8fb3ff"
_ELLIPSIS = "…"
_TIKHONOV = (
    "Tikhonov  (AᵀA + λI)⁻¹Aᵀ(y − b)",
    "regularised least squares with λ = {reg}: trades exactness for stability",
)


def fit_lines(
    words: list[tuple[str, bool]], width: float, measure, max_lines: int = MAX_LINES
) -> tuple[list[list[tuple[str, bool]]], bool]:
    """Greedy word wrap of ``words`` (``(text, is_shape)``) into lines ``width`` wide.

    ``measure(text, is_shape)`` is a word's width (a space's for ``" "``). Returns the
    lines and whether anything was elided. A word wider than ``width`` is cut to fit with
    "…"; past ``max_lines`` the last line ends in "…" (letters and words dropped for it).

    >>> measure = lambda text, _shape: len(text)
    >>> fit_lines([("Guided", False), ("backprop", False), ("8×8×3", True)], 15, measure)
    ([[('Guided', False), ('backprop', False)], [('8×8×3', True)]], False)
    >>> fit_lines([("f(x₀)", False), ("128×128×3", True)], 7, measure)
    ([[('f(x₀)', False)], [('128×12…', True)]], True)
    >>> words = [(w, False) for w in "Forward output y = A x + b".split()] + [("8×8", True)]
    >>> fit_lines(words, 13, measure)
    ([[('Forward', False)], [('output', False), ('y', False), ('=', False), ('A…', False)]], True)
    """
    lines: list[list[tuple[str, bool]]] = []
    used = 0.0
    elided = False
    space = measure(" ", False)
    for text, shape in words:
        if measure(text, shape) > width:
            text, elided = _cut(text, shape, width, measure), True
        size = measure(text, shape)
        if lines and used + space + size <= width:
            lines[-1].append((text, shape))
            used += space + size
        else:
            lines.append([(text, shape)])
            used = size
    if len(lines) > max_lines:
        lines, elided = lines[:max_lines], True
        _end_in_ellipsis(lines[-1], width, measure)
    return lines, elided


def _end_in_ellipsis(line: list[tuple[str, bool]], width: float, measure) -> None:
    """End ``line`` in "…" (more follows), dropping letters and words until it fits."""
    space = measure(" ", False)
    while True:
        text, shape = line[-1]
        ended = [*line[:-1], (text + _ELLIPSIS, shape)]
        size = sum(measure(t, s) for t, s in ended) + space * (len(ended) - 1)
        if size <= width or (len(line) == 1 and not text):
            line[-1] = ended[-1]
            return
        if text:
            line[-1] = (text[:-1].rstrip(), shape)
        else:
            line.pop()


def _cut(text: str, shape: bool, width: float, measure) -> str:
    """The longest start of ``text`` that fits ``width`` with "…" after it."""
    for end in range(len(text) - 1, 0, -1):
        candidate = text[:end] + _ELLIPSIS
        if measure(candidate, shape) <= width:
            return candidate
    return _ELLIPSIS


class FittingTitle(QtWidgets.QLabel):
    """The title label of a panel (see the module): ``set_parts(title, shape)``."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        # the lines are this class's (Qt's own wrap would break them again where its
        # measure differs by a pixel); a long title must not set the window's minimum
        # width (one-row or three-column layout on a laptop): it wraps and elides instead
        self.setWordWrap(False)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self._parts = ("", "")
        self._fitted_width = -1
        self.elided = False

    def set_parts(self, title: str, shape: str) -> None:
        """Show ``title`` and ``shape`` (empty: none)."""
        self._parts = (title, shape)
        self._fit()
        self.updateGeometry()  # another height for the same width, maybe

    def _words(self) -> list[tuple[str, bool]]:
        title, shape = self._parts
        return [(w, False) for w in title.split()] + ([(shape, True)] if shape else [])

    def _lines(self, width: int) -> tuple[list[list[tuple[str, bool]]], bool]:
        words = self._words()
        if width <= 1 or not words:  # not laid out yet: everything, the layout will resize
            return [words], False
        return fit_lines(words, width - 2, self._measure)

    def fits(self, width: int) -> bool:
        """Whether the whole title fits ``width`` pixels (in :data:`MAX_LINES` lines)."""
        if width <= 1:
            return not self._words()
        return not self._lines(width)[1]

    # the layouts ask how high the title is at a width: as many lines as it wraps to there
    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        margins = self.contentsMargins()
        lines = len(self._lines(width - margins.left() - margins.right())[0])
        spacing = QtGui.QFontMetricsF(self.font()).lineSpacing()
        return math.ceil(max(lines, 1) * spacing) + 2 + margins.top() + margins.bottom()

    def sizeHint(self) -> QtCore.QSize:
        hint = super().sizeHint()
        return QtCore.QSize(hint.width(), self.heightForWidth(max(self.width(), 1)))

    def resizeEvent(self, event: QtGui.QResizeEvent | None) -> None:
        super().resizeEvent(event)
        if self.contentsRect().width() != self._fitted_width:
            self._fit()

    def _measure(self, text: str, shape: bool) -> float:
        font = QtGui.QFont(self.font())
        font.setBold(not shape)
        return float(QtGui.QFontMetricsF(font).horizontalAdvance(text))

    def _fit(self) -> None:
        width = self.contentsRect().width()
        self._fitted_width = width
        lines, self.elided = self._lines(width)
        self.setText("<br>".join(_html(line) for line in lines))
        title, shape = self._parts
        self.setToolTip(f"{title}  {shape}".strip() if self.elided else "")


def place_beside(
    header: QtWidgets.QBoxLayout, title: FittingTitle, box: QtWidgets.QWidget, width: int
) -> None:
    """Lay ``box`` out beside ``title`` in ``header`` (``width`` wide) while the whole title
    still fits beside it; else under it (the title then has the whole width)."""
    room = width - box.sizeHint().width() - header.spacing()
    beside = box.isHidden() or width <= 0 or title.fits(room)
    direction = (
        QtWidgets.QBoxLayout.Direction.LeftToRight
        if beside
        else QtWidgets.QBoxLayout.Direction.TopToBottom
    )
    if header.direction() != direction:
        header.setDirection(direction)


def _html(line: list[tuple[str, bool]]) -> str:
    parts = []
    for text, shape in line:
        text = html.escape(text)
        parts.append(
            f"<span style='color:{SHAPE_COLOUR}'>{text}</span>" if shape else f"<b>{text}</b>"
        )
    return " ".join(parts)


def _preimage_counts(preimage: PreimageScore) -> str:
    """``"  ·  121 zeros, 633 free"`` for a ReLU (``≥`` when the rank was not computed)."""
    if preimage.activation != "relu" or preimage.free_directions is None:
        return ""
    bound = "" if preimage.rank_computed else "≥ "
    return f"  ·  {preimage.n_inequalities:,} zeros, {bound}{preimage.free_directions:,} free"


def result_titles(result: Result) -> dict[str, tuple[str, str | None]]:
    """The panels whose title depends on ``result``: ``name -> (title, description)``
    (None: the description stays). The formulas of a layer with or without an activation,
    Tikhonov for reg > 0, the share of ``x`` lost or recoverable and of ``x̂`` invented."""
    titles: dict[str, tuple[str, str | None]] = {}
    reg, activation = result.params.reg, result.params.activation
    preimage = result.metrics.preimage
    for spec in registry.PANELS:
        if spec.with_activation or spec.without_activation:
            title, text = spec.title_for(activation), spec.text
            if spec.name == "relu_preimage" and preimage is not None:
                title += _preimage_counts(preimage)  # what the ReLU's zeros leave free
                text = f"{preimage.summary()}: {text}"
            titles[spec.name] = (title, text)
    if reg > 0 and activation == "none":
        titles["pinv"] = (_TIKHONOV[0], _TIKHONOV[1].format(reg=fmt(reg)))
    split = result.metrics.split
    for name in ("nullspace", "recoverable"):
        title = registry.panel(name).title_for(activation)
        if split is not None:
            fraction = split.lost_fraction if name == "nullspace" else split.recoverable_fraction
            # squared, as energy: the two panels' shares add up to 100 %, and a
            # network's lost share is given the same way
            title += f"  ·  {100 * fraction**2:.1f} % of ‖x‖²"
        titles[name] = (title, None)
    invented = registry.panel("invented")
    title = invented.title
    if split is not None and split.invented_by is not None:
        by = registry.panel(split.invented_by).short
        title = f"{invented.title.split('  ')[0]} ({by})  {invented.formula}"
        title += f"  ·  {100 * float(split.invented_fraction or 0.0) ** 2:.1f} % of ‖x̂‖²"
    titles["invented"] = (title, None)
    return titles
