"""Click to inspect: receptive fields, the outputs that touch a pixel, and rows of ``A⁺``.

Clicking an output pixel (forward panel) marks the input pixels it reads, with the
filter value of each tap written in it for small filters. Clicking an input-sized
panel marks the output pixels that touched that pixel; in the pseudo-inverse panel
the row of ``A⁺`` for that pixel (the "effective kernel") is computed by a background
job and drawn in the "Inspect" dock. Esc clears. All math is in ``deconv_gui.core``.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtWidgets

from ...core import (
    ConvOperator,
    Result,
    effective_kernel,
    receptive_field,
    registry,
    touching_outputs,
)
from ...core.groups import dense_filter
from ...view.colormaps import lookup_table
from ...view.display import counted, fmt
from ...view.theme import CANVAS
from ..panels.grid import PanelGrid
from ..runner import JobRunner, Priority
from ..state import AppState

__all__ = ["LABEL_TAP_LIMIT", "InspectDock", "Inspector"]

#: Filters with at most this many taps get their values written on the marked pixels.
LABEL_TAP_LIMIT = 49
#: ... on images of at most this many pixels (the labels have a fixed screen size).
LABEL_IMAGE_LIMIT = 64 * 64
# the panels with the input's size (linked to it): a click there is an input pixel
_INPUT_SIZED = tuple(p.name for p in registry.PANELS if p.linked)


_HINT = (
    "Click a pixel of the forward output to see the input pixels it reads, or a "
    "pixel of a reconstruction to see which outputs touched it. Esc clears."
)


class InspectDock(QtWidgets.QDockWidget):
    """The "Inspect" dock: what the last click showed, and the row of ``A⁺`` as an image."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Inspect", parent)
        self.setObjectName("inspect_dock")
        self.kernel: np.ndarray | None = None
        holder = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(holder)
        column.setContentsMargins(4, 4, 4, 4)
        self.text = QtWidgets.QLabel(_HINT)
        self.text.setWordWrap(True)
        self.text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.text.setToolTip("What the last click on a panel showed")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(CANVAS)
        # small minimum: the dock must fit beside the controls and panels on a laptop
        self.graphics.setMinimumSize(150, 150)
        self.graphics.setToolTip(
            "Row of A⁺ for the clicked input pixel, on the output grid: the pseudo-inverse "
            "value there is Σ (this image) ⊙ (y − b). Blue < 0 < red. Unlike Aᵀ's row "
            "(just the filter), it spreads over the whole output."
        )
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setLookupTable(lookup_table("diverging"))
        self.view.addItem(self.item)
        column.addWidget(self.text)
        column.addWidget(self.graphics, 1)
        column.addStretch(0)
        self.graphics.setVisible(False)  # only a row of A⁺ is drawn; no empty black area
        self.setWidget(holder)

    def reset(self) -> None:
        """Back to the hint, with no kernel (Esc, or a new image)."""
        self.show_kernel(None)
        self.show_text(_HINT)

    def show_text(self, html: str) -> None:
        """Replace the explanation."""
        self.text.setText(html)

    def show_kernel(self, kernel: np.ndarray | None, channel: int = 0) -> None:
        """Draw one output channel of an effective kernel ``(H_out, W_out, C_out)``."""
        self.kernel = kernel
        self.graphics.setVisible(kernel is not None)
        if kernel is None:
            self.item.clear()
            return
        image = kernel[:, :, min(channel, kernel.shape[2] - 1)]
        m = float(np.abs(image).max()) or 1.0
        self.item.setImage(image, autoLevels=False, levels=(-m, m))
        self.view.autoRange(padding=0.02)


def _reads_text(output: tuple[int, int], links, channels: int, numbered: bool) -> str:
    """What the dock says of a clicked output pixel: the input pixels it reads."""
    text = (
        f"<b>Output y[{output[0]}, {output[1]}]</b> reads "
        f"{counted(links.rows.size, 'input pixel')} (marked on the input, "
        + ("its one channel)" if channels == 1 else f"all {channels} channels)")
    )
    if links.clipped_taps:
        text += f"; {counted(links.clipped_taps, 'tap falls', 'taps fall')} in the zero padding"
    if not numbered:
        return text + "."
    return text + (
        ". The numbers are the filter taps that multiply them (a line per channel when they "
        "differ); they show while the pixels are large enough: zoom in with the wheel."
    )


