"""Insight → "Fourier view": the stride as aliasing, and the transposed layer's checkerboard.

:class:`FourierWindow` draws, for the window's current layer, the maps of
:func:`~deconv_gui.core.analysis.fourier.fourier_summary`: the filter's spectrum, how
the stride folds the input frequencies onto the output's (one colour per fold), what
fraction of each input frequency the layer keeps, and beside them the transposed layer's
coverage ``Aᵀ1`` (the checkerboard) against resize-then-convolve. The maps are computed
off the GUI thread through the one job runner, again whenever the result changes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtGui, QtWidgets

from ...core import ConvOperator, Result
from ...core.analysis.fourier import FourierSummary, fourier_summary
from ...view.colormaps import apply_colormap, lookup_table, text_colour
from ...view.theme import CANVAS, CANVAS_FRAME, CANVAS_TEXT
from ..runner import JobRunner
from ..state import AppState
from ..support.popups import adopt_popups
from ..support.qthelp import make_timer
from .dialog import InsightDialog
from .job_bar import JobBar

__all__ = ["TITLE_POINTS", "FourierWindow", "coverage_levels", "describe"]

#: (attribute, title, tooltip, colormap) of the six maps, in reading order.
MAPS = (
    (
        "spectrum",
        "Filter spectrum |Ŵ(ω)|",
        "Magnitude of the filter's Fourier transform (summed over the input channels of output "
        "channel 0); zero frequency at the centre",
        "grey",
    ),
    (
        "alias",
        "How the stride folds frequencies",
        "Each colour is one fold: input frequencies k′ + αH′ of every colour land on the same "
        "output frequency k′ and are mixed there",
        "diverging",
    ),
    (
        "recoverable",
        "Kept of each input frequency (0–1)",
        "White: recoverable from the output; black: lost; grey: mixed with the frequencies "
        "that fold onto the same output frequency (only their mixture survives)",
        "grey",
    ),
    (
        "coverage",
        "Aᵀ1: the transposed layer's checkerboard",
        "How many filter taps of the transposed convolution reach each pixel: uneven counts "
        "per stride phase print a checkerboard on any smooth input",
        "grey",
    ),
    (
        "resize_coverage",
        "Resize, then convolve: flat",
        "Nearest-neighbour upsampling followed by a stride-1 convolution: every pixel gets the "
        "same number of taps away from the borders, so no checkerboard",
        "grey",
    ),
    (
        "overlaps",
        "Taps per output phase of Aᵀ",
        "The transposed convolution as s_h × s_w stride-1 sub-kernels (the PixelShuffle form): "
        "how many taps each phase of the output gets",
        "grey",
    ),
    (
        "subkernels",
        "Sub-kernels of Aᵀ (PixelShuffle form)",
        "The s_h × s_w stride-1 kernels whose outputs, interleaved, are the transposed "
        "convolution (Shi et al. 2016); each summed over its channels, blank where a phase "
        "has fewer taps",
        "diverging",
    ),
)

#: The titles that change when the layer under study is a ConvTranspose2d ``B``: its own
#: taps, not those of the transpose of a strided conv.
TRANSPOSED_TITLES = {
    "recoverable": "Output frequencies B can produce (0–1)",
    "coverage": "B1: this layer's checkerboard",
    "overlaps": "Taps per output phase of B",
    "subkernels": "Sub-kernels of B (PixelShuffle form)",
}

#: The point sizes a map's title may take, largest first (pyqtgraph's own is 11).
TITLE_POINTS = (11, 9)
#: A column's width beyond its title's text: the label's and the plot's margins, the spacing.
_COLUMN_MARGIN = 68

#: The coverage maps are shown on their top-left corner, this many pixels a side: the
#: pattern is visible, and the border beside it shows that a flat map is not blank.
COVERAGE_CROP = 24


def describe(summary: FourierSummary, stride: tuple[int, int]) -> str:
    """The sentence under the maps: folds, what is kept, the transposed layer's phases."""
    folds = stride[0] * stride[1]
    kept = float(summary.recoverable.mean())
    counts = summary.overlaps
    phases = ", ".join(str(int(c)) for c in counts.ravel())
    twin = "" if summary.periodic else " (analysed as its periodic twin: circular borders)"
    depth = summary.phase_variation
    if depth < 1e-9:
        verdict = "Aᵀ of a constant is constant: no checkerboard."
    elif counts.min() == counts.max():
        verdict = (
            f"equal counts, but the taps' weights differ: Aᵀ1 varies by {depth:.0%} "
            "across phases (a checkerboard)."
        )
    else:
        verdict = f"uneven, so Aᵀ1 varies by {depth:.0%} across phases (a checkerboard)."
    verdict += _edge_note(summary)
    if summary.transposed:
        verdict = verdict.replace("Aᵀ", "B")
        return (
            f"ConvTranspose2d B, stride {stride[0]}×{stride[1]}: each input frequency is "
            f"imaged onto {folds} output {'frequency' if folds == 1 else 'frequencies'} "
            "(the fold map read backwards); B can "
            f"produce {kept:.0%} of its output's frequency content{twin}. It reaches its "
            f"{folds} output phases with {phases} taps (its sub-kernels): {verdict}"
        )
    return (
        f"Stride {stride[0]}×{stride[1]}: {folds} input "
        f"{'frequency folds' if folds == 1 else 'frequencies fold'} onto each output "
        f"frequency; the layer keeps {kept:.0%} of the input's frequency content{twin}. "
        f"Its transpose reaches the {folds} output phases with {phases} taps: {verdict}"
    )


