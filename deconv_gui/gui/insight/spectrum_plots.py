"""The plots of the spectrum window: singular values, L-curve and PSNR versus reg.

Drawing only. Log axes cannot show 0, so zero values are drawn at a floor
(``FLOOR_RATIO`` times the largest value) and the captions say so.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtWidgets

from ...core import SingularValues, TikhonovCurve
from ...view.theme import CANVAS
from ...view.ticks import log_tick_labels, log_tick_style
from ..support.popups import adopt_popups

__all__ = [
    "EMPTY_CURVE_NOTE",
    "FLOOR_RATIO",
    "LABEL_GAP",
    "CurvePlots",
    "LogAxis",
    "SpectrumPlot",
    "floored",
]

#: Values at or below ``FLOOR_RATIO · max`` are drawn at that floor on log axes.
FLOOR_RATIO = 1e-16
_LINE = pg.mkPen("#79c0ff", width=2)
_REG = pg.mkPen("#d29922", width=2, style=QtCore.Qt.PenStyle.DashLine)
_HIGHLIGHT = {"symbol": "o", "symbolSize": 14, "symbolBrush": "#d29922", "pen": None}
#: What the L-curve plots say while they have nothing to draw.
EMPTY_CURVE_NOTE = "Nothing computed yet: press 'Compute L-curve' below"


def floored(values: np.ndarray) -> np.ndarray:
    """``values`` with everything below ``FLOOR_RATIO · max`` raised to that floor."""
    values = np.asarray(values, dtype=np.float64)
    top = float(values.max()) if values.size else 0.0
    return np.maximum(values, (top or 1.0) * FLOOR_RATIO)


#: Screen pixels between two labelled ticks of a log axis, at least (a label's height).
LABEL_GAP = 16


def _thinned(ticks: list, span: float, size: float) -> list:
    """``ticks`` with the 1…9 × 10ᵏ level cut to 1, 2, 5 × 10ᵏ (then 1 × 10ᵏ) where its
    labels would be closer than :data:`LABEL_GAP` pixels on an axis ``size`` pixels long
    spanning ``span`` decades: on a short plot 0.6, 0.7, 0.8, 0.9 and 1 were drawn over
    each other."""
    out = []
    for spacing, values in ticks:
        if spacing is None and len(values) > 1 and span > 0:
            for digits in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1,)):
                kept = [v for v in values if round(10 ** (v - np.floor(v + 1e-9))) in digits]
                if len(kept) < 2 or float(np.diff(kept).min()) * size / span >= LABEL_GAP:
                    break
            values = kept
        out.append((spacing, values))
    return out


class LogAxis(pg.AxisItem):
    """An axis whose log mode labels every tick in one style, even a narrow range.

    pyqtgraph labels a log axis only at 1, 2, …, 9 × 10ᵏ: a solution norm that goes
    from 60.2 to 61.5 got no label at all. Such a range gets linear "nice" ticks
    (60.5, 61, 61.5) placed on the log scale instead. Its labels mixed styles too
    (10⁻⁶ beside 0.0001): they are written as :mod:`deconv_gui.view.ticks` says, plain
    numbers or powers of ten, one style for the whole axis.
    """

    _linear_ticks = False

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        ticks = _thinned(
            super().logTickValues(minVal, maxVal, size, stdTicks), maxVal - minVal, size
        )
        labelled = sum(len(values) for spacing, values in ticks if spacing is None or spacing >= 1)
        self._linear_ticks = labelled < 2 and maxVal - minVal < 1
        if not self._linear_ticks:
            return ticks
        self.logMode = False  # the linear algorithm on the values themselves
        try:
            linear = pg.AxisItem.tickValues(self, 10.0**minVal, 10.0**maxVal, size)
        finally:
            self.logMode = True
        # the two coarsest levels: labels and a light grid, not a dense mesh
        return [(None, [float(np.log10(v)) for v in values if v > 0]) for _, values in linear[:2]]

    def logTickStrings(self, values, scale, spacing):
        style = log_tick_style(*self.range)  # the view's range, in decades
        return log_tick_labels([10.0**v * scale for v in values], style)


def _axes() -> dict[str, LogAxis]:
    return {"left": LogAxis("left"), "bottom": LogAxis("bottom")}


def _plot(title: str, bottom: str, left: str, tip: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(title=title, axisItems=_axes())
    plot.setBackground(CANVAS)
    plot.setLabel("bottom", bottom)
    plot.setLabel("left", left)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMenuEnabled(False)
    plot.setToolTip(tip)
    for axis in ("left", "bottom"):
        plot.getAxis(axis).enableAutoSIPrefix(False)  # no confusing "(x0.001)" scaling
    adopt_popups(plot)  # its menus go with it
    return plot


def _centred_note(plot: pg.PlotWidget) -> pg.TextItem:
    """A grey line of text kept at the middle of ``plot``'s view, whatever its axes show.

    Parented to the view box itself (not to its data), so it is placed in pixels.
    """
    box = plot.getViewBox()
    note = pg.TextItem("", color="#8b949e", anchor=(0.5, 0.5))
    note.setParentItem(box)
    box.sigResized.connect(lambda view: note.setPos(view.width() / 2, view.height() / 2))
    return note


class SpectrumPlot(pg.PlotWidget):
    """Singular values of ``A`` (largest first) on a log-y axis, with the √reg line."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, title="Singular values σ of A", axisItems=_axes())
        self.setBackground(CANVAS)
        self.setLabel("bottom", "index (largest first)")
        self.setLabel("left", "σ")
        self.setLogMode(x=False, y=True)
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setMenuEnabled(False)
        self.getAxis("left").enableAutoSIPrefix(False)
        self.setToolTip(
            "Each σ is how strongly A transmits one direction of the image. Small σ: that "
            "direction barely reaches y, so recovering it amplifies noise; σ = 0: lost. "
            "Dashed line: √reg."
        )
        self.curve = self.plot([], [], pen=_LINE)
        self.reg_line = pg.InfiniteLine(angle=0, pen=_REG, movable=False)
        self.reg_line.setVisible(False)
        self.addItem(self.reg_line)
        self.reg_label = pg.TextItem("", color="#d29922", anchor=(1, 1))
        self.addItem(self.reg_label)
        self.values: np.ndarray | None = None
        self.note = _centred_note(self)
        adopt_popups(self)  # its menus go with it

    def _show_axes(self, shown: bool) -> None:
        # an empty plot's default range (an index axis from −400 to 400) means nothing
        for side in ("left", "bottom"):
            self.showAxis(side, shown)
        self.showGrid(x=shown, y=shown, alpha=0.25)

    def show_values(self, spectrum: SingularValues) -> None:
        """Draw ``spectrum`` (exact or approximate, said in the title)."""
        self.values = np.asarray(spectrum.values, dtype=np.float64)
        kind = "exact (dense SVD)" if spectrum.exact else "approximate: symbol of A Aᵀ"
        if not spectrum.exact:
            kind += " on the output grid"
        self.setTitle(f"Singular values σ of A — {kind}")
        index = np.arange(1, self.values.size + 1)
        self.curve.setData(index, floored(self.values))
        self.note.setText("")
        self._show_axes(True)
        self.enableAutoRange()

    def show_reg(self, reg: float) -> None:
        """Draw the line σ = √reg (hidden for reg = 0)."""
        if reg <= 0 or self.values is None:
            self.reg_line.setVisible(False)
            self.reg_label.setText("")
            return
        level = float(np.log10(np.sqrt(reg)))  # view coordinates are log10 in log mode
        self.reg_line.setPos(level)
        self.reg_line.setVisible(True)
        self.reg_label.setText(f"√reg = {np.sqrt(reg):.3g}")
        self.reg_label.setPos(float(self.values.size), level)

    def clear_values(self, note: str = "Computing the singular values…") -> None:
        """Remove the values; the plot, without axes, says ``note`` (computing, cancelled)."""
        self.values = None
        self.curve.setData([], [])
        self.reg_line.setVisible(False)
        self.reg_label.setText("")
        self.setTitle("Singular values σ of A")
        self.note.setText(note)
        self._show_axes(False)


