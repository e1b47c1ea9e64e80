"""One editable grid of filter weights (one input channel of one output channel).

Cells show 3 decimals on a blue–white–red background centred on 0 (blue–dark–red on a
dark palette); double-clicking or typing opens an editor that only accepts numbers (a
``QDoubleValidator`` in the C locale, so ``0.5`` and ``1e-3`` work everywhere). The grid
never stores weights itself: it reports an edit with :attr:`KernelGrid.cellEdited` and the
:class:`~deconv_gui.gui.controls.filter_editor.FilterEditor` redraws it.
"""

from __future__ import annotations

import math

import numpy as np
from qtpy.QtCore import QAbstractItemModel, QEvent, QLocale, QModelIndex, Qt, Signal
from qtpy.QtGui import (
    QBrush,
    QColor,
    QDoubleValidator,
    QFont,
    QFontMetrics,
    QPainter,
    QPen,
    QValidator,
)
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLineEdit,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ...view.colormaps import text_colour
from ...view.theme import hex_rgb
from ..support.qthelp import nonnull, signals_blocked
from ..support.theme import current_theme, follow_theme, set_style_sheet, theme_colour
from .common import diverging_colour, format_number

__all__ = ["WEIGHT_LIMIT", "KernelGrid", "make_weight_validator"]

#: Largest absolute weight a cell accepts.
WEIGHT_LIMIT = 1e6
_WIDEST_TEXT = "-0.000"


def make_weight_validator(parent: QWidget | None = None) -> QDoubleValidator:
    """A validator for one weight: a number in ±1e6, C locale (dot decimal, ``e`` exponent)."""
    validator = QDoubleValidator(-WEIGHT_LIMIT, WEIGHT_LIMIT, 12, parent)
    validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
    locale = QLocale.c()
    locale.setNumberOptions(QLocale.NumberOption.RejectGroupSeparator)
    validator.setLocale(locale)
    return validator


def parse_weight(text: str) -> float | None:
    """The weight typed as ``text``, or None when it is not an acceptable number."""
    text = text.strip()
    state = make_weight_validator().validate(text, 0)[0]
    if state != QValidator.State.Acceptable:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or abs(value) > WEIGHT_LIMIT:
        return None
    return value


