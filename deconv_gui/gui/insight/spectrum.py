"""Insight → "Spectrum and regularisation…" (issue 6, item 5).

:class:`SpectrumWindow` plots the singular values of ``A`` for the window's current
filter, stride and image shape (exact SVD of the dense matrix when small, else the
symbol approximation of ``A Aᵀ``, labelled as such) with the current ``reg`` drawn at
``σ = √reg``, and, on demand, the L-curve and PSNR-versus-reg of the Tikhonov
solutions (:func:`~deconv_gui.core.tikhonov_curve`) with progress and Cancel. All
math runs in :class:`JobRunner` threads; :meth:`SpectrumWindow.shutdown` stops them.
"""

from __future__ import annotations

import numpy as np
from qtpy import QtCore, QtWidgets

from ...core import (
    ConvGeometry,
    ConvOperator,
    Result,
    SingularValues,
    TikhonovCurve,
    exact_rank_feasible,
    singular_values,
    tikhonov_curve,
)
from ..runner import JobRunner, Priority
from ..state import AppState
from .dialog import InsightDialog
from .job_bar import JobBar
from .spectrum_plots import FLOOR_RATIO, CurvePlots, SpectrumPlot

__all__ = ["CURVE_REGS", "SpectrumWindow", "computing_note", "curve_regs"]

#: The log-spaced reg values of the L-curve (the current reg is added to them).
CURVE_REGS = np.logspace(-6, 1, 12)


def computing_note(geom: ConvGeometry) -> str:
    """What the spectrum window says while :func:`singular_values` runs: an exact SVD
    (a small ``A``) or the periodic symbol's estimate (too large for a dense SVD).

    Examples
    --------
    >>> from deconv_gui.core import ConvGeometry
    >>> computing_note(ConvGeometry((7, 7, 3), (3, 3, 3), stride=2, padding=1))[:60]
    'Computing the singular values of the 16 × 147 matrix A by an'
    >>> "approximate" in computing_note(ConvGeometry((256, 256, 3), (3, 3, 3), stride=2))
    True
    """
    size = f"the {geom.n_equations:,} × {geom.n_unknowns:,} matrix A"
    if exact_rank_feasible(geom):
        return f"Computing the singular values of {size} by an exact (dense) SVD…"
    return (
        f"Estimating the singular values of {size} (too large for an exact SVD): "
        "approximate, from its periodic symbol on the output grid…"
    )


def curve_regs(current: float) -> np.ndarray:
    """:data:`CURVE_REGS` plus ``current`` (sorted, without duplicates)."""
    return np.unique(np.append(CURVE_REGS, float(current)))


def _problem_key(result: Result) -> tuple:
    p = result.params
    return (result.geometry, p.weights.tobytes())


def _curve_key(result: Result) -> tuple:
    p = result.params
    return (*_problem_key(result), p.bias, result.forward_output.tobytes(), p.reg)


