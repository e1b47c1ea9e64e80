"""The "auto" buttons of reg and TV λ: choose the weight from the measurement, off the GUI thread.

Both read the result on screen (its measurement ``y``, filter, geometry and noise), run
the core rule in a :class:`~deconv_gui.gui.runner.JobRunner` (progress in the solve's
bar, the button turns into "stop"), and set the chosen value with one edit of the
options. Any other edit of the options stops a running choice (the user's edit wins).

- reg: :func:`~deconv_gui.core.choose_reg`, the discrepancy principle when the noise is
  Gaussian with a known σ (``noise_sigma > 0`` and no photon noise), generalized
  cross-validation otherwise.
- TV λ: :func:`~deconv_gui.core.priors.choose_tv_lam`, the discrepancy principle; it
  needs that known σ (GCV has no closed form for TV), and says so otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

from qtpy import QtCore

from ..core import ConvOperator, Result, choose_reg
from ..core.priors import LamChoice, RegChoice, choose_tv_lam
from .controls.recon_options import ReconOptions
from .controls.reg_slider import format_reg
from .runner import JobRunner, Priority
from .state import AppState

__all__ = ["AutoWeights", "known_sigma"]


def known_sigma(result: Result) -> float | None:
    """The Gaussian noise σ of ``result``'s measurement, or None when it is not known.

    Photon noise makes the noise level depend on the pixel, so with ``photons > 0`` (or
    no simulated noise at all) there is no single σ for the discrepancy principle.
    """
    p = result.params
    return p.noise_sigma if p.noise_sigma > 0 and p.photons == 0 else None


class AutoWeights(QtCore.QObject):
    """Runs the reg and λ rules for the options' "auto" buttons.

    Parameters
    ----------
    state : AppState
        The result on screen (the measurement to fit) and the messages.
    options : ReconOptions
        Its ``auto_reg`` and ``priors.auto_lam`` buttons start and stop the jobs; the
        chosen value is set with :meth:`ReconOptions.set_values`.
    parent : QObject, optional
        The Qt parent.

    Signals
    -------
    chosen(str, float)
        The field (``"reg"`` or ``"prior_lam"``) and the value set.
    """

    chosen = QtCore.Signal(str, float)

    def __init__(
        self, state: AppState, options: ReconOptions, parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._state, self._options = state, options
        self.jobs = JobRunner(self, progress_interval=0.1, priority=Priority.BACKGROUND)
        self._field: str | None = None  # what the running job chooses
        self._applying = False
        options.autoRegRequested.connect(lambda: self._toggle("reg"))
        options.priors.autoLamRequested.connect(lambda: self._toggle("prior_lam"))
        options.optionsChanged.connect(self._on_options_changed)
        self.jobs.resultReady.connect(self._on_result)
        self.jobs.failed.connect(self._on_failed)
        self.jobs.cancelled.connect(lambda _rid: self._finish("stopped"))
        self.jobs.progress.connect(self._on_progress)

    @property
    def running(self) -> str | None:
        """The field being chosen, or None."""
        return self._field

    def _toggle(self, field: str) -> None:
        if self._field is not None:
            self.stop()
        else:
            self.start(field)

    def start(self, field: str) -> int | None:
        """Choose ``field`` (``"reg"`` or ``"prior_lam"``) for the result on screen.

        Returns the request id, or None (with a message) when there is nothing to fit.
        """
        result = self._state.result
        if result is None:
            self._state.notify("Nothing to choose from yet: wait for the first result.")
            return None
        sigma = known_sigma(result)
        if field == "prior_lam" and sigma is None:
            self._state.notify(
                "TV λ 'auto' needs the noise level: set a Gaussian noise σ > 0 (and photons "
                "off). Without σ no rule applies to TV (GCV has no closed form for it)."
            )
            return None
        p = result.params
        op = ConvOperator(result.geometry, p.weights.astype(result.forward_output.dtype))
        y, bias = result.forward_output, p.bias

        def job(cancel: threading.Event, progress: Callable[[object], None]) -> Any:
            def report(evaluation: int, _value: float) -> None:
                progress(int(evaluation))

            if field == "reg":
                return choose_reg(y, op, bias, sigma=sigma, progress=report, cancel=cancel)
            return choose_tv_lam(
                y,
                op,
                bias,
                sigma=float(cast(float, sigma)),  # not None: checked above
                nonneg=p.prior_nonneg,
                max_iter=p.prior_iter,
                progress=report,
                cancel=cancel,
            )

        self._field = field
        self._set_running(field, True)
        self._options.show_progress_text(f"auto {self._name(field)}: starting…")
        return self.jobs.submit(job)

    def stop(self) -> None:
        """Stop the running choice (nothing is changed)."""
        self.jobs.cancel()

    def shutdown(self) -> None:
        """Stop and wait (call before the widgets go away)."""
        self.jobs.shutdown()

    @staticmethod
    def _name(field: str) -> str:
        return "reg" if field == "reg" else "TV λ"

    def _set_running(self, field: str, running: bool) -> None:
        options = self._options
        (options.auto_reg if field == "reg" else options.priors.auto_lam).set_running(running)

    def _finish(self, text: str) -> None:
        field, self._field = self._field, None
        if field is not None:
            self._set_running(field, False)
            self._options.show_progress_text(f"auto {self._name(field)}: {text}")

    def _on_options_changed(self) -> None:
        if self._field is not None and not self._applying:
            self.stop()  # the user edited something: the choice would be stale

    def _on_progress(self, _rid: int, evaluation: object) -> None:
        if self._field is not None:
            rule = "evaluation" if self._field == "reg" else "TV solve"
            text = f"auto {self._name(self._field)}: {rule} {evaluation}…"
            self._options.show_progress_text(text)

    def _on_result(self, _rid: int, choice: object) -> None:
        field = self._field
        if field is None:
            return
        if isinstance(choice, RegChoice):
            value = choice.reg
            how = f"{'GCV' if choice.rule == 'gcv' else 'discrepancy principle'}"
        else:
            assert isinstance(choice, LamChoice)
            value, how = choice.lam, "discrepancy principle"
        self._finish(f"{format_reg(value)} ({how})")
        self._applying = True
        try:
            self._options.set_values(**{field: value})  # one edit
        finally:
            self._applying = False
        self._state.notify(
            f"{self._name(field)} = {format_reg(value)}, chosen by the {how} "
            f"({choice.evaluations} evaluations).",
            error=False,
        )
        self.chosen.emit(field, value)

    def _on_failed(self, _rid: int, message: str) -> None:
        field = self._field
        self._finish("failed")
        if field is not None:
            self._state.notify(f"Could not choose {self._name(field)}: {message}")