class _WeightDelegate(QStyledItemDelegate):
    """Edits a cell with a validated QLineEdit and hands the text to the grid."""

    def __init__(self, grid: KernelGrid) -> None:
        super().__init__(grid)
        self._grid = grid

    def paint(
        self, painter: QPainter | None, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        """Background colour and centred text with no margins, so 3 decimals fit narrow cells."""
        if painter is None:
            return
        painter.save()
        brush = index.data(Qt.ItemDataRole.BackgroundRole)
        painter.fillRect(option.rect, brush if brush is not None else theme_colour("cell_zero"))
        painter.setFont(option.font)
        ink = index.data(Qt.ItemDataRole.ForegroundRole)
        painter.setPen(ink.color() if isinstance(ink, QBrush) else theme_colour("cell_text"))
        painter.drawText(
            option.rect,
            Qt.AlignmentFlag.AlignCenter,
            str(index.data(Qt.ItemDataRole.DisplayRole) or ""),
        )
        if option.state & QStyle.StateFlag.State_Selected:
            painter.setPen(QPen(theme_colour("heading"), 2))
            painter.drawRect(option.rect.adjusted(1, 1, -1, -1))
        painter.restore()

    def createEditor(
        self, parent: QWidget | None, option: QStyleOptionViewItem, index: QModelIndex
    ) -> QWidget:
        editor = QLineEdit(parent)
        editor.setValidator(make_weight_validator(editor))
        editor.setFrame(False)
        editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return editor

    def setEditorData(self, editor: QWidget | None, index: QModelIndex) -> None:
        assert isinstance(editor, QLineEdit)  # made by createEditor
        value = index.data(Qt.ItemDataRole.UserRole)
        editor.setText("" if value is None else repr(float(value)))  # exact round trip
        editor.selectAll()

    def setModelData(
        self, editor: QWidget | None, model: QAbstractItemModel | None, index: QModelIndex
    ) -> None:
        assert isinstance(editor, QLineEdit)  # made by createEditor
        self._grid.set_cell_text(index.row(), index.column(), editor.text())


class KernelGrid(QTableWidget):
    """A ``f_h × f_w`` table of weights, each cell coloured by its value.

    Signals
    -------
    cellEdited(int, int, float)
        Row, column and new value after the user typed an acceptable number.
    """

    cellEdited = Signal(int, int, float)

    def __init__(
        self, rows: int, columns: int, parent: QWidget | None = None, *, editable: bool = True
    ) -> None:
        super().__init__(rows, columns, parent)
        self._editable = editable
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        font.setStretch(QFont.Stretch.Condensed)
        self.setFont(font)
        metrics = QFontMetrics(font)
        self._cell_w = metrics.horizontalAdvance(_WIDEST_TEXT) + 4
        self._cell_h = metrics.height() + 5
        for header in self._headers():
            header.hide()
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setMinimumSectionSize(10)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._focus = self.focusPolicy()  # the table's own, given back when editable again
        self._read_only_hint = "Read-only: the weight as applied; edit the grid above."
        self.set_editable(editable)
        self.setFrameShape(QFrame.Shape.Box)
        self.setLineWidth(1)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setItemDelegate(_WeightDelegate(self))
        self._scale = 0.0
        self._fill_items()
        follow_theme(self, self._apply_theme)

    def _apply_theme(self, theme: dict[str, str]) -> None:
        """The grid lines and the cells' colours in the palette's variant."""
        set_style_sheet(
            self,
            f"QTableWidget {{ gridline-color: {theme['grid_line']}; }} "
            "QTableWidget::item { padding: 0px; }",
        )
        for row in range(self.rowCount()):
            for column in range(self.columnCount()):
                self._colour_cell(self._item(row, column), theme)

    def _colour_cell(self, item: QTableWidgetItem, theme: dict[str, str]) -> None:
        """``item``'s background by its weight, and a text colour that reads on it."""
        value = float(item.data(Qt.ItemDataRole.UserRole) or 0.0)
        back = diverging_colour(value, self._scale, QColor(theme["cell_zero"]))
        ink = text_colour((back.red(), back.green(), back.blue()), hex_rgb(theme["cell_text"]))
        item.setBackground(QBrush(back))
        item.setForeground(QBrush(QColor(*ink)))

    def _fill_items(self) -> None:
        for row in range(self.rowCount()):
            for column in range(self.columnCount()):
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setData(Qt.ItemDataRole.UserRole, 0.0)
                self.setItem(row, column, item)
        self._fit()

    def _fit(self) -> None:
        """Size cells and the table to the numbers. Styles (e.g. an application style sheet)
        reset header section sizes when they polish the widget, so this runs again then."""
        for header, size in zip(self._headers(), (self._cell_w, self._cell_h), strict=True):
            header.setDefaultSectionSize(size)
            for section in range(header.count()):
                header.resizeSection(section, size)
        frame = 2 * self.frameWidth()
        self.setFixedSize(
            self.columnCount() * self._cell_w + frame, self.rowCount() * self._cell_h + frame
        )

    def _headers(self) -> tuple[QHeaderView, QHeaderView]:
        return nonnull(self.horizontalHeader()), nonnull(self.verticalHeader())

    def _item(self, row: int, column: int) -> QTableWidgetItem:
        return nonnull(self.item(row, column), f"cell ({row}, {column})")

    def event(self, event: QEvent | None) -> bool:
        """Re-fit after the style polishes the table (first show, style or font changes)."""
        handled = super().event(event)
        refit = (QEvent.Type.Polish, QEvent.Type.StyleChange, QEvent.Type.FontChange)
        if (
            event is not None and event.type() in refit and hasattr(self, "_cell_w")
        ):  # not during __init__
            self._fit()
        return handled

    def set_values(self, values: np.ndarray, scale: float) -> None:
        """Show a 2-D array of weights, coloured against ``scale`` (the largest |weight|)."""
        self._scale = scale
        theme = current_theme()
        with signals_blocked(self):
            for row in range(self.rowCount()):
                for column in range(self.columnCount()):
                    value = float(values[row, column])
                    item = self._item(row, column)
                    item.setData(Qt.ItemDataRole.UserRole, value)
                    item.setText(format_number(value))
                    self._colour_cell(item, theme)
                    hint = (
                        "Double-click or type to edit; numbers only (e.g. 0.25, -1, 1e-3)."
                        if self._editable
                        else self._read_only_hint
                    )
                    item.setToolTip(f"row {row}, column {column}: {value:.10g}\n{hint}")
        nonnull(self.viewport()).update()

    def set_editable(self, editable: bool, hint: str = "") -> None:
        """Let the user edit the cells, or not (a view of weights derived from the
        editable ones, or a filter that is read-only for now: ``hint`` says why in the
        cells' tooltips)."""
        self._editable = bool(editable)
        if hint:
            self._read_only_hint = hint
        if editable:
            triggers = (
                QAbstractItemView.EditTrigger.DoubleClicked
                | QAbstractItemView.EditTrigger.EditKeyPressed
                | QAbstractItemView.EditTrigger.AnyKeyPressed
            )
            self.setEditTriggers(triggers)  # type: ignore[arg-type]  # PyQt5 stubs: flag | flag is int
            self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            self.setFocusPolicy(self._focus)
        else:
            self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
            self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def is_editable(self) -> bool:
        """False for a read-only view (the kernel as applied)."""
        return self._editable

    def value(self, row: int, column: int) -> float:
        """The weight shown in a cell (full precision)."""
        return float(self._item(row, column).data(Qt.ItemDataRole.UserRole))

    def set_cell_text(self, row: int, column: int, text: str) -> bool:
        """Apply typed text to a cell, as the user's edit would.

        Returns
        -------
        bool
            True when ``text`` was an acceptable number (and :attr:`cellEdited` was emitted);
            False when it was rejected, in which case nothing changes.
        """
        value = parse_weight(text)
        if (
            not self._editable
            or value is None
            or not (0 <= row < self.rowCount() and 0 <= column < self.columnCount())
        ):
            return False
        self.cellEdited.emit(row, column, value)
        return True