class CurvePlots(QtWidgets.QWidget):
    """The L-curve (log–log) and PSNR versus reg, current reg highlighted."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.lcurve = _plot(
            "L-curve",
            "residual norm ‖A x − (y − b)‖",
            "solution norm ‖x‖",
            "One point per reg: small reg fits y exactly (left) with a large image; large "
            "reg gives a small image that fits y loosely. The corner is a classic choice.",
        )
        self.lcurve.setLogMode(x=True, y=True)
        self.psnr = _plot(
            "PSNR against the input image",
            "reg λ",
            "PSNR (dB)",
            "How close each regularised reconstruction is to the original input (higher is "
            "better). Orange: the current reg.",
        )
        self.psnr.setLogMode(x=True, y=False)
        self.lcurve_line = self.lcurve.plot([], [], pen=_LINE, symbol="o", symbolSize=6)
        self.lcurve_current = self.lcurve.plot([], [], **_HIGHLIGHT)
        self.psnr_line = self.psnr.plot([], [], pen=_LINE, symbol="o", symbolSize=6)
        self.psnr_current = self.psnr.plot([], [], **_HIGHLIGHT)
        self.psnr_zero = pg.InfiniteLine(angle=0, pen=_REG, movable=False)
        self.psnr_zero.setVisible(False)
        self.psnr.addItem(self.psnr_zero)
        self.psnr_note = pg.TextItem("", color="#d29922", anchor=(0, 0))
        self.psnr.addItem(self.psnr_note)
        # empty axes say why they are empty
        self.notes = (_centred_note(self.lcurve), _centred_note(self.psnr))
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.lcurve)
        layout.addWidget(self.psnr)
        self.clear()

    def show_curve(self, curve: TikhonovCurve, current_reg: float | None) -> None:
        """Draw ``curve``; the point at ``current_reg`` is highlighted."""
        regs = np.asarray(curve.regs, dtype=np.float64)
        res, sol = floored(curve.residual_norms), floored(curve.solution_norms)
        self.lcurve_line.setData(res, sol)
        psnr = curve.psnr if curve.psnr is not None else np.full(regs.size, np.nan)
        positive = regs > 0
        finite = positive & np.isfinite(psnr)
        self.psnr_line.setData(regs[finite], psnr[finite])
        self.psnr_zero.setVisible(False)
        self.psnr_note.setText("")
        self.lcurve_current.setData([], [])
        self.psnr_current.setData([], [])
        if current_reg is not None and np.any(regs == current_reg):
            k = int(np.flatnonzero(regs == current_reg)[0])
            self.lcurve_current.setData([res[k]], [sol[k]])
            if current_reg > 0 and np.isfinite(psnr[k]):
                self.psnr_current.setData([current_reg], [psnr[k]])
            elif np.isfinite(psnr[k]):  # reg = 0 has no place on a log axis: a line
                self.psnr_zero.setPos(float(psnr[k]))
                self.psnr_zero.setVisible(True)
                self.psnr_note.setText(f"current reg = 0: {psnr[k]:.1f} dB")
                self.psnr_note.setPos(float(np.log10(regs[positive].min())), float(psnr[k]))
        for note in self.notes:
            note.setVisible(False)
        self.lcurve.enableAutoRange()
        self.psnr.enableAutoRange()

    def clear(self, note: str = EMPTY_CURVE_NOTE) -> None:
        """Remove the curves; the empty plots say ``note``."""
        for item in (self.lcurve_line, self.lcurve_current, self.psnr_line, self.psnr_current):
            item.setData([], [])
        self.psnr_zero.setVisible(False)
        self.psnr_note.setText("")
        for item in self.notes:
            item.setText(note)
            item.setVisible(True)
