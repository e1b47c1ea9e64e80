"""The cursor read-out of the status bar and the metrics strip under the panels."""

from __future__ import annotations

import numpy as np
from PyQt5 import QtCore, QtWidgets

from ..core import Result
from .display import fmt

__all__ = ["MetricsStrip", "corresponding_pixels", "format_readout"]

_SHORT = {"transposed": "Aᵀ", "normalized_transposed": "Aᵀ⊘Aᵀ1", "pinv": "A⁺"}


def corresponding_pixels(
    result: Result, panel: str, row: int, col: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The input pixel and the forward-output pixel that correspond to a hovered pixel.

    Parameters
    ----------
    result : Result
        The result on display.
    panel : str
        The hovered panel; ``"forward"`` means ``(row, col)`` indexes ``y``.
    row, col : int
        The hovered pixel in that panel.

    Returns
    -------
    (int, int), (int, int)
        ``(row, col)`` in the image and ``(row, col)`` in ``y``.

    Notes
    -----
    Output pixel ``o`` reads input rows ``o s − p + d k`` for ``k = 0 … f − 1``; its
    receptive field's centre is ``o s − p + d (f − 1) / 2``. An input pixel maps to
    the output pixel whose centre is nearest, clipped to the output.
    """
    geom = result.geometry
    (h, w, _), (h_out, w_out, _) = geom.input_shape, geom.output_shape
    fh, fw = geom.filter_shape[:2]
    centre = [
        geom.dilation[0] * (fh - 1) / 2 - geom.padding[0],
        geom.dilation[1] * (fw - 1) / 2 - geom.padding[1],
    ]
    if panel == "forward":
        out = (row, col)
        pixel = (
            int(np.clip(round(row * geom.stride[0] + centre[0]), 0, h - 1)),
            int(np.clip(round(col * geom.stride[1] + centre[1]), 0, w - 1)),
        )
    else:
        pixel = (row, col)
        out = (
            int(np.clip(round((row - centre[0]) / geom.stride[0]), 0, h_out - 1)),
            int(np.clip(round((col - centre[1]) / geom.stride[1]), 0, w_out - 1)),
        )
    return pixel, out


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
    (r, c), (o_r, o_c) = corresponding_pixels(result, panel, row, col)
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


class MetricsStrip(QtWidgets.QLabel):
    """A compact table under the panels: per method, iterations, residual and time."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("metrics")
        self.setTextFormat(QtCore.Qt.RichText)
        self.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.setToolTip(
            "How each result was computed: iterations and relative residual "
            "‖A x̂ − (y − b)‖ / ‖y − b‖ of the pseudo-inverse solve, and wall-clock time"
        )
        self.setText("<i>computing…</i>")

    def show_result(self, result: Result, wall_seconds: float | None = None) -> None:
        """Fill the table from ``result.timings`` and ``result.solver``."""
        t = result.timings
        rows = [("forward y = A x + b", "–", "–", t.get("forward"))]
        if result.transposed is not None:
            rows.append(("transposed Aᵀ(y − b)", "–", "–", t.get("transposed")))
        if result.normalized_transposed is not None:
            rows.append(("normalised Aᵀ ⊘ Aᵀ1", "–", "–", t.get("normalized_transposed")))
        if result.pinv is not None and result.solver is not None:
            report = result.solver
            state = (
                "" if report.converged else " <span style='color:#e0a040'>(not converged)</span>"
            )
            name = "Tikhonov" if result.params.reg > 0 else "pseudo-inverse A⁺(y − b)"
            rows.append(
                (
                    f"{name} [{report.method}]",
                    str(report.iterations),
                    f"{report.relative_residual:.1e}{state}",
                    t.get("pinv"),
                )
            )
        cells = "".join(
            f"<tr><td>{m}</td><td align='right'>{i}</td><td align='right'>{r}</td>"
            f"<td align='right'>{'–' if s is None else f'{s * 1000:.0f} ms'}</td></tr>".replace(
                "<td", "<td style='padding: 0 10px 0 0'"
            )
            for m, i, r, s in rows
        )
        head = (
            "<tr><th align='left'>method</th><th>&nbsp;iterations&nbsp;</th>"
            "<th>&nbsp;‖Ax̂ − (y−b)‖ / ‖y−b‖&nbsp;</th><th>&nbsp;time</th></tr>"
        )
        total = "" if wall_seconds is None else f"<br>total {wall_seconds * 1000:.0f} ms"
        self.setText(
            f"<table cellspacing='0' cellpadding='1' style='margin:0'>{head}{cells}</table>"
            f"<span style='color:#888'>{result.geometry.describe()}{total}</span>"
        )
