"""The metrics strip under the panels: a table per method and the adjoint badge."""

from __future__ import annotations

from typing import cast

from qtpy import QtCore, QtGui, QtWidgets

from ...core import Result
from ...view.readout import ADJOINT_TOLERANCE, adjoint_badge, metrics_rows
from ...view.readout import format_number_or_dash as _num
from ..support.qthelp import nonnull
from ..support.theme import follow_theme, theme_colour, theme_style

__all__ = ["MetricsStrip"]

_COLUMNS: tuple[tuple[str, str], ...] = (
    ("method", "Which reconstruction (the forward output y = A x + b is the first row)"),
    ("PSNR", "Peak signal-to-noise ratio against the input x, in dB (higher is closer; ∞ = equal)"),
    ("SSIM", "Structural similarity against the input x (1 = identical)"),
    (
        "‖Ax̂ − (y−b)‖ / ‖y−b‖",
        "Relative residual: how well the reconstruction x̂ reproduces the measured output "
        "(0 = exactly). The pseudo-inverse reproduces y; Aᵀ does not.",
    ),
    (
        "iterations",
        "Iterations of the pseudo-inverse solve or of the prior's solve (TV, x ≥ 0, "
        "Richardson–Lucy); – for direct methods. 'not converged' (orange residual): the "
        "iteration limit stopped it first",
    ),
    ("time", "Seconds spent computing this row, in the worker thread"),
)


#: What a row still computing says, its colour and its tooltip.
_PENDING, _DIM = "computing…", "dim"
#: The item data role that keeps which theme colour an item's text has.
_INK = QtCore.Qt.ItemDataRole.UserRole
#: The adjoint badge's style sheet, ``%`` the theme role of its background.
_BADGE = (
    "QLabel {{ background: {%s}; color: {badge_text}; border-radius: 9px; "
    "padding: 2px 8px; font-weight: bold; }}"
)
_PENDING_TIP = (
    "Still computing: the figures arrive with the panel. The other rows and the panels "
    "above already show the new settings."
)


