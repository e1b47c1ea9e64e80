"""Reconstruction options (methods, reg, rtol, iterations, noise) and the solver's progress.

The widget only holds values; the window turns them into ``Params`` and reports the solve's
progress back with :meth:`ReconOptions.set_progress`, :meth:`~ReconOptions.set_busy` and
:meth:`~ReconOptions.set_report`.
"""

from __future__ import annotations

import math
from typing import Any

from PyQt5.QtCore import QSize, Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core import params as schema
from ...core.registry import METHOD_SPECS, METHODS
from .common import DOCK_WIDTH, section_header
from .reg_slider import RegSlider

__all__ = ["METHOD_LABELS", "RTOL_CHOICES", "ReconOptions"]

#: Checkbox text of each reconstruction (from the registry).
METHOD_LABELS: dict[str, str] = {m.name: m.label for m in METHOD_SPECS if m.reconstruction}
_METHOD_TIPS: dict[str, str] = {m.name: m.tip for m in METHOD_SPECS if m.reconstruction}
_FIRST_ROWS = ("transposed", "pinv", "normalized_transposed")
RTOL_CHOICES: tuple[float, ...] = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
_DEFAULTS = schema.defaults()  # the one set of defaults, shared with the command line
_REPORT_OK = "color: #1d5e20;"
_REPORT_WARN = "color: #b35900; font-weight: bold;"


def _short(value: float) -> str:
    """One significant digit, exponent without padding: ``3e-7``, ``0.5``."""
    text = f"{value:.1g}"
    mantissa, sep, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if sep else text