class SpectrumWindow(InsightDialog):
    """Singular values of ``A`` with the current reg, and the L-curve on demand."""

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(state, "spectrum", "Spectrum and regularisation", parent)
        self.spectrum: SingularValues | None = None
        self.curve: TikhonovCurve | None = None
        self.curve_reg: float | None = None
        self._spectrum_key: tuple | None = None
        self._curve_key: tuple | None = None
        self._curve_pending: int | None = None
        self.spectrum_jobs = JobRunner(self, priority=Priority.INSIGHT)
        self.spectrum_jobs.resultReady.connect(self._on_spectrum)
        self.spectrum_jobs.failed.connect(lambda _r, msg: self._spectrum_failed(msg))
        self.curve_jobs = JobRunner(self, priority=Priority.INSIGHT)
        self.curve_jobs.resultReady.connect(self._on_curve)
        self.curve_jobs.failed.connect(lambda _r, msg: self._curve_done(f"Failed: {msg}"))
        self.curve_jobs.progress.connect(self._on_curve_progress)
        self._follow_result(1100, 720)

    # -- building --------------------------------------------------------------------------
    def _build(self) -> None:
        self.spectrum_plot = SpectrumPlot()
        self.spectrum_status = QtWidgets.QLabel()
        self.spectrum_status.setWordWrap(True)
        self.spectrum_status.setToolTip(
            "reg λ damps each direction of A by σ² / (σ² + λ): directions with σ below √λ "
            "are mostly suppressed"
        )
        self.spectrum_bar = JobBar(
            self.spectrum_jobs, "the singular values", self._spectrum_cancelled
        )
        status_row = QtWidgets.QHBoxLayout()
        status_row.addWidget(self.spectrum_status, 1)
        status_row.addWidget(self.spectrum_bar)
        self.curve_plots = CurvePlots()
        self.compute_button = QtWidgets.QPushButton("Compute L-curve")
        self.compute_button.setToolTip(
            "Solve the Tikhonov problem min ‖A x − (y − b)‖² + λ‖x‖² for 12 log-spaced λ "
            "from 1e-6 to 10 plus the current reg (one solve each; may take a while)"
        )
        self.compute_button.clicked.connect(self.compute_curve)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop computing the L-curve")
        self.cancel_button.clicked.connect(self.cancel_curve)
        self.cancel_button.setEnabled(False)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setToolTip("How many of the reg values are solved")
        self.progress.setVisible(False)  # an empty bar before anything runs says nothing
        self.curve_status = QtWidgets.QLabel("Press 'Compute L-curve' to solve for a range of reg.")
        self.curve_status.setToolTip("State of the L-curve computation")
        self.curve_status.setWordWrap(True)
        curve_row = QtWidgets.QHBoxLayout()
        for widget in (self.compute_button, self.cancel_button, self.progress):
            curve_row.addWidget(widget)
        curve_row.addWidget(self.curve_status, 1)
        close = self._close_button(
            "Close this window (background work stops; reopening it catches up)"
        )
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.spectrum_plot, 3)
        layout.addLayout(status_row)
        layout.addWidget(self.curve_plots, 3)
        layout.addLayout(curve_row)
        layout.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignRight)

    # -- public ----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while the spectrum or the L-curve is being computed."""
        return self.spectrum_jobs.busy or self.curve_jobs.busy

    def compute_curve(self) -> None:
        """Start the L-curve for the current result (cancels a running one)."""
        result = self.state.result
        if result is None:
            return
        p = result.params
        regs = curve_regs(p.reg)
        y, image = result.forward_output, result.image

        def job(cancel, progress):
            return tikhonov_curve(
                y,
                ConvOperator(result.geometry, p.weights),
                p.bias,
                [float(r) for r in regs],
                reference=image,
                rtol=p.rtol,
                max_iter=p.max_iter,
                progress=lambda _done, fraction: progress(fraction),
                cancel=cancel,
            )

        self.curve = None
        self.curve_plots.clear(f"Solving for {regs.size} values of reg…")
        self._curve_key = _curve_key(result)
        self.curve_reg = p.reg
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.compute_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.curve_status.setText(f"Solving for {regs.size} values of reg…")
        self._curve_pending = self.curve_jobs.submit(job)

    def cancel_curve(self) -> None:
        """Stop the L-curve computation; nothing partial is drawn."""
        self.curve_jobs.cancel()
        self._curve_pending = None
        self._curve_done("Cancelled.")

    def closeEvent(self, event) -> None:
        if self.curve_jobs.busy:
            self.cancel_curve()
        super().closeEvent(event)

    def _forget(self) -> None:
        if self.spectrum_jobs.busy:  # a finished spectrum stays: the layer has not changed
            self._spectrum_key = None

    # -- spectrum --------------------------------------------------------------------------
    def _on_result(self, result: Result | None) -> None:
        if result is None:
            return
        key = _problem_key(result)
        if key != self._spectrum_key:
            self._spectrum_key = key
            self._start_spectrum(result)
        else:
            self._show_reg()
        if self._curve_key is not None and _curve_key(result) != self._curve_key:
            self.curve_jobs.cancel()
            self._curve_pending = None
            self.curve = None
            self._curve_key = None
            self.curve_plots.clear()
            self._curve_done("The settings changed: press 'Compute L-curve' for the new ones.")

    def _start_spectrum(self, result: Result) -> None:
        p, geom = result.params, result.geometry

        def job(cancel, progress):
            op = ConvOperator(geom, p.weights)
            return singular_values(op, cancel=cancel, progress=lambda _k, f: progress(f))

        self.spectrum = None
        self.spectrum_plot.clear_values()
        self.spectrum_status.setText(computing_note(geom))
        self.spectrum_bar.started()
        self.spectrum_jobs.submit(job)

    def _spectrum_cancelled(self) -> None:
        """Nothing partial is drawn; the next change of layer (or reopening) computes again."""
        self.spectrum = None
        self._spectrum_key = None
        self.spectrum_plot.clear_values("Cancelled: no singular values computed.")
        self.spectrum_status.setText(
            "Cancelled. The singular values are computed again when the layer changes or "
            "the window is reopened."
        )

    def _on_spectrum(self, _rid: int, spectrum: SingularValues) -> None:
        self.spectrum = spectrum
        self.spectrum_plot.show_values(spectrum)
        self._show_reg()

    def _spectrum_failed(self, message: str) -> None:
        self.spectrum_plot.clear_values("Failed: see below.")
        self.spectrum_status.setText(f"Could not compute the singular values: {message}")

    def _show_reg(self) -> None:
        result = self.state.result
        if self.spectrum is None or result is None:
            return
        reg = result.params.reg
        self.spectrum_plot.show_reg(reg)
        values = self.spectrum.values
        geom = result.geometry
        kind = (
            "exact (dense SVD)"
            if self.spectrum.exact
            else "approximate: symbol of A Aᵀ on the output grid (borders ignored)"
        )
        lost = geom.n_unknowns - values.size
        text = (
            f"{values.size:,} singular values, {kind}. A has only {values.size:,} rows, so "
            f"the other {lost:,} of the {geom.n_unknowns:,} input directions have σ = 0: "
            "they are lost. "
            if lost > 0
            else f"{values.size:,} singular values, {kind}. "
        )
        zero = int(np.count_nonzero(values <= values.max(initial=0.0) * FLOOR_RATIO))
        if zero:
            text += f"{zero:,} of the σ are (numerically) 0, drawn at the plot's floor. "
        if reg > 0:
            below = int(np.count_nonzero(values < np.sqrt(reg)))
            text += (
                f"reg = {reg:.3g}: {below:,} of them lie below √reg = {np.sqrt(reg):.3g} "
                "(dashed line) and are damped by σ²/(σ² + reg) < ½."
            )
        else:
            text += "reg = 0: no damping (the exact pseudo-inverse divides by every σ > 0)."
        self.spectrum_status.setText(text)

    # -- L-curve ---------------------------------------------------------------------------
    def _on_curve_progress(self, rid: int, fraction: float) -> None:
        if rid != self._curve_pending:
            return
        self.progress.setValue(round(100 * fraction))

    def _on_curve(self, rid: int, curve: TikhonovCurve) -> None:
        if rid != self._curve_pending:  # finished just as it was cancelled
            return
        self._curve_pending = None
        self.curve = curve
        self.progress.setValue(100)
        self.curve_plots.show_curve(curve, self.curve_reg)
        self._curve_done(
            f"Done: {curve.regs.size} solves. Highlighted: the current reg = {self.curve_reg:.3g}."
        )

    def _curve_done(self, message: str) -> None:
        self.compute_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.curve_status.setText(message)
        if self.curve is None:  # cancelled, failed or out of date: nothing drawn
            self.curve_plots.clear()
            self.progress.setVisible(False)
