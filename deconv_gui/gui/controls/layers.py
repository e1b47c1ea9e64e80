"""The dock's "Network" section: the layers applied to the image, in order, built by hand
(or, read-only, a model file's layers up to the one under study, each with its name).

A list of the document's layers (a convolution, a ReLU, a pooling…) with each one's
output shape, the convolution under study marked ``▶``; tool buttons for the window's
Network actions (add, remove, move); and under the list the window and stride of a
pooling row, or the slope of a leaky ReLU row, when one is the current row. The widget
only shows and asks: :meth:`LayersPanel.show_chain` draws what the window gives it, and
the signals say what the user did (the ``show_*`` methods never emit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qtpy.QtCore import QEvent, QObject, Qt, Signal
from qtpy.QtGui import QBrush, QColor, QFont
from qtpy.QtWidgets import (
    QAbstractItemView,
    QAction,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from ...document import ACTIVATION_KINDS
from ..support.elided import breakable
from ..support.qthelp import nonnull, signals_blocked
from ..support.theme import current_theme, follow_theme, theme_style
from .common import DockSection

__all__ = ["LAYER_BUTTONS", "LayerRow", "LayersPanel"]

#: The Network actions the section's buttons show (ids of the window's action table).
LAYER_BUTTONS: tuple[str, ...] = (
    "add_conv",
    "add_relu",
    "add_maxpool",
    "remove_layer",
    "move_layer_up",
    "move_layer_down",
)
#: The further choices behind the buttons' arrows: button id → action ids.
_MORE = {
    "add_relu": ("add_leaky_relu", *(f"add_{kind}" for kind in ACTIVATION_KINDS)),
    "add_maxpool": ("add_avgpool",),
}
_VISIBLE_ROWS = (2, 6)  # the list shows this many rows at least and at most
_NAME, _OUTPUT, _PASSED = 2, 3, 4  # the columns of a model layer's name, output, passed
_PASSED_TIP = (
    "passed: the share of its ReLU units that pass at this image (their input is "
    "positive), i.e. where the layer is linear (slope 1; the others give 0 and their "
    "direction is lost); a block's row counts its ReLUs' units. The counts (in each "
    "cell's tooltip) are deconv-gui info --through's. Shown in either study: these ReLUs "
    "made the studied layer's input"
)
_LIST_TIP = "Click a convolution to study it (▶); click a ReLU or a pooling to edit it below"


@dataclass(frozen=True)
class LayerRow:
    """One row of the list: the layer in words, its output shape, what it is."""

    text: str
    shape: str = ""
    is_conv: bool = False
    pool: tuple[int, int] | None = None  # a pooling's (window, stride)
    slope: float | None = None  # a leaky ReLU's slope
    fits: bool = True
    name: str = ""  # a model file's layer: its name in the file
    label: str = ""  # how the name column shows it (default: the name)
    passed: tuple[int, int] | None = None  # units its ReLU(s) pass at the image, of how many
    block: bool = False  # a block of branches (its row is the join's)


def _passed_text(row: LayerRow) -> str:
    """The passed column: the share of its ReLU units a row passes (``70%``; a share
    that rounds to 0 or 100 but is not: ``<1%``, ``>99%``)."""
    if row.passed is None:
        return ""
    passed, units = row.passed
    share = 100 * passed / max(units, 1)
    if 0 < share < 1:
        return "<1%"
    return ">99%" if 99 < share < 100 else f"{share:.0f}%"


def _passed_tip(row: LayerRow) -> str:
    if row.passed is None:
        return "No ReLU here: nothing to count"
    passed, units = row.passed
    whose = "its ReLUs'" if row.block else "its"
    return (
        f"{passed:,} of {whose} {units:,} units pass at this image "
        f"({100 * passed / max(units, 1):.1f}%): there the ReLU is linear (slope 1), the "
        "others give 0 (as deconv-gui info --through counts them)"
    )


def _row_tip(row: LayerRow, studied: bool) -> str:
    what = "under study" if studied else ("click to study it" if row.is_conv else "")
    named = f"{row.name}: {row.text}" if row.name else row.text
    return f"{named}, output {row.shape or '—'}" + (f" ({what})" if what else "")


class LayersPanel(DockSection):
    """The list of layers and its buttons; see the module.

    Signals
    -------
    studyRequested(int)
        The user clicked (or pressed Enter on) the convolution of this row.
    poolChanged(int, int, int)
        The window and stride of the pooling of a row, as the user set them.
    slopeChanged(int, float)
        The slope of the leaky ReLU of a row, as the user set it.
    currentChanged(int)
        The current row (the one the editor row and Remove, Move act on).
    """

    studyRequested = Signal(int)
    poolChanged = Signal(int, int, int)
    slopeChanged = Signal(int, float)
    currentChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Network",
            parent,
            tip="The layers applied to the image, in order: the convolution marked ▶ is "
            "the one under study (the forms below edit it)",
        )
        self._rows: list[LayerRow] = []
        self.list = QTreeWidget()
        self.list.setObjectName("layers_list")
        self.list.setColumnCount(5)
        self.list.setHeaderLabels(["", "layer", "name", "output", "passed"])
        self.list.setColumnHidden(_NAME, True)  # a model file's layers have names
        self.list.setColumnHidden(_PASSED, True)  # and, run on an image, their ReLUs pass
        nonnull(self.list.headerItem()).setToolTip(_PASSED, _PASSED_TIP)
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # the dock's width is the list's: long words lose their middle (whole in the
        # tooltip) instead of scrolling sideways out of sight
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = nonnull(self.list.header())
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(_OUTPUT, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(_PASSED, QHeaderView.ResizeMode.ResizeToContents)
        # the narrow share comes before the layer's words: after them (whose block rows are
        # long) or after the names it was scrolled out of the dock's width
        header.moveSection(header.visualIndex(_PASSED), 1)
        self.list.setToolTip(_LIST_TIP)
        self.list.itemClicked.connect(self._on_clicked)
        self.list.itemActivated.connect(self._on_clicked)
        self.list.currentItemChanged.connect(self._on_current)
        follow_theme(self.list, self._recolour)  # a palette switch recolours the rows
        nonnull(self.list.viewport()).installEventFilter(self)
        self.column.addWidget(self.list)
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(2)
        self.column.addLayout(self.buttons)
        self.column.addWidget(self._build_editor())
        self.problem = QLabel()
        self.problem.setObjectName("layers_problem")
        self.problem.setWordWrap(True)
        theme_style(self.problem, "color: {error};")
        self.problem.setVisible(False)
        self.column.addWidget(self.problem)
        self.note = QLabel()
        self.note.setObjectName("layers_note")
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        self.column.addWidget(self.note)

    def _build_editor(self) -> QWidget:
        self.editor = QWidget()
        row = QHBoxLayout(self.editor)
        row.setContentsMargins(0, 0, 0, 0)
        self.kernel_label = QLabel("window")
        self.kernel_spin = QSpinBox()
        self.kernel_spin.setRange(1, 64)
        self.kernel_spin.setToolTip("The pooling's square window (k×k pixels)")
        self.stride_label = QLabel("stride")
        self.stride_spin = QSpinBox()
        self.stride_spin.setRange(1, 64)
        self.stride_spin.setToolTip("How far the pooling's window moves between outputs")
        self.slope_label = QLabel("slope")
        self.slope_spin = QDoubleSpinBox()
        self.slope_spin.setDecimals(3)
        self.slope_spin.setRange(0.001, 1.0)
        self.slope_spin.setSingleStep(0.01)
        self.slope_spin.setToolTip(
            "The leaky ReLU's negative slope (PyTorch's default 0.01; Keras's 0.3)"
        )
        for widget in (
            self.kernel_label,
            self.kernel_spin,
            self.stride_label,
            self.stride_spin,
            self.slope_label,
            self.slope_spin,
        ):
            row.addWidget(widget)
        row.addStretch(1)
        self.kernel_spin.valueChanged.connect(self._on_pool)
        self.stride_spin.valueChanged.connect(self._on_pool)
        self.slope_spin.valueChanged.connect(self._on_slope)
        self.editor.setVisible(False)
        return self.editor

    def set_actions(self, actions: Mapping[str, QAction]) -> None:
        """Show the window's Network actions as the section's buttons (see
        :data:`LAYER_BUTTONS`; an arrow offers the variants: leaky ReLU and the other
        activations, average pool)."""
        for name in LAYER_BUTTONS:
            button = QToolButton()
            button.setObjectName(f"layers_button_{name}")
            button.setDefaultAction(actions[name])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            for more in _MORE.get(name, ()):
                button.addAction(actions[more])
                button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
            self.buttons.addWidget(button)
        self.buttons.addStretch(1)

    # -- showing ---------------------------------------------------------------------------
    def show_chain(
        self,
        rows: Sequence[LayerRow],
        studied: int,
        current: int,
        problem: str = "",
        note: str = "",
        tip: str = _LIST_TIP,
    ) -> None:
        """Show ``rows`` with ``studied`` marked, ``current`` current, ``problem`` (in red),
        ``note`` (what the list is, in grey) and ``tip`` as the list's tooltip. Rows with a
        ``name`` (a model file's) show it in a column of its own."""
        self._rows = list(rows)
        named = any(row.name for row in rows)
        self.list.setColumnHidden(_NAME, not named)
        self.list.setColumnHidden(_PASSED, all(row.passed is None for row in rows))
        # the number, output and passed columns are as wide as their texts, the name at
        # most a third of the rest (:meth:`_fit_name`); the layer's words take what is left,
        # elided in their middle where too long
        header = nonnull(self.list.header())
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(_NAME, QHeaderView.ResizeMode.Interactive)
        self.list.setToolTip(tip)
        with signals_blocked(self.list):
            self.list.clear()
            for index, row in enumerate(rows):
                mark = "▶" if index == studied else ""
                name = row.label or row.name
                texts = [
                    f"{mark} {index + 1}",
                    row.text,
                    name,
                    row.shape or "—",
                    _passed_text(row),
                ]
                item = QTreeWidgetItem(texts)
                item.setTextAlignment(_OUTPUT, Qt.AlignmentFlag.AlignRight)
                item.setTextAlignment(_PASSED, Qt.AlignmentFlag.AlignRight)
                font = QFont(self.list.font())
                font.setBold(index == studied)
                for column in range(len(texts)):
                    item.setFont(column, font)
                    item.setToolTip(column, _row_tip(row, index == studied))
                item.setToolTip(_PASSED, _passed_tip(row))
                self.list.addTopLevelItem(item)
            self._recolour(current_theme())
            chosen = self.list.topLevelItem(max(0, min(current, len(rows) - 1)))
            if chosen is not None:
                self.list.setCurrentItem(chosen)
                self.list.scrollToItem(chosen)
        self._fit_height(len(rows))
        self._fit_name()
        # a long model file name wraps: its end (the extension) stays in the dock
        self.problem.setText(breakable(problem))
        self.problem.setVisible(bool(problem))
        self.note.setText(breakable(note))
        self.note.setVisible(bool(note))
        self._show_editor()

    def _recolour(self, theme: dict[str, str]) -> None:
        """The rows that do not fit the image in ``theme``'s error colour."""
        brush = QBrush(QColor(theme["error_item"]))
        for index, row in enumerate(self._rows):
            item = self.list.topLevelItem(index)
            if item is not None and not row.fits:
                for column in range(self.list.columnCount()):
                    item.setForeground(column, brush)

    def _fit_height(self, count: int) -> None:
        """Tall enough for the rows (two to six; more scroll)."""
        first = self.list.topLevelItem(0)
        height = self.list.visualItemRect(first).height() if first is not None else 0
        height = height or self.list.fontMetrics().height() + 6
        header = nonnull(self.list.header()).sizeHint().height()
        shown = max(_VISIBLE_ROWS[0], min(count, _VISIBLE_ROWS[1]))
        self.list.setFixedHeight(header + height * shown + 2 * self.list.frameWidth() + 2)

    def _fit_name(self) -> None:
        """The name column as wide as its names, at most a third of what the number,
        output and passed columns leave (a long name is elided in its middle)."""
        if self.list.isColumnHidden(_NAME):
            return
        header = nonnull(self.list.header())
        fixed = sum(
            header.sectionSize(c) for c in (0, _OUTPUT, _PASSED) if not self.list.isColumnHidden(c)
        )
        room = max(0, nonnull(self.list.viewport()).width() - fixed)
        wanted = max(self.list.sizeHintForColumn(_NAME), header.sectionSizeHint(_NAME))
        header.resizeSection(_NAME, max(header.minimumSectionSize(), min(wanted, room // 3)))

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        # the list's width and height settle after the rows came: the name column follows
        # the width, and the current row (the one under study) stays in view
        if event is not None and event.type() == QEvent.Type.Resize:
            self._fit_name()
            item = self.list.currentItem()
            if item is not None:
                self.list.scrollToItem(item)
        return super().eventFilter(watched, event)

    def current_row(self) -> int:
        """The current row (-1 when the list is empty)."""
        item = self.list.currentItem()
        return -1 if item is None else self.list.indexOfTopLevelItem(item)

    def row_texts(self) -> list[str]:
        """The rows as shown, their columns joined by two spaces (for tests)."""
        items = [nonnull(self.list.topLevelItem(i)) for i in range(self.list.topLevelItemCount())]
        shown = [c for c in range(self.list.columnCount()) if not self.list.isColumnHidden(c)]
        return ["  ".join(item.text(c) for c in shown).strip() for item in items]

    def _show_editor(self) -> None:
        index = self.current_row()
        row = self._rows[index] if 0 <= index < len(self._rows) else None
        pool = row is not None and row.pool is not None
        leaky = row is not None and row.slope is not None
        for widget in (self.kernel_label, self.kernel_spin, self.stride_label, self.stride_spin):
            widget.setVisible(pool)
        self.slope_label.setVisible(leaky)
        self.slope_spin.setVisible(leaky)
        self.editor.setVisible(pool or leaky)
        with signals_blocked(self.kernel_spin), signals_blocked(self.stride_spin):
            if row is not None and row.pool is not None:
                self.kernel_spin.setValue(row.pool[0])
                self.stride_spin.setValue(row.pool[1])
        with signals_blocked(self.slope_spin):
            if row is not None and row.slope is not None:
                self.slope_spin.setValue(row.slope)

    # -- user actions ----------------------------------------------------------------------
    def _on_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        index = self.list.indexOfTopLevelItem(item)
        if 0 <= index < len(self._rows) and self._rows[index].is_conv:
            self.studyRequested.emit(index)

    def _on_current(self, *_items: object) -> None:
        self._show_editor()
        self.currentChanged.emit(self.current_row())

    def _on_pool(self, _value: int) -> None:
        self.poolChanged.emit(
            self.current_row(), self.kernel_spin.value(), self.stride_spin.value()
        )

    def _on_slope(self, value: float) -> None:
        self.slopeChanged.emit(self.current_row(), float(value))