class ReconOptions(QWidget):
    """Options of the reconstructions and the progress of the pseudo-inverse solve.

    Signals
    -------
    optionsChanged()
        Once per change, by the user or by :meth:`set_values` when something changed.
    cancelRequested()
        The user pressed Cancel.
    """

    optionsChanged = pyqtSignal()
    cancelRequested = pyqtSignal()
    #: The :class:`~deconv_gui.core.Params` fields this form edits.
    FIELDS: tuple[str, ...] = ("methods", "reg", "rtol", "max_iter", "noise_sigma", "noise_seed")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(5)
        layout.addWidget(section_header("Reconstruction"))

        self._method_checks: dict[str, QCheckBox] = {}
        rows = [QHBoxLayout(), QHBoxLayout(), QHBoxLayout()]
        for name in METHODS:
            check = QCheckBox(METHOD_LABELS.get(name, name))
            check.setToolTip(_METHOD_TIPS.get(name, name))
            check.setChecked(name in _DEFAULTS["methods"])
            check.toggled.connect(self.optionsChanged)
            # transposed and pinv side by side, the normalised variant below, then the
            # reconstructions with a prior (every other method of the registry)
            row = 0 if name in ("transposed", "pinv") else 1
            rows[row if name in _FIRST_ROWS else 2].addWidget(check)
            self._method_checks[name] = check
        self._method_checks["transposed"].setEnabled(False)  # cheap; always computed
        for row in rows:
            row.setSpacing(12)
            row.addStretch(1)
            layout.addLayout(row)

        form = QGridLayout()
        form.setHorizontalSpacing(6)
        form.setVerticalSpacing(3)
        reg_label = QLabel("reg λ")
        self._reg = RegSlider()
        reg_label.setToolTip(self._reg.slider.toolTip())
        self._reg.valueChanged.connect(self.optionsChanged)
        form.addWidget(reg_label, 0, 0)
        form.addWidget(self._reg, 0, 1, 1, 3)

        form.addWidget(self._label("rtol", "Relative residual at which the solve stops."), 1, 0)
        self._rtol = QComboBox()
        for value in RTOL_CHOICES:
            self._rtol.addItem(f"{value:.0e}", value)
        self._set_rtol(_DEFAULTS["rtol"])
        self._rtol.setToolTip(
            "Relative tolerance of the pseudo-inverse solve: it stops when "
            "‖Aᵀ(A x − y)‖ falls below rtol times its starting value. Smaller = more exact, slower."
        )
        self._rtol.currentIndexChanged.connect(self.optionsChanged)
        form.addWidget(self._rtol, 1, 1)
        form.addWidget(self._label("max iter", "Iteration limit of the solve."), 1, 2)
        self._max_iter = QSpinBox()
        most = int(schema.rule("max_iter").maximum)
        self._max_iter.setRange(0, most)
        self._max_iter.setSpecialValueText("auto")
        self._max_iter.setValue(_DEFAULTS["max_iter"] or 0)
        self._max_iter.setToolTip(
            f"Largest number of solver iterations (1–{most}); 'auto' (0) uses the solver's default."
        )
        self._max_iter.valueChanged.connect(self.optionsChanged)
        form.addWidget(self._max_iter, 1, 3)

        noise_tip = "Simulated measurement noise: Gaussian σ added to y, in image units."
        form.addWidget(self._label("noise σ", noise_tip), 2, 0)
        self._noise = QDoubleSpinBox()
        self._noise.setRange(0.0, schema.rule("noise_sigma").maximum)
        # what set_values was given, exactly (the spin box shows it rounded)
        self._noise_value = float(_DEFAULTS["noise_sigma"])
        self._noise.setSingleStep(0.005)
        self._noise.setDecimals(3)
        self._noise.setToolTip(
            noise_tip + " 0 = exact. The pseudo-inverse amplifies noise; reg > 0 damps it."
        )
        self._noise.valueChanged.connect(self._on_noise_changed)
        form.addWidget(self._noise, 2, 1)
        form.addWidget(self._label("seed", "Seed of the simulated noise (reproducible)."), 2, 2)
        self._noise_seed = QSpinBox()
        self._noise_seed.setRange(0, int(schema.rule("noise_seed").maximum))
        self._noise_seed.setValue(_DEFAULTS["noise_seed"])
        self._noise_seed.setToolTip("Seed of the simulated noise, so a result is reproducible.")
        self._noise_seed.valueChanged.connect(self.optionsChanged)
        form.addWidget(self._noise_seed, 2, 3)
        for widget in (self._rtol, self._max_iter, self._noise, self._noise_seed):
            widget.setMaximumWidth(widget.fontMetrics().horizontalAdvance("0.0000") + 40)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        layout.addLayout(form)

        self._progress = QProgressBar()
        self._progress.setRange(0, 1000)
        self._progress.setTextVisible(True)
        bar_font = self._progress.font()
        bar_font.setPointSizeF(bar_font.pointSizeF() * 0.9)
        self._progress.setFont(bar_font)
        self._progress.setToolTip(
            "Pseudo-inverse solve: iteration and relative residual. The bar shows how far the "
            "residual has fallen towards rtol (log scale) or the iterations used, whichever is "
            "further."
        )
        layout.addWidget(self._progress)
        report_row = QHBoxLayout()
        report_row.setSpacing(4)
        self._report = QLabel()
        self._report.setWordWrap(True)
        self._report.setToolTip("What the last pseudo-inverse solve reported.")
        self._cancel = QPushButton("Cancel")
        self._cancel.setToolTip("Stop the running pseudo-inverse solve (a newer edit also does).")
        self._cancel.clicked.connect(self.cancelRequested)
        report_row.addWidget(self._report, 1)
        report_row.addWidget(self._cancel, 0, Qt.AlignTop)
        layout.addLayout(report_row)
        names = {
            "rtol": self._rtol,
            "max_iter": self._max_iter,
            "noise_sigma": self._noise,
            "noise_seed": self._noise_seed,
            "progress": self._progress,
            "cancel": self._cancel,
            "report": self._report,
        }
        names.update({f"method_{name}": check for name, check in self._method_checks.items()})
        for name, widget in names.items():
            widget.setObjectName(name)
        self._reg.slider.setObjectName("reg")
        self._noise.setValue(self._noise_value)
        self._on_noise_changed(self._noise.value(), emit=False)
        self.set_busy(False)
        self._set_bar(0)
        self._progress.setFormat("pinv: idle")

    @staticmethod
    def _label(text: str, tip: str) -> QLabel:
        label = QLabel(text)
        label.setToolTip(tip)
        return label

    def sizeHint(self) -> QSize:
        return QSize(DOCK_WIDTH, super().sizeHint().height())

    # ----------------------------------------------------------------------------- values
    def reg(self) -> float:
        """Tikhonov weight (0 = exact pseudo-inverse)."""
        return self._reg.value()

    def rtol(self) -> float:
        """Relative tolerance of the solve."""
        return float(self._rtol.currentData())

    def max_iter(self) -> int | None:
        """Iteration limit, or None for the solver's default ('auto')."""
        value = self._max_iter.value()
        return None if value == 0 else value

    def noise_sigma(self) -> float:
        """σ of the simulated measurement noise."""
        return self._noise_value

    def noise_seed(self) -> int:
        """Seed of the simulated noise."""
        return int(self._noise_seed.value())

    def methods(self) -> tuple[str, ...]:
        """Checked methods, in :data:`~deconv_gui.core.METHODS` order."""
        return tuple(name for name in METHODS if self._method_checks[name].isChecked())

    def values(self) -> dict[str, Any]:
        """The :attr:`FIELDS` as ``Params`` keyword arguments."""
        return {
            "methods": self.methods(),
            "reg": self.reg(),
            "rtol": self.rtol(),
            "max_iter": self.max_iter(),
            "noise_sigma": self.noise_sigma(),
            "noise_seed": self.noise_seed(),
        }

    def set_values(self, **values: Any) -> None:
        """Set any subset of :attr:`FIELDS` by name (``max_iter=None`` means 'auto').

        Each value is checked by the ``Params`` schema, and every value it accepts is
        shown exactly. Emits :attr:`optionsChanged` once if something changed.
        ``"transposed"`` stays on; the insight methods in ``methods`` are not this
        form's (the Insight menu switches them) and are ignored.

        Raises
        ------
        ValueError
            Naming the field, when a value is out of range or unknown (nothing changes).
        """
        unknown = sorted(set(values) - set(self.FIELDS))
        if unknown:
            raise ValueError(f"values must be among {', '.join(self.FIELDS)}; unknown: {unknown}")
        checked = {name: schema.check(name, value) for name, value in values.items()}
        before = self.values()
        blocked = [self._rtol, self._max_iter, self._noise, self._noise_seed]
        blocked += list(self._method_checks.values())
        for widget in blocked:
            widget.blockSignals(True)
        try:
            if "reg" in checked:
                self._reg.set_value(checked["reg"])
            if "rtol" in checked:
                self._set_rtol(checked["rtol"])
            if "max_iter" in checked:
                self._max_iter.setValue(checked["max_iter"] or 0)
            if "noise_sigma" in checked:
                self._noise_value = checked["noise_sigma"]
                self._noise.setValue(self._noise_value)
                self._on_noise_changed(self._noise.value(), emit=False)
            if "noise_seed" in checked:
                self._noise_seed.setValue(checked["noise_seed"])
            if "methods" in checked:
                for name, check in self._method_checks.items():
                    check.setChecked(name in checked["methods"] or name == "transposed")
        finally:
            for widget in blocked:
                widget.blockSignals(False)
        if self.values() != before:
            self.optionsChanged.emit()

    def _set_rtol(self, value: float) -> None:
        index = self._rtol.findData(value)
        if index < 0:  # a value from a session that is not in the list
            self._rtol.addItem(f"{value:.1e}", value)
            index = self._rtol.count() - 1
        self._rtol.setCurrentIndex(index)

    def _on_noise_changed(self, value: float, emit: bool = True) -> None:
        if emit:  # the user moved the spin box: its value is the value now
            self._noise_value = float(value)
        self._noise_seed.setEnabled(self._noise_value > 0)
        if emit:
            self.optionsChanged.emit()

    # ----------------------------------------------------------------------------- progress
    def set_progress(self, iteration: int, max_iter: int | None, relative_residual: float) -> None:
        """Show the solve's progress: "pinv: iteration 12, residual 3e-07"."""
        fraction = 0.0
        if max_iter:
            fraction = iteration / max_iter
        if relative_residual > 0 and math.isfinite(relative_residual):
            towards_rtol = math.log10(relative_residual) / math.log10(self.rtol())
            fraction = max(fraction, towards_rtol)
        self._set_bar(round(1000 * min(max(fraction, 0.0), 1.0)))
        self._progress.setFormat(
            f"pinv: iteration {iteration}, residual {_short(relative_residual)}"
        )

    def _set_bar(self, value: int) -> None:
        """Move the progress bar without a synchronous repaint.

        ``QProgressBar.setValue`` repaints at once (flushing every pending paint of the
        window, 7-45 ms) whenever the bar visibly moves; with updates disabled around it,
        the bar is only marked dirty and painted with the next event-loop pass.
        """
        if self._progress.value() == value:
            return
        self._progress.setUpdatesEnabled(False)
        self._progress.setValue(value)
        self._progress.setUpdatesEnabled(True)  # schedules an ordinary update()

    def set_busy(self, busy: bool) -> None:
        """A solve is running (Cancel enabled) or not."""
        self._cancel.setEnabled(bool(busy))
        if busy:
            self._set_bar(0)
            self._progress.setFormat("pinv: starting…")
            self._report.clear()

    def set_report(self, text: str, warning: bool | None = None) -> None:
        """Show the solver's final message; orange when it did not converge.

        ``warning=None`` decides from the text ("not converged", "cancelled", "stopped").
        """
        if warning is None:
            lowered = text.lower()
            warning = any(word in lowered for word in ("not converge", "cancel", "stopped"))
        style = _REPORT_WARN if warning else _REPORT_OK
        if self._report.styleSheet() != style:  # setStyleSheet re-polishes even if equal
            self._report.setStyleSheet(style)
        if self._report.text() != text:
            self._report.setText(text)
        if not warning and text:
            self._set_bar(1000)

    def report_text(self) -> str:
        """The report shown (for tests)."""
        return self._report.text()

    def progress_text(self) -> str:
        """The progress bar's text (for tests)."""
        return self._progress.format()
