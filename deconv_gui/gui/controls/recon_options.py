"""Reconstruction options (methods, reg, rtol, limits, noise, priors) and the solve's progress.

The widget only holds values; the window turns them into ``Params`` and reports the solve's
progress back with :meth:`ReconOptions.set_progress`, :meth:`~ReconOptions.set_busy` and
:meth:`~ReconOptions.set_report`.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core import params as schema
from ...core.registry import METHOD_SPECS, METHODS
from ..support.qthelp import signals_blocked
from .common import DockSection
from .fields import (
    ExactSpin,
    FieldRow,
    checked_values,
    field_label,
    field_tip,
    float_spin,
    int_spin,
)
from .prior_options import PriorOptions
from .reg_slider import AutoButton, RegSlider
from .solve_progress import SolveProgress

__all__ = ["METHOD_LABELS", "RTOL_CHOICES", "ReconOptions"]

#: Checkbox text of each reconstruction (from the registry).
METHOD_LABELS: dict[str, str] = {m.name: m.label for m in METHOD_SPECS if m.reconstruction}
_METHOD_TIPS: dict[str, str] = {m.name: m.tip for m in METHOD_SPECS if m.reconstruction}
_PRIORS = tuple(m.name for m in METHOD_SPECS if m.prior)
_NO_PRIOR = "the priors solve with the conv alone, not with the layer's activation."
_CHANNEL_NOTE = (
    "'all' projects the whole map f(x₀). One channel: the others set to 0 first, as Zeiler & "
    "Fergus project one feature map. From 0 to C_out − 1; a channel the layer no longer has "
    "(a smaller C_out) goes back to 'all'."
)
_FIRST_ROWS = ("transposed", "pinv", "decoder", "normalized_transposed")
RTOL_CHOICES: tuple[float, ...] = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
_DEFAULTS = schema.defaults()  # the one set of defaults, shared with the command line
#: The grid's fields and where they go (row, column); the rules give ranges and tips.
_ROWS: tuple[tuple[FieldRow, tuple[int, int]], ...] = (
    (FieldRow("rtol", "rtol", "Smaller: more exact, slower."), (1, 0)),
    (FieldRow("max_iter", "max iter", "'auto' (0) uses the solver's default.", "auto"), (1, 2)),
    (FieldRow("noise_sigma", "noise σ", "0 = exact. The pseudo-inverse amplifies noise; "
              "reg > 0 damps it.", step=0.005), (2, 0)),
    (FieldRow("photons", "photons", "y becomes Poisson(photons · y) / photons before any "
              "Gaussian noise. 'off' (0) = no photon noise; fewer photons = more noise (100: "
              "about 10 % at intensity 1).", "off", decimals=1), (2, 2)),
    (FieldRow("noise_seed", "seed", "Both noises, so that a result is reproducible."), (3, 0)),
    (FieldRow("time_limit", "time limit", "'none' (0): only max iter stops the solve. A "
              "limited result depends on the machine's speed.", "none", step=0.5), (3, 2)),
)  # fmt: skip


class ReconOptions(DockSection):
    """Options of the reconstructions and the progress of the pseudo-inverse solve.

    Signals
    -------
    optionsChanged()
        Once per change, by the user or by :meth:`set_values` when something changed.
    cancelRequested()
        The user pressed Cancel.
    autoRegRequested()
        The user pressed reg's "auto" (or "stop" while it runs).
    """

    optionsChanged = Signal()
    cancelRequested = Signal()
    autoRegRequested = Signal()
    _OWN_FIELDS: tuple[str, ...] = (
        "methods",
        "channel",
        "reg",
        "rtol",
        "max_iter",
        "noise_sigma",
        "photons",
        "noise_seed",
        "time_limit",
    )
    #: The :class:`~deconv_gui.core.Params` fields this form edits (the priors' group too).
    FIELDS: tuple[str, ...] = _OWN_FIELDS + PriorOptions.FIELDS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Reconstruction", parent)
        layout = self.column
        prior_checks = self._add_method_checks(layout)
        layout.addLayout(self._reg_row())
        layout.addLayout(self._form())
        self._solve = SolveProgress(self)
        self._solve.cancelRequested.connect(self.cancelRequested)
        self._report = self._solve.report
        self._solve.add_to(layout)
        #: the "with a prior" group: its fields are this form's too; the dock shows it
        #: below this widget (nested, it was squeezed when the report wrapped)
        self.priors = PriorOptions()
        self.priors.optionsChanged.connect(self.optionsChanged)
        for check in prior_checks:
            self.priors.method_row.addWidget(check)
        self.priors.method_row.addStretch(1)
        self._enable_seed()

    def _add_method_checks(self, layout: QVBoxLayout) -> list[QCheckBox]:
        """A checkbox per reconstruction; returns those of the priors (for their group)."""
        self._method_checks: dict[str, QCheckBox] = {}
        self._priors_allowed = True
        rows = [QHBoxLayout(), QHBoxLayout(), QHBoxLayout(), QHBoxLayout()]
        prior_checks = []
        for name in METHODS:
            check = QCheckBox(METHOD_LABELS.get(name, name))
            check.setObjectName(f"method_{name}")
            check.setToolTip(_METHOD_TIPS.get(name, name))
            check.setChecked(name in _DEFAULTS["methods"])
            check.toggled.connect(self.optionsChanged)
            # transposed and pinv side by side, the normalised variant and the learned
            # decoder below, then the reconstructions with a prior (every other method)
            if name in _FIRST_ROWS:
                rows[0 if name in ("transposed", "pinv") else 1].addWidget(check)
            elif name in _PRIORS:
                prior_checks.append(check)
            else:  # the activation's: deconvnet and guided backprop, then the ReLU preimage
                rows[3 if name == "relu_preimage" else 2].addWidget(check)
            self._method_checks[name] = check
        self._method_checks["transposed"].setEnabled(False)  # cheap; always computed
        self._add_channel(rows[3])
        for box in rows:
            box.setSpacing(12)
            box.addStretch(1)
            layout.addLayout(box)
        return prior_checks

    def _add_channel(self, row: QHBoxLayout) -> None:
        """deconvnet's and guided backprop's channel: a spin box, -1 shown as "all"."""
        self._channel = QSpinBox()
        self._channel.setObjectName("channel")
        self._channel.setRange(-1, int(schema.rule("channel").maximum or 0))
        self._channel.setSpecialValueText("all")
        self._channel.setValue(-1)
        self._channel.setMaximumWidth(self._channel.fontMetrics().horizontalAdvance("00000") + 40)
        tip = field_tip("channel", _CHANNEL_NOTE)
        self._channel.setToolTip(tip)
        self._channel.valueChanged.connect(self.optionsChanged)
        label = QLabel("channel")
        label.setToolTip(tip)
        pair = QHBoxLayout()
        pair.setSpacing(4)
        pair.addWidget(label)
        pair.addWidget(self._channel)
        row.addLayout(pair)

    def set_channel_limit(self, c_out: int) -> None:
        """Offer the channels ``0 … c_out − 1`` (and "all"); a chosen channel past them
        goes back to "all" (no signal: the caller is reading or showing the forms)."""
        top = max(int(c_out), 1) - 1
        with signals_blocked(self._channel):
            if self._channel.value() > top:
                self._channel.setValue(-1)
            self._channel.setMaximum(top)

    def channel(self) -> int | None:
        """The output channel deconvnet and guided backprop project (None: all)."""
        value = self._channel.value()
        return None if value < 0 else value

    def _reg_row(self) -> QHBoxLayout:
        reg_label = QLabel("reg λ")
        self._reg = RegSlider()
        reg_label.setToolTip(self._reg.slider.toolTip())
        self._reg.valueChanged.connect(self.optionsChanged)
        self.auto_reg = AutoButton(
            "reg",
            "Choose reg from the measurement y on screen: the discrepancy principle "
            "(‖A x − (y − b)‖ = sqrt(m)·σ) when the noise is Gaussian with a known σ, "
            "generalized cross-validation otherwise.\nRuns in the background; press again "
            "to stop.",
        )
        self.auto_reg.clicked.connect(self.autoRegRequested)
        reg_row = QHBoxLayout()  # own row: the grid's columns below stay narrow
        reg_row.setSpacing(6)
        reg_row.addWidget(reg_label)
        reg_row.addWidget(self._reg, 1)
        reg_row.addWidget(self.auto_reg)
        return reg_row

    def _form(self) -> QGridLayout:
        """rtol, max iter, the noise and its seed: a grid of :data:`_ROWS`."""
        self._rtol = QComboBox()
        self._rtol.setObjectName("rtol")
        for value in RTOL_CHOICES:
            self._rtol.addItem(f"{value:.0e}", value)
        self._set_rtol(_DEFAULTS["rtol"])
        self._rtol.setToolTip(field_tip("rtol", _ROWS[0][0].note))
        self._rtol.currentIndexChanged.connect(self.optionsChanged)
        self._max_iter = int_spin(_ROWS[1][0])
        self._max_iter.valueChanged.connect(self.optionsChanged)
        self._noise = float_spin(_ROWS[2][0])
        self._photons = float_spin(_ROWS[3][0])
        for spin in (self._noise, self._photons):
            spin.valueChanged.connect(self._enable_seed)
            spin.valueChanged.connect(self.optionsChanged)
        self._noise_seed = int_spin(_ROWS[4][0])
        self._noise_seed.valueChanged.connect(self.optionsChanged)
        self._time_limit = float_spin(_ROWS[5][0])
        self._time_limit.setSuffix(" s")
        # the window's budget, not the command line's "none": a live update answers soon
        self._time_limit.set_exact(schema.WINDOW_TIME_LIMIT)
        self._time_limit.valueChanged.connect(self.optionsChanged)
        widgets: dict[str, QWidget] = {
            "rtol": self._rtol,
            "max_iter": self._max_iter,
            "noise_sigma": self._noise,
            "photons": self._photons,
            "noise_seed": self._noise_seed,
            "time_limit": self._time_limit,
        }
        form = QGridLayout()
        form.setHorizontalSpacing(6)
        form.setVerticalSpacing(3)
        for row, (r, c) in _ROWS:
            widget = widgets[row.name]
            widget.setMaximumWidth(widget.fontMetrics().horizontalAdvance("0.0000") + 40)
            form.addWidget(field_label(row), r, c)
            form.addWidget(widget, r, c + 1)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        return form

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
        return self._noise.exact()

    def photons(self) -> float:
        """Photon count of the simulated Poisson noise (0: none)."""
        return self._photons.exact()

    def noise_seed(self) -> int:
        """Seed of the simulated noise."""
        return int(self._noise_seed.value())

    def methods(self) -> tuple[str, ...]:
        """Checked methods, in :data:`~deconv_gui.core.METHODS` order (not the priors
        while :meth:`allow_priors` is off)."""
        return tuple(
            name
            for name in METHODS
            if self._method_checks[name].isChecked()
            and (self._priors_allowed or name not in _PRIORS)
        )

    def allow_priors(self, allowed: bool) -> None:
        """Offer the priors (True), or grey them out with the reason: they solve with the
        conv alone, so a layer with an activation has none (their ticks are kept)."""
        allowed = bool(allowed)
        if allowed == self._priors_allowed:
            return
        self._priors_allowed = allowed
        for name in _PRIORS:
            check = self._method_checks[name]
            check.setEnabled(allowed)
            tip = _METHOD_TIPS.get(name, name)
            check.setToolTip(tip if allowed else f"{tip}\nNeeds activation none: {_NO_PRIOR}")

    def values(self) -> dict[str, Any]:
        """The :attr:`FIELDS` as ``Params`` keyword arguments."""
        return {
            "methods": self.methods(),
            "channel": self.channel(),
            "reg": self.reg(),
            "rtol": self.rtol(),
            "max_iter": self.max_iter(),
            "noise_sigma": self.noise_sigma(),
            "photons": self.photons(),
            "noise_seed": self.noise_seed(),
            "time_limit": self._time_limit.exact(),
            **self.priors.values(),
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
        checked = checked_values(self.FIELDS, values)
        before = self.values()
        blocked = (self._rtol, self._max_iter, self._noise_seed, self._channel, self.priors)
        with signals_blocked(*blocked, *self._method_checks.values()):
            if "reg" in checked:
                self._reg.set_value(checked["reg"])
            if "rtol" in checked:
                self._set_rtol(checked["rtol"])
            if "max_iter" in checked:
                self._max_iter.setValue(checked["max_iter"] or 0)
            for name, spin in self._exact_spins().items():
                if name in checked:
                    spin.set_exact(checked[name])
            if "channel" in checked:
                self._channel.setValue(-1 if checked["channel"] is None else checked["channel"])
            if "noise_seed" in checked:
                self._noise_seed.setValue(checked["noise_seed"])
            if "methods" in checked:
                for name, check in self._method_checks.items():
                    check.setChecked(name in checked["methods"] or name == "transposed")
            mine = {k: v for k, v in checked.items() if k in PriorOptions.FIELDS}
            if mine:
                self.priors.set_values(**mine)
        self._enable_seed()
        if self.values() != before:
            self.optionsChanged.emit()

    def _set_rtol(self, value: float) -> None:
        index = self._rtol.findData(value)
        if index < 0:  # a value from a session that is not in the list
            self._rtol.addItem(f"{value:.1e}", value)
            index = self._rtol.count() - 1
        self._rtol.setCurrentIndex(index)

    def _exact_spins(self) -> dict[str, ExactSpin]:
        """The float fields whose boxes keep the exact value (they show it rounded)."""
        return {
            "noise_sigma": self._noise,
            "photons": self._photons,
            "time_limit": self._time_limit,
        }

    def _enable_seed(self) -> None:
        self._noise_seed.setEnabled(self.noise_sigma() > 0 or self.photons() > 0)

    # ----------------------------------------------------------------------------- progress
    def set_progress(self, iteration: int, max_iter: int | None, relative_residual: float) -> None:
        """Show the solve's progress: "pinv: iteration 12, residual 3e-07"."""
        self._solve.set_progress(iteration, max_iter, relative_residual, self.rtol())

    def set_prior_progress(self, label: str, iteration: int, limit: int, change: float) -> None:
        """Show a prior's progress: "TV prior: iteration 12 / 100, change 3e-4"."""
        self._solve.set_prior_progress(label, iteration, limit, change)

    def set_busy(self, busy: bool) -> None:
        """A solve is running (Cancel enabled) or not."""
        self._solve.set_busy(busy)

    def set_report(self, text: str, warning: bool | None = None) -> None:
        """Show the solver's final message; orange when it did not converge."""
        self._solve.set_report(text, warning)

    def show_progress_text(self, text: str) -> None:
        """Show another job's progress in the bar (e.g. choosing reg)."""
        self._solve.show_text(text)

    def report_text(self) -> str:
        """The report shown (for tests)."""
        return self._solve.report.text()

    def progress_text(self) -> str:
        """The progress bar's text (for tests)."""
        return self._solve.bar.format()