class MetricsStrip(QtWidgets.QWidget):
    """A compact table under the panels: quality, residual, iterations and time per method.

    Left: one row per computed result (PSNR and SSIM against the input, relative
    residual, solver iterations, time). Right: the adjoint dot-test badge (green when
    ``Aᵀ`` is the exact adjoint of ``A`` to rounding, red otherwise), the shape
    arithmetic and the total time.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("metrics")
        self.rows: list[dict[str, object]] = []
        self.table = QtWidgets.QTableWidget(0, len(_COLUMNS))
        self.table.setObjectName("metrics_table")
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        nonnull(self.table.verticalHeader()).setVisible(False)
        self.table.setShowGrid(False)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Fixed
        )
        for col, (title, tip) in enumerate(_COLUMNS):
            item = QtWidgets.QTableWidgetItem(title)
            item.setToolTip(tip)
            self.table.setHorizontalHeaderItem(col, item)
        header = nonnull(self.table.horizontalHeader())
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.table.setToolTip(
            "Quality of each result against the input x, and how well it reproduces the "
            "output y. Hover a header for its meaning."
        )
        self.badge = QtWidgets.QLabel("adjoint: not tested")
        self.badge.setObjectName("adjoint_badge")
        self.badge.setToolTip(
            "The dot test: for random x and y, |⟨Ax, y⟩ − ⟨x, Aᵀy⟩| relative to ‖Ax‖‖y‖ "
            f"(float64). Rounding-level values (green, ≤ {ADJOINT_TOLERANCE:.0e}) prove "
            "that the transposed convolution is exactly the adjoint Aᵀ of the forward one."
        )
        self.info = QtWidgets.QLabel()
        self.info.setObjectName("metrics_info")
        self.info.setWordWrap(True)
        theme_style(self.info, "color: {dim}")
        self.info.setToolTip("Shape arithmetic of the current result and the total time")
        side = QtWidgets.QVBoxLayout()
        side.setSpacing(4)
        side.addWidget(self.badge, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
        side.addWidget(self.info)
        side.addStretch(1)
        self._side = side
        # the badge and the summary beside the table, or under it where the window is too
        # narrow for both (a 1024 px screen): the strip never sets the window's minimum width
        self._layout = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.LeftToRight, self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.table, 0)
        self._layout.addLayout(side, 1)
        self._set_badge(None)
        follow_theme(self.table, self._recolour)

    @property
    def stacked(self) -> bool:
        """Whether the badge and the summary are under the table (a narrow window)."""
        return self._layout.direction() == QtWidgets.QBoxLayout.Direction.TopToBottom

    def minimumSizeHint(self) -> QtCore.QSize:
        """As narrow as the table or the badge: the two stack where they do not fit side by side."""
        hint = super().minimumSizeHint()
        width = max(self.table.minimumWidth(), self._side.minimumSize().width())
        return QtCore.QSize(width, hint.height())

    def resizeEvent(self, event: QtGui.QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """Side by side when the strip is wide enough for both, else stacked."""
        beside = self.table.minimumWidth() + self._layout.spacing()
        beside += self._side.minimumSize().width()
        wanted = (
            QtWidgets.QBoxLayout.Direction.LeftToRight
            if self.width() >= beside
            else QtWidgets.QBoxLayout.Direction.TopToBottom
        )
        if self._layout.direction() != wanted:
            self._layout.setDirection(wanted)
            self.updateGeometry()  # the height it needs changed

    def text(self) -> str:
        """The table as plain text (one line per row), for tests and copying."""
        lines = []
        for row in range(self.table.rowCount()):
            cells = [
                nonnull(self.table.item(row, c)).text() for c in range(self.table.columnCount())
            ]
            lines.append("  ".join(cells))
        return "\n".join([*lines, self.badge.text()])

    def _set_badge(self, value: float | None) -> None:
        text, good = adjoint_badge(value)
        self.badge.setText(text)
        role = "badge_none" if value is None else ("badge_good" if good else "badge_bad")
        theme_style(self.badge, _BADGE % role)

    def _recolour(self, theme: dict[str, str]) -> None:
        """The rows' dimmed and orange texts in ``theme``'s colours."""
        for r in range(self.table.rowCount()):
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                role = None if item is None else item.data(_INK)
                if item is not None and role:
                    item.setForeground(QtGui.QBrush(QtGui.QColor(theme[role])))

    def show_result(self, result: Result, wall_seconds: float | None = None) -> None:
        """Fill the table from ``result.metrics``, ``result.timings`` and ``result.solver``.

        A partial result's methods still computing (``result.pending``) get a dimmed row
        that says so, and the line beside the table says the result is not complete.
        """
        self.rows = metrics_rows(result)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            for c, item in enumerate(_row_items(row)):
                self.table.setItem(r, c, item)
        self._fit_table()
        dot = result.metrics.adjoint_dot_test
        self._set_badge(dot)
        if result.pending:
            total = "  ·  computing…"
        else:
            # a no-break space: "ms" never wraps onto a line of its own
            total = "" if wall_seconds is None else f"  ·  total {wall_seconds * 1000:.0f}\u00a0ms"
        self.info.setText(f"{result.geometry.describe()}{total}")

    def stop_pending(self, why: str) -> None:
        """The rows still computing say ``why`` they never will ("cancelled", ...)."""
        for r, row in enumerate(self.rows):
            if row.get("pending"):
                nonnull(self.table.item(r, 1)).setText(why)
        self.info.setText(self.info.text().replace("computing…", why))
        self._fit_table()

    def _fit_table(self) -> None:
        """The table as large as its rows and columns: no scroll bars, no empty space."""
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        height = nonnull(self.table.horizontalHeader()).height() + 2 * self.table.frameWidth()
        height += sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(height)
        width = 2 * self.table.frameWidth() + sum(
            self.table.columnWidth(c) for c in range(self.table.columnCount())
        )
        self.table.setFixedWidth(width)
        self._arrange()


def _row_cells(row: dict[str, object]) -> tuple[str, ...]:
    """The texts of one row of :func:`~deconv_gui.view.readout.metrics_rows`."""
    if row.get("pending"):  # the figures arrive with the panel
        return (str(row["label"]), _PENDING, "", "", "", "")
    residual = _num(row["residual"], ".1e")
    if row.get("converged") is False:
        residual += "  (not converged)"
    seconds = row["seconds"]
    return (
        str(row["label"]),
        _num(row["psnr"], ".1f") + ("" if row["psnr"] is None else " dB"),
        _num(row["ssim"], ".3f"),
        residual,
        "–" if row["iterations"] is None else str(row["iterations"]),
        "–" if seconds is None else f"{float(cast(float, seconds)) * 1000:.0f} ms",
    )


def _row_items(row: dict[str, object]) -> list[QtWidgets.QTableWidgetItem]:
    """The table items of one row: aligned, with tooltips, dimmed while computing."""
    pending = bool(row.get("pending"))
    notes = "\n".join(row["notes"])  # type: ignore[arg-type]
    items = []
    for c, text in enumerate(_row_cells(row)):
        item = QtWidgets.QTableWidgetItem(text)
        left = c == 0 or pending
        align = QtCore.Qt.AlignmentFlag.AlignLeft if left else QtCore.Qt.AlignmentFlag.AlignRight
        item.setTextAlignment(int(align) | int(QtCore.Qt.AlignmentFlag.AlignVCenter))
        item.setToolTip(_PENDING_TIP if pending else notes or _COLUMNS[c][1])
        role = _DIM if pending else None
        if not pending and c == 3 and row.get("converged") is False:
            role = "unconverged"
        if role:
            item.setData(_INK, role)
            item.setForeground(QtGui.QBrush(theme_colour(role)))
        items.append(item)
    return items
