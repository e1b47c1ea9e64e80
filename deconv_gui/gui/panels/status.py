"""The cursor read-out of the status bar and the metrics strip under the panels."""

from __future__ import annotations

import numpy as np
from PyQt5 import QtCore, QtGui, QtWidgets

from ...core import Result, corresponding_pixels
from ...view.display import fmt

__all__ = [
    "ADJOINT_TOLERANCE",
    "MetricsStrip",
    "adjoint_badge",
    "format_readout",
    "metrics_rows",
]

_SHORT = {"transposed": "Aᵀ", "normalized_transposed": "Aᵀ⊘Aᵀ1", "pinv": "A⁺"}


def _values(array: np.ndarray) -> str:
    flat = np.atleast_1d(array)
    if flat.size == 1:
        return fmt(flat[0])
    return "(" + ", ".join(fmt(v) for v in flat) + ")"


def format_readout(result: Result, panel: str, row: int, col: int, channel: int = 0) -> str:
    """One line with the value at the corresponding pixel of every panel.

    For example ``x=131 y=87 · input (0.62, 0.41, 0.33) · y[43,65] = 0.48 · Aᵀ (…) · A⁺ (…)``;
    ``x`` is the column and ``y`` the row of the input pixel, ``y[row, col]`` indexes the
    forward output. With several output channels, ``y`` shows up to four of them, else
    only ``channel``.
    """
    (r, c), (o_r, o_c) = corresponding_pixels(
        result.geometry, row, col, in_output=panel == "forward"
    )
    y_values = result.forward_output[o_r, o_c]
    if y_values.size > 4:
        y_text = f"y[{o_r},{o_c},{channel}] = {fmt(y_values[channel])}"
    else:
        y_text = f"y[{o_r},{o_c}] = {_values(y_values)}"
    parts = [f"x={c} y={r}", f"input {_values(result.image[r, c])}", y_text]
    for name, short in _SHORT.items():
        data = getattr(result, name)
        if data is not None:
            parts.append(f"{short} {_values(data[r, c])}")
    return "  ·  ".join(parts)


#: Relative dot-test mismatch above which the adjoint badge turns red.
ADJOINT_TOLERANCE = 1e-6

_ROW_NAMES = {
    "transposed": "transposed  Aᵀ(y − b)",
    "normalized_transposed": "normalised  Aᵀ(y − b) ⊘ Aᵀ1",
    "pinv": "pseudo-inverse  A⁺(y − b)",
}
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("method", "Which reconstruction (the forward output y = A x + b is the first row)"),
    ("PSNR", "Peak signal-to-noise ratio against the input x, in dB (higher is closer; ∞ = equal)"),
    ("SSIM", "Structural similarity against the input x (1 = identical)"),
    (
        "‖Ax̂ − (y−b)‖ / ‖y−b‖",
        "Relative residual: how well the reconstruction x̂ reproduces the measured output "
        "(0 = exactly). The pseudo-inverse reproduces y; Aᵀ does not.",
    ),
    ("iterations", "Iterations of the pseudo-inverse solve (– for direct methods)"),
    ("time", "Seconds spent computing this row, in the worker thread"),
)


def _num(value: object, spec: str) -> str:
    if value is None:
        return "–"
    value = float(value)  # type: ignore[arg-type]
    if value == float("inf"):
        return "∞"
    return format(value, spec)


def metrics_rows(result: Result) -> list[dict[str, object]]:
    """The table's rows as data: name, psnr, ssim, residual, iterations, seconds, notes.

    Nothing is computed here: every number comes from ``result.metrics`` (the worker
    thread filled it with the core functions) or ``result.timings``.
    """
    rows: list[dict[str, object]] = [
        {
            "name": "forward",
            "label": "forward  y = A x + b",
            "psnr": None,
            "ssim": None,
            "residual": None,
            "iterations": None,
            "seconds": result.timings.get("forward"),
            "notes": (),
        }
    ]
    scores = result.metrics.get("reconstructions", {}) if result.metrics else {}
    for name, entry in scores.items():
        label = _ROW_NAMES.get(name, name)
        if name == "pinv" and result.params.reg > 0:
            label = f"Tikhonov  λ = {fmt(result.params.reg)}"
        if name == "pinv" and result.solver is not None:
            label += f"  [{result.solver.method}]"
        rows.append(
            {
                "name": name,
                "label": label,
                "psnr": entry.get("psnr"),
                "ssim": entry.get("ssim"),
                "residual": entry.get("relative_residual"),
                "iterations": entry.get("iterations"),
                "seconds": entry.get("seconds"),
                "notes": tuple(entry.get("notes", ())),
                "converged": None
                if name != "pinv" or result.solver is None
                else result.solver.converged,
            }
        )
    return rows


