"""Live updates: every edit → a short debounce → the pipeline off the GUI thread → the panels.

:class:`LiveUpdates` owns the debounce timer and the runner, and draws the newest
:class:`~deconv_gui.core.Result` one panel per event-loop pass, so the window stays
responsive while it draws. When every panel shows the result it goes into the
:class:`~deconv_gui.gui.state.AppState` (whose ``resultChanged`` tells the rest). It
reports what happens through signals; the window turns them into text and progress
bars. Nothing here does math.

The cheap panels first: the pipeline hands over a partial result after the forward
output and the non-iterative methods (``Result.pending`` names the slow ones), which is
drawn at once; the slow panels keep their previous image, dimmed under a "computing…"
label with the solve's iteration and residual, until the complete result replaces it. A
cancelled or failed computation puts the last complete result back on screen, and so do
settings found invalid (the computation they stopped is dropped: its late "cancelled"
would hide why nothing is computed).

Two passes: SSIM is most of the metrics' cost (a few hundred milliseconds on a large
image), so the live pass runs with ``Params(ssim=False)`` and, once the result is on
screen, :func:`~deconv_gui.core.complete_metrics` fills SSIM in as a second,
cancellable job of the lowest priority in the application's pool. Any edit cancels it, and
a second pass whose result is no longer on screen is dropped.

While other panels take the place of these (the network up to here: :meth:`set_hidden`),
nothing is computed for them: an edit is checked and recorded, and the settings of the
moment are computed when the panels show again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from qtpy import QtCore

from ..core import ConvGeometry, Params, Result, complete_metrics
from .panels.grid import PanelGrid
from .pipeline_runner import PipelineRunner
from .runner import JobRunner, Priority
from .state import AppState
from .support.qthelp import make_timer

__all__ = ["DEBOUNCE_MS", "LiveUpdates"]

#: Delay between the last edit and the computation.
DEBOUNCE_MS = 150


class LiveUpdates(QtCore.QObject):
    """Recompute after edits and draw the newest result, panel by panel.

    Parameters
    ----------
    state : AppState
        Where the image comes from and where the drawn result goes.
    panels : PanelGrid
        Where the result is drawn.
    read_params : callable
        Returns the widgets' values as :class:`~deconv_gui.core.Params` (ValueError
        when they are invalid).
    parent : QObject, optional
        The Qt parent.

    Signals
    -------
    started(object)
        A computation started for this :class:`~deconv_gui.core.ConvGeometry`.
    invalid(str)
        The settings are invalid (the panels keep the previous result; the computation
        they stopped reports nothing more).
    failed(str)
        The computation failed (the panels keep the previous result).
    cancelled()
        The newest computation was cancelled and no new one is pending.
    progress(int, float, str)
        Solver iteration, its value (the pseudo-inverse's relative residual, a prior's
        relative change) and the method iterating (``"pinv"``, ``"tv"``, ...).
    drawFailed(str)
        A bug while drawing; the previous state is kept.
    shown(object)
        The panels show a :class:`~deconv_gui.core.Result` that is not the state's new
        one: a partial result (its cheap panels drawn, ``Result.pending`` names the
        others), or the last complete result put back after a cancel or a failure.
    """

    started = QtCore.Signal(object)
    invalid = QtCore.Signal(str)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()
    progress = QtCore.Signal(int, float, str)
    drawFailed = QtCore.Signal(str)
    shown = QtCore.Signal(object)

    def __init__(
        self,
        state: AppState,
        panels: PanelGrid,
        read_params: Callable[[], Params],
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._panels = panels
        self._read_params = read_params
        self._submitted: dict[int, float] = {}
        self.runner = PipelineRunner(self, hold_busy=True)  # busy until drawn
        #: the second pass: SSIM filled in after the live result is on screen
        self.metrics_runner = JobRunner(self, priority=Priority.METRICS)
        self.metrics_runner.resultReady.connect(self._on_metrics)
        self.runner.resultReady.connect(self.on_result)
        self.runner.partialReady.connect(self.on_partial)
        self.runner.failed.connect(self._on_failed)
        self.runner.progress.connect(self._on_progress)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.busyChanged.connect(state.set_busy)
        self._debounce = make_timer(self, DEBOUNCE_MS, single_shot=True)
        self._debounce.timeout.connect(self.compute_now)  # type: ignore[arg-type]  # result unused
        # the result being drawn panel by panel: (request id, result, steps, compute time)
        self._drawing: tuple[int, Result, Iterator[str], float | None] | None = None
        #: why the settings are invalid, as :attr:`invalid` said ("" once they compute)
        self.problem = ""
        #: GUI-thread seconds spent drawing the latest result (for benchmarks)
        self.draw_seconds = 0.0
        #: seconds from submit to the arrival of the result on screen (None: unknown)
        self.last_wall: float | None = None
        self._draw_timer = make_timer(self, 0, single_shot=True)
        self._draw_timer.timeout.connect(self._draw_next)
        #: the panels are hidden (:meth:`set_hidden`); stale: what they show is not the
        #: settings' result, computed when they show again
        self.hidden, self._stale = False, False

    @property
    def pending(self) -> bool:
        """True while an edit waits for the debounce timer or a new image is loading."""
        return self._debounce.isActive() or self._state.loading

    @property
    def shows_partial(self) -> bool:
        """True while the panels show a partial result (slow panels still computing)."""
        shown = self._panels.result
        return shown is not None and bool(shown.pending)

    @property
    def idle(self) -> bool:
        """True when nothing waits or runs: the newest result is on screen with its SSIM."""
        return not (self.pending or self.runner.busy or self.metrics_runner.busy)

    # -- requests ----------------------------------------------------------------------------
    def schedule(self) -> None:
        """Restart the debounce timer; a running solve is cancelled (it is stale now)."""
        self.runner.cancel()
        self.metrics_runner.cancel()
        self._debounce.start()

    def compute_now(self) -> int | None:
        """Validate the current settings and start the computation; returns the request id.

        Invalid settings emit :attr:`invalid` (the panels keep the previous result) and
        None is returned; so it is while the panels are hidden (:meth:`set_hidden`), the
        settings recorded and computed when they show.
        """
        self._debounce.stop()
        image = self._state.image
        if image is None:
            return None
        try:
            params = self._read_params()
            geometry: ConvGeometry = params.geometry(image.pixels.shape)
        except ValueError as exc:
            # the computation this edit stopped would report "cancelled" (or its stale
            # result) after this and hide why nothing is computed: it is dropped instead
            self.runner.drop()
            self.metrics_runner.cancel()
            self._drop_partial("invalid settings")
            self.problem = str(exc)
            self.invalid.emit(self.problem)
            return None
        self.problem = ""
        if self.hidden:  # no CPU for panels nobody sees: computed when they show
            self._stale = True
            return None
        self._stale = False
        self.started.emit(geometry)
        self._state.set_params(params)
        self.metrics_runner.cancel()
        rid = self.runner.compute(image.pixels, params, ssim=False)
        self._submitted = {rid: time.perf_counter()}
        return rid

    def set_hidden(self, hidden: bool) -> None:
        """Other panels take the place of these (True: what runs stops, edits are not
        computed) or give it back (False: the settings are computed if they changed, or
        if their computation was stopped)."""
        hidden = bool(hidden)
        if hidden == self.hidden:
            return
        self.hidden = hidden
        if hidden:
            self._stale = self._stale or self.pending or self.runner.busy
            self.cancel()
        elif self._stale:
            self.compute_now()

    def cancel(self) -> None:
        """Stop the running computation (the panels keep the previous result)."""
        self._debounce.stop()
        self.runner.cancel()
        self.metrics_runner.cancel()

    def shutdown(self) -> None:
        """Stop the timers and the runners; nothing is drawn or reported afterwards."""
        self._debounce.stop()
        self._draw_timer.stop()
        self._drawing = None
        self.metrics_runner.shutdown()
        self.runner.shutdown()

    # -- drawing -----------------------------------------------------------------------------
    def on_partial(self, rid: int, result: Result) -> None:
        """Draw the cheap panels of ``result`` now; its pending ones show a placeholder."""
        self._drawing = (rid, result, self._panels.draw_steps(result), None)
        self._draw_next()

    def on_result(self, rid: int, result: Result) -> None:
        """Start drawing ``result``: one panel now, the others in later event-loop passes."""
        started = self._submitted.pop(rid, None)
        wall = None if started is None else time.perf_counter() - started
        self._drawing = (rid, result, self._panels.draw_steps(result), wall)
        self.draw_seconds = 0.0
        self._draw_next()

    def _draw_next(self) -> None:
        """Draw the next panel of the result being drawn; finish when all are drawn.

        Each step is a separate event-loop pass (a zero-delay timer), so input, timers and
        the panels' own paints run in between and the window never freezes for the
        whole result. A newer result replaces the one being drawn.
        """
        if self._drawing is None:
            return
        rid, result, steps, wall = self._drawing
        start = time.perf_counter()
        try:
            finished = next(steps, None) is None
            if finished and result.pending:  # a partial result: the rest is still to come
                self._drawing = None
                self.shown.emit(result)
            elif finished:
                self._drawing = None
                self.last_wall = wall
                self._state.set_result(result)
                self.runner.release(rid)
                self._complete_metrics(result)
        except Exception as exc:  # a drawing bug must not lose the previous state
            self._drawing = None
            self.runner.release(rid)
            self.drawFailed.emit(f"Could not draw the result: {type(exc).__name__}: {exc}")
            return
        finally:
            self.draw_seconds += time.perf_counter() - start
        if not finished:
            self._draw_timer.start()

    # -- second pass -------------------------------------------------------------------------
    def _complete_metrics(self, result: Result) -> None:
        """Fill in the SSIM the live pass skipped, off the GUI thread, at low priority."""

        def job(cancel: threading.Event, _progress: object) -> tuple[Result, Result]:
            return result, complete_metrics(result, cancel=cancel)

        self.metrics_runner.submit(job)

    def _on_metrics(self, _rid: int, value: tuple[Result, Result]) -> None:
        source, completed = value
        if completed is not source:  # complete_metrics returns its input when done already
            self._state.complete_result(source, completed)

    def _on_progress(self, _rid: int, value: tuple[int, float, str]) -> None:
        if self.shows_partial:
            self._panels.show_progress(value[2], value[0], value[1])
        self.progress.emit(*value)

    def _on_failed(self, _rid: int, message: str) -> None:
        self._drop_partial("failed")
        self.failed.emit(message)

    def _on_cancelled(self, _rid: int) -> None:
        if not self._debounce.isActive():  # else a newer request replaces the partial
            self._drop_partial("cancelled")
            self.cancelled.emit()

    def _drop_partial(self, why: str) -> None:
        """The computation whose partial result is on screen stopped: the last complete
        result goes back on screen (the one :class:`AppState` holds), so panels, metrics
        and export agree; with none, the pending panels say ``why``."""
        drawing = None if self._drawing is None else self._drawing[1]
        shown = drawing or self._panels.result
        if shown is None or not shown.pending:
            return
        self._drawing = None
        previous = self._state.result
        if previous is not None:
            self._panels.show_result(previous)
            self.shown.emit(previous)
            return
        for panel in self._panels.panels.values():
            if panel.pending is not None:
                panel.set_pending(f"{why}: not computed")
