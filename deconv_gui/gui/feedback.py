"""What the window says while it computes: the state line, the solver's progress, the metrics.

:class:`ComputeFeedback` listens to :class:`~deconv_gui.gui.live.LiveUpdates` and the
:class:`~deconv_gui.gui.state.AppState` and writes into the widgets that report on the
computation: the status bar's state line, the reconstruction options' progress bar and
report, the geometry editor's arithmetic line and the metrics table.
"""

from __future__ import annotations

from qtpy import QtCore, QtWidgets

from ..core import ConvGeometry, Result, registry
from ..view.arithmetic import channel_summary, padding_summary, size_ambiguity
from ..view.readout import solve_stop_note
from .controls.geometry import GeometryEditor
from .controls.recon_options import ReconOptions
from .live import LiveUpdates
from .panels.metrics import MetricsStrip
from .state import AppState

__all__ = ["ComputeFeedback", "prior_status"]


def prior_status(result: Result) -> str:
    """The status line after a result: "ready", what was left out and why (a decoder
    that no longer fits the layer), why the pseudo-inverse stopped short (its limit, κ(A),
    the Tikhonov reg to try) and which prior stopped at its limit."""
    stopped = [
        f"{registry.method(name).label} left out: {reason}"
        for name, reason in getattr(result, "left_out", {}).items()
    ]
    stopped += [note for note in (solve_stop_note(result.solver),) if note] + [
        f"{registry.method(name).label} NOT converged in {report.iterations} iterations"
        for name, report in result.prior_reports.items()
        if not report.converged
    ]
    return "; ".join(["ready", *stopped])


class ComputeFeedback(QtCore.QObject):
    """Connects the computation's events to the widgets that report on it.

    Parameters
    ----------
    state : AppState
        Busy flag, results on screen, messages.
    live : LiveUpdates
        Started, invalid, failed, cancelled and progress events.
    recon_options : ReconOptions
        Shows the solver's progress and report, and is disabled while busy.
    geometry_editor : GeometryEditor
        Shows the shape arithmetic (or why the settings are invalid).
    state_label : QLabel
        The status bar's one line about the computation.
    metrics : MetricsStrip
        The table under the panels.
    """

    def __init__(
        self,
        state: AppState,
        live: LiveUpdates,
        recon_options: ReconOptions,
        geometry_editor: GeometryEditor,
        state_label: QtWidgets.QLabel,
        metrics: MetricsStrip,
    ) -> None:
        super().__init__(live)
        self._state, self._live = state, live
        self._recon, self._geometry = recon_options, geometry_editor
        self._label, self._metrics = state_label, metrics
        live.started.connect(self._on_started)
        live.invalid.connect(self._on_invalid)
        live.failed.connect(self._on_failed)
        live.cancelled.connect(self._on_cancelled)
        live.progress.connect(self._on_progress)
        live.drawFailed.connect(state.notify)
        state.busyChanged.connect(self._on_busy)
        state.resultChanged.connect(self._on_result)
        state.metricsCompleted.connect(self._on_metrics_completed)
        live.shown.connect(self._on_shown)

    def _on_started(self, geometry: ConvGeometry) -> None:
        self._geometry.set_notes(
            channel_summary(geometry), padding_summary(geometry), size_ambiguity(geometry)
        )
        self._geometry.show_arithmetic(geometry.describe())

    def _on_invalid(self, message: str) -> None:
        self._geometry.show_arithmetic(message, error=True)
        self._label.setText("invalid settings: previous result kept")

    def _on_result(self, result: Result) -> None:
        self._metrics.show_result(result, self._live.last_wall)
        report = result.solver
        if report is not None:
            limit = self._recon.max_iter()
            self._recon.set_progress(report.iterations, limit, report.relative_residual)
        self._recon.set_report(report.message if report is not None else "")
        self._label.setText(prior_status(result))

    def _on_shown(self, result: Result) -> None:
        """A partial result, or the last complete one put back: the table follows the
        panels (a partial's rows still computing say so)."""
        self._metrics.show_result(result, None if result.pending else self._live.last_wall)

    def _on_metrics_completed(self, result: Result) -> None:
        # the SSIM of a result that a newer partial one has replaced on screen waits in
        # the state until that computation is cancelled (and the result put back)
        if not self._live.shows_partial:
            self._metrics.show_result(result, self._live.last_wall)

    def _on_failed(self, message: str) -> None:
        self._state.notify(f"Computation failed (previous result kept): {message}")
        self._label.setText("failed")
        self._metrics.stop_pending("failed: not computed")

    def _on_cancelled(self) -> None:
        self._label.setText("cancelled: previous result kept")
        self._recon.set_report("cancelled")
        self._metrics.stop_pending("cancelled: not computed")

    def _on_progress(self, iteration: int, value: float, method: str = "pinv") -> None:
        if method in ("pinv", "nullspace"):
            self._recon.set_progress(iteration, self._recon.max_iter(), value)
            what = "solving" if method == "pinv" else "splitting x = A⁺Ax + (x − A⁺Ax)"
            self._label.setText(f"{what}: iteration {iteration}, residual {value:.1e}")
            return
        label = registry.method(method).label
        limit = int(self._recon.values()["prior_iter"])
        if method == "relu_preimage":  # a solve of the layer: max iter's limit
            limit = self._recon.max_iter() or 2000
        self._recon.set_prior_progress(label, iteration, limit, value)
        self._label.setText(f"{label}: iteration {iteration} of at most {limit}")

    def show_loading(self, text: str) -> None:
        """One line about an image that loads ("" when it ended)."""
        if text:
            self._label.setText(text)
        elif not self._state.busy:
            self._label.setText("ready" if self._state.result is not None else "")

    def _on_busy(self, busy: bool) -> None:
        self._recon.set_busy(busy)
        if busy:
            self._label.setText("computing…")