def adjoint_badge(value: float | None) -> tuple[str, bool]:
    """The badge text and whether it is good (green) for a dot-test value."""
    if value is None:
        return "adjoint: not tested", False
    good = bool(value <= ADJOINT_TOLERANCE)
    word = "adjoint exact" if good else "adjoint MISMATCH"
    return f"{word}: ⟨Ax,y⟩ − ⟨x,Aᵀy⟩ = {value:.0e}", good


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
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.NoSelection)
        self.table.setFocusPolicy(QtCore.Qt.NoFocus)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.table.setSizePolicy(QtWidgets.QSizePolicy.Preferred, QtWidgets.QSizePolicy.Fixed)
        for col, (title, tip) in enumerate(_COLUMNS):
            item = QtWidgets.QTableWidgetItem(title)
            item.setToolTip(tip)
            self.table.setHorizontalHeaderItem(col, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeToContents)
        header.setStretchLastSection(False)
        self.table.setToolTip(
            "Quality of each result against the input x, and how well it reproduces the "
            "output y. Hover a header for its meaning."
        )
        self.badge = QtWidgets.QLabel("adjoint: not tested")
        self.badge.setObjectName("adjoint_badge")
        self.badge.setToolTip(
            "The dot test: for random x and y, ⟨Ax, y⟩ − ⟨x, Aᵀy⟩ relative to ‖Ax‖‖y‖ "
            f"(float64). Rounding-level values (green, ≤ {ADJOINT_TOLERANCE:.0e}) prove "
            "that the transposed convolution is exactly the adjoint Aᵀ of the forward one."
        )
        self.info = QtWidgets.QLabel()
        self.info.setObjectName("metrics_info")
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: #888")
        self.info.setToolTip("Shape arithmetic of the current result and the total time")
        side = QtWidgets.QVBoxLayout()
        side.setSpacing(4)
        side.addWidget(self.badge, 0, QtCore.Qt.AlignLeft)
        side.addWidget(self.info)
        side.addStretch(1)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 0)
        layout.addLayout(side, 1)
        self._set_badge(None)

    def text(self) -> str:
        """The table as plain text (one line per row), for tests and copying."""
        lines = []
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c).text() for c in range(self.table.columnCount())]
            lines.append("  ".join(cells))
        return "\n".join([*lines, self.badge.text()])

    def _set_badge(self, value: float | None) -> None:
        text, good = adjoint_badge(value)
        self.badge.setText(text)
        if value is None:
            color = "#555"
        else:
            color = "#2e7d32" if good else "#c62828"
        self.badge.setStyleSheet(
            f"QLabel {{ background: {color}; color: white; border-radius: 9px; "
            "padding: 2px 8px; font-weight: bold; }"
        )

    def show_result(self, result: Result, wall_seconds: float | None = None) -> None:
        """Fill the table from ``result.metrics``, ``result.timings`` and ``result.solver``."""
        self.rows = metrics_rows(result)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            residual = _num(row["residual"], ".1e")
            if row.get("converged") is False:
                residual += "  (not converged)"
            seconds = row["seconds"]
            cells = (
                str(row["label"]),
                _num(row["psnr"], ".1f") + ("" if row["psnr"] is None else " dB"),
                _num(row["ssim"], ".3f"),
                residual,
                "–" if row["iterations"] is None else str(row["iterations"]),
                "–" if seconds is None else f"{float(seconds) * 1000:.0f} ms",
            )
            notes = "\n".join(row["notes"])  # type: ignore[arg-type]
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setTextAlignment(
                    int(QtCore.Qt.AlignLeft if c == 0 else QtCore.Qt.AlignRight)
                    | int(QtCore.Qt.AlignVCenter)
                )
                item.setToolTip(notes or _COLUMNS[c][1])
                if c == 3 and row.get("converged") is False:
                    item.setForeground(QtGui.QBrush(QtGui.QColor("#e0a040")))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
        height += sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(height)
        width = 2 * self.table.frameWidth() + sum(
            self.table.columnWidth(c) for c in range(self.table.columnCount())
        )
        self.table.setFixedWidth(width)
        dot = result.metrics.get("adjoint_dot_test") if result.metrics else None
        self._set_badge(dot)
        total = "" if wall_seconds is None else f"  ·  total {wall_seconds * 1000:.0f} ms"
        self.info.setText(f"{result.geometry.describe()}{total}")