def _edge_note(summary: FourierSummary) -> str:
    """Says so when the coverage maps' first row or column differs from the next ones:
    a real effect of the zero padding (the border pixels get fewer taps), drawn as a
    white or black line on grey, which looks like a drawing error otherwise."""
    for coverage in (summary.coverage, summary.resize_coverage):
        if coverage.shape[0] < 3 or coverage.shape[1] < 3:
            continue
        inner = coverage[1:, 1:]
        scale = max(float(np.abs(inner).max()), 1e-300)
        edges = (coverage[0, 1:] - coverage[1, 1:], coverage[1:, 0] - coverage[1:, 1])
        if max(float(np.abs(e).max()) for e in edges) > 1e-9 * scale:
            return (
                " The maps' first row and column differ from the rest: real, the zero "
                "padding leaves the border pixels fewer taps."
            )
    return ""


def _mosaic(subkernels: np.ndarray) -> np.ndarray:
    """The ``(s_h, s_w, n_h, n_w)`` sub-kernels side by side, one NaN row/column between."""
    sh, sw, nh, nw = subkernels.shape
    out = np.full((sh * (nh + 1) - 1, sw * (nw + 1) - 1), np.nan)
    for a in range(sh):
        for b in range(sw):
            out[a * (nh + 1) : a * (nh + 1) + nh, b * (nw + 1) : b * (nw + 1) + nw] = subkernels[
                a, b
            ]
    return out


def _levels(values: np.ndarray) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    return low, (high if high > low else low + 1.0)


def coverage_levels(crops: list[np.ndarray], span: tuple[int, ...]) -> tuple[float, float]:
    """Both coverage maps' levels, mid-grey at the mean of Aᵀ1 away from the borders.

    From 0 to the maximum, a layer whose taps sum to a negative number drew its flat
    ``Aᵀ1`` all black and only a padded border row white; centred on the interior, a
    flat map is grey, a checkerboard alternates about it, and the border's fewer taps
    (real) show as a lighter or darker line.

    Examples
    --------
    >>> flat = np.full((6, 6), -2.0)
    >>> flat[0] = 1.0  # the padded first row
    >>> coverage_levels([flat, flat], (1, 1))
    (-5.0, 1.0)
    """
    inner = crops[0][span[0] :, span[1] :]
    centre = float((inner if inner.size else crops[0]).mean())
    half = max(float(np.abs(c - centre).max()) for c in crops)
    if half <= 1e-12 * max(abs(centre), 1.0):
        half = max(abs(centre), 1.0)
    return centre - half, centre + half