class Inspector(QtCore.QObject):
    """Connects panel clicks to overlays and the effective-kernel job.

    Parameters
    ----------
    state : AppState
        The result on screen.
    panels : PanelGrid
        The panels clicked on, and where the overlays go.
    dock : InspectDock
        Where the effective kernel goes.
    parent : QObject, optional
        The Qt parent.
    """

    def __init__(
        self,
        state: AppState,
        panels: PanelGrid,
        dock: InspectDock,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.panels = panels
        self.dock = dock
        self.jobs = JobRunner(self, priority=Priority.INSIGHT)
        self.jobs.resultReady.connect(self._on_kernel)
        self.jobs.failed.connect(self._on_kernel_failed)
        self.jobs.progress.connect(self._on_kernel_progress)
        self.selection: tuple[str, int, int] | None = None
        self._kernel_request: tuple | None = None
        panels.clicked.connect(self.inspect)

    # -- entry points ----------------------------------------------------------------------
    def inspect(self, panel: str, row: int, col: int) -> None:
        """Show what pixel ``(row, col)`` of ``panel`` is linked to."""
        result: Result | None = self.state.result
        if result is None:
            return
        self.clear()
        self.selection = (panel, row, col)
        geom = result.geometry.dense()  # groups and flip as the dense kernel they apply
        shapes: dict[str, Any] = {  # the geometry's fields, as the functions' keywords
            "input_shape": geom.input_shape,
            "filter_shape": geom.filter_shape,
            "stride": geom.stride,
            "padding": geom.padding,
            "dilation": geom.dilation,
            "padding_mode": geom.padding_mode,
        }
        panels = self.panels
        if panel == "forward":
            links = receptive_field((row, col), **shapes)
            small = geom.input_shape[0] * geom.input_shape[1] <= LABEL_IMAGE_LIMIT
            labels = (
                self._tap_labels(result, links)
                if small and links.rows.size <= LABEL_TAP_LIMIT
                else None
            )
            panels.panel("input").marks.mark(links.rows, links.cols, labels=labels)
            panels.panel("forward").marks.mark(
                np.array([row]), np.array([col]), color="#7fdbff", outline=False
            )
            self.dock.show_text(
                _reads_text((row, col), links, geom.input_shape[2], labels is not None)
            )
            self.dock.show_kernel(None)
            return
        if panel not in _INPUT_SIZED:
            return
        links = touching_outputs((row, col), **shapes)
        panels.panel("forward").marks.mark(links.rows, links.cols)
        panels.panel(panel).marks.mark(
            np.array([row]), np.array([col]), color="#7fdbff", outline=False
        )
        if panel != "input":
            panels.panel("input").marks.mark(
                np.array([row]), np.array([col]), color="#7fdbff", outline=False
            )
        touched = (
            f"was touched by {counted(links.rows.size, 'output pixel')} (marked on the forward "
            "output)"
            if links.rows.size
            else "is read by no output pixel: nothing about it reaches y"
        )
        text = f"<b>Input pixel ({row}, {col})</b> {touched}. Aᵀ sums just those."
        if panel == "pinv":
            text += "<br>Computing the row of A⁺ for this pixel…"
            self._start_kernel(result, row, col)
        else:
            self.dock.show_kernel(None)
        self.dock.show_text(text)

    def clear(self) -> None:
        """Remove every overlay, stop a running effective-kernel job and reset the dock (Esc)."""
        self.jobs.cancel()
        self.selection = None
        self._kernel_request = None
        for name in self.panels.panels:
            self.panels.panel(name).clear_marks()
        self.dock.reset()

    def shutdown(self) -> None:
        """Stop the background job and wait for it."""
        self.jobs.shutdown()

    # -- effective kernel -------------------------------------------------------------------
    def _start_kernel(self, result: Result, row: int, col: int) -> None:
        params, geom = result.params, result.geometry
        weights = ConvOperator(geom, params.weights)  # every geometry field, as the panels
        kwargs: dict[str, Any] = {
            "reg": params.reg,
            "rtol": 1e-6,
            "max_iter": 500,
        }
        self._kernel_request = ((row, col), kwargs)
        self.dock.show()
        self.dock.raise_()

        def job(cancel, progress):
            return effective_kernel(
                weights,
                (row, col),
                **kwargs,
                cancel=cancel,
                progress=lambda it, res: progress(float(it)),
            )

        self.jobs.submit(job)

    def _on_kernel(self, _rid: int, value: object) -> None:
        kernel, report = cast("tuple[np.ndarray, Any]", value)
        channel = self.panels.forward_channel
        self.dock.show_kernel(kernel, channel)
        (row, col), _ = self._kernel_request or ((0, 0), None)
        spread = np.abs(kernel)
        share = float(spread.max() / spread.sum()) if spread.sum() > 0 else 0.0
        self.dock.show_text(
            f"<b>Row of A⁺ for input pixel ({row}, {col})</b>, on the "
            f"{kernel.shape[0]}×{kernel.shape[1]} output grid (channel {channel}): the "
            "pseudo-inverse value there is Σ this ⊙ (y − b). Aᵀ would use only the filter "
            f"taps; A⁺ spreads over the whole output (largest weight = {100 * share:.0f} % "
            f"of the total). Solve: {report.method}, {counted(report.iterations, 'iteration')}."
            + (
                "<br><b>All zero</b>: every filter tap that reads this pixel (channel 0) "
                "is 0, so A⁺ gives it 0: it lies entirely in the null space."
                if not np.any(kernel)
                else ""
            )
        )

    def _on_kernel_failed(self, _rid: int, message: str) -> None:
        self.dock.show_text(f"Could not compute the row of A⁺: {message.splitlines()[0]}")

    def _on_kernel_progress(self, _rid: int, iteration: float) -> None:
        self.dock.show_text(f"Computing the row of A⁺… iteration {int(iteration)}")

    def _tap_labels(self, result: Result, links) -> list[str]:
        geom = result.geometry  # the labels are the taps as applied (flipped, grouped)
        weights = dense_filter(result.params.weights, geom.groups, geom.flip)
        channel = min(self.panels.forward_channel, weights.shape[3] - 1)
        labels = []
        for i, j in zip(links.tap_rows, links.tap_cols, strict=True):
            values = weights[i, j, :, channel]
            if np.allclose(values, values[0]):
                labels.append(fmt(round(float(values[0]), 3)))
            else:
                # one line per input channel: "2/1/0" in a row overran the pixels beside
                labels.append("\n".join(fmt(round(float(v), 2)) for v in values))
        return labels