def _corner(image: np.ndarray, side: int = COVERAGE_CROP) -> np.ndarray:
    """The top-left ``side × side`` corner (the whole image when smaller)."""
    return image[:side, :side]


class FourierWindow(InsightDialog):
    """The Fourier view of the current layer."""

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(state, "fourier", "Fourier view: aliasing and checkerboards", parent)
        self.summary: FourierSummary | None = None
        self._key: tuple | None = None
        self.jobs = JobRunner(self)
        self.jobs.resultReady.connect(self._on_summary)
        self.jobs.failed.connect(lambda _rid, message: self._failed(message))
        self.bar = JobBar(self.jobs, "the Fourier maps", self._cancelled)
        self._follow_result(1320, 720)

    @property
    def busy(self) -> bool:
        """True while the maps are being computed."""
        return self.jobs.busy

    def _build(self) -> None:
        # the backdrop of every picture in the app, in both palettes (pyqtgraph's own is
        # pure black: the maps' black, a lost frequency, merged with it); each map framed
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(CANVAS)
        self.images: dict[str, pg.ImageItem] = {}
        self.views: dict[str, pg.PlotItem] = {}
        self.labels: list[pg.TextItem] = []
        #: every map's whole title (shown smaller or elided where its column is narrow)
        self.titles: dict[str, str] = {}
        self._title_timer = make_timer(self, 0, single_shot=True)
        self._title_timer.timeout.connect(self._fit_titles)
        for index, (name, title, tip, cmap) in enumerate(MAPS):
            self.titles[name] = title
            view = self.plots.addPlot(row=index // 4, col=index % 4)
            view.setTitle(title, color=CANVAS_TEXT)
            view.setAspectLocked(True)
            view.invertY(True)
            view.hideAxis("left")
            view.hideAxis("bottom")
            item = pg.ImageItem(axisOrder="row-major")
            item.setLookupTable(lookup_table(cmap))
            item.setBorder(pg.mkPen(CANVAS_FRAME, width=1, cosmetic=True))
            item.setToolTip(tip)
            view.addItem(item)
            self.images[name] = item
            self.views[name] = view
        adopt_popups(self.plots)  # the plots' menus go with the window
        self.status = QtWidgets.QLabel("Computing…")
        self.status.setWordWrap(True)
        self.status.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        close = self._close_button(
            "Close this window (background work stops; reopening it catches up)"
        )
        status_row = QtWidgets.QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.bar)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.plots, 1)
        layout.addLayout(status_row)
        layout.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignRight)

    def _on_result(self, result: Result | None) -> None:
        if result is None:
            return
        p = result.params
        key = (result.geometry, p.weights.tobytes())
        if key == self._key:
            return
        self._key = key
        op = ConvOperator(result.geometry, p.weights)
        self.status.setText("Computing the Fourier maps…")
        self.bar.started()
        self.jobs.submit(
            lambda cancel, progress: fourier_summary(
                op, cancel=cancel, progress=lambda _k, fraction: progress(fraction)
            )
        )

    def _cancelled(self) -> None:
        """No partial maps: the window is blank and says so until the layer changes."""
        self.summary = None
        self._key = None
        for item in self.images.values():
            item.clear()
        for label in self.labels:
            self.views["overlaps"].removeItem(label)
        self.labels = []
        self.status.setText(
            "Cancelled: no maps computed. They are computed again when the layer changes "
            "or the window is reopened."
        )

    def _forget(self) -> None:
        self._key = None

    def _on_summary(self, _rid: int, summary: FourierSummary) -> None:
        self.summary = summary
        for name in ("spectrum", "alias"):
            values = np.asarray(getattr(summary, name), dtype=np.float64)
            if name == "spectrum":  # log scale: the zeros of the response stay visible
                values = np.log1p(values / max(float(values.max()), 1e-300) * 100)
            self.images[name].setImage(values, levels=_levels(values))
        kept = summary.recoverable
        self.images["recoverable"].setImage(kept, levels=(0.0, 1.0))
        self.titles["recoverable"] = f"Kept of each input frequency (0–1, most {kept.max():.2f})"
        crops = [_corner(getattr(summary, n)) for n in ("coverage", "resize_coverage")]
        levels = coverage_levels(crops, summary.subkernels.shape[2:])
        for name, crop in zip(("coverage", "resize_coverage"), crops, strict=True):
            self.images[name].setImage(crop, levels=levels)
        self._show_overlaps(summary.overlaps)
        mosaic = _mosaic(summary.subkernels)
        top = float(np.nanmax(np.abs(mosaic))) if np.isfinite(mosaic).any() else 1.0
        self.images["subkernels"].setImage(mosaic, levels=(-top, top) if top > 0 else (-1, 1))
        titles = {name: title for name, title, _tip, _cmap in MAPS if name != "recoverable"}
        if summary.transposed:
            titles.update(TRANSPOSED_TITLES)
        self.titles.update(titles)  # the recoverable map's title says its maximum, set above
        self._fit_titles()
        result = self.state.result
        stride = result.geometry.stride if result is not None else (1, 1)
        self.status.setText(describe(summary, stride))

    def resizeEvent(self, event: QtGui.QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self._title_timer.start()  # once the layout has given the maps their new width

    def _fit_titles(self) -> None:
        """The maps' titles within the window: smaller, then elided (whole in the tooltip).

        pyqtgraph's titles never wrap, and the four columns are at least as wide as their
        titles: on a narrow window (a 1024 px screen) the last map was cut at the edge."""
        if not hasattr(self, "titles"):  # not built yet
            return
        width = self.plots.width()
        columns = [[name for k, (name, *_rest) in enumerate(MAPS) if k % 4 == c] for c in range(4)]
        room: int | None = width // 4 - _COLUMN_MARGIN  # elided to even columns, at worst
        for points in TITLE_POINTS:
            font = QtGui.QFont()
            font.setPointSize(points)
            metrics = QtGui.QFontMetrics(font)
            need = sum(
                max(metrics.horizontalAdvance(self.titles[name]) for name in column)
                + _COLUMN_MARGIN
                for column in columns
            )
            if need <= width:
                room = None  # every title whole at this size
                break
        for name, view in self.views.items():
            whole = self.titles[name]
            shown = whole
            if room is not None:
                shown = metrics.elidedText(whole, QtCore.Qt.TextElideMode.ElideRight, max(room, 40))
            view.setTitle(shown, size=f"{points}pt", color=CANVAS_TEXT)
            view.titleLabel.setToolTip(whole if shown != whole else "")
        # the view sizes its layout on its own resize only: fit it again to the new titles
        self.plots.ci.setGeometry(QtCore.QRectF(self.plots.viewport().rect()))

    def _show_overlaps(self, counts: np.ndarray) -> None:
        view = self.views["overlaps"]
        for label in self.labels:
            view.removeItem(label)
        self.labels = []
        values = counts.astype(np.float64)
        top = max(float(values.max()), 1.0)
        self.images["overlaps"].setImage(values, levels=(0.0, top))
        # black or white, whichever reads on the cell's grey (a red one was lost on mid-grey)
        cells = apply_colormap("grey", values / top)
        for (row, col), count in np.ndenumerate(counts):
            ink = text_colour(tuple(round(float(v)) for v in cells[row, col]))
            label = pg.TextItem(str(int(count)), color=ink, anchor=(0.5, 0.5))
            label.setPos(col + 0.5, row + 0.5)
            view.addItem(label)
            self.labels.append(label)

    def _failed(self, message: str) -> None:
        self.status.setText(f"Could not compute the Fourier maps: {message}")
