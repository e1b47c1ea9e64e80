"""The "with a prior" group: which prior reconstructions, their λ, iterations and x ≥ 0.

The method checkboxes belong to :class:`~deconv_gui.gui.controls.recon_options.ReconOptions`
(``Params.methods`` is one field) and are placed here by it; this group edits
``prior_lam``, ``prior_iter`` and ``prior_nonneg``, which ``ReconOptions`` reports and sets
as its own (one form for the window); the dock shows the group below it.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QWidget,
)

from ...core import params as schema
from ..support.qthelp import signals_blocked
from .common import DockSection
from .fields import FieldRow, checked_values, field_label, field_tip, int_spin
from .reg_slider import AutoButton, LogSlider

__all__ = ["PriorOptions"]

_DEFAULTS = schema.defaults()
_HEADER_TIP = (
    "A⁺ sets every direction that y cannot see to 0. A prior chooses what to put there "
    "instead: flat regions with sharp edges (TV), no negative pixels (x ≥ 0), or the "
    "Poisson likelihood of photon counts (Richardson–Lucy)."
)


class PriorOptions(DockSection):
    """λ of the TV prior (log slider, exact box, "auto"), the iteration limit and TV's x ≥ 0.

    Signals
    -------
    optionsChanged()
        Once per change, by the user or by :meth:`set_values` when something changed.
    autoLamRequested()
        The user pressed λ's "auto" (or "stop" while it runs).
    """

    optionsChanged = Signal()
    autoLamRequested = Signal()
    #: The :class:`~deconv_gui.core.Params` fields this group edits.
    FIELDS: tuple[str, ...] = ("prior_lam", "prior_iter", "prior_nonneg")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("With a prior", parent, spacing=4, tip=_HEADER_TIP)
        layout = self.column
        #: the prior methods' checkboxes (ReconOptions adds them)
        self.method_row = QHBoxLayout()
        self.method_row.setSpacing(8)
        layout.addLayout(self.method_row)

        form = QGridLayout()
        form.setHorizontalSpacing(6)
        form.setVerticalSpacing(3)
        lam_tip = field_tip(
            "prior_lam",
            "The TV method minimises ½‖A x − (y − b)‖² + λ·TV(x). Larger λ: flatter regions, "
            "less noise, lost fine detail; smaller λ: closer to the least-squares fit.",
        )
        lam_label = QLabel("TV λ")
        lam_label.setToolTip(lam_tip)
        self._lam = LogSlider("prior_lam", -7, 1, tip=lam_tip)
        self._lam.valueChanged.connect(self.optionsChanged)
        self.auto_lam = AutoButton(
            "prior_lam",
            "Choose λ from the data by the discrepancy principle: the λ whose TV image "
            "leaves a residual ‖A x − (y − b)‖ equal to the noise, sqrt(m)·σ.\nNeeds a "
            "known Gaussian noise σ (and no photon noise); runs in the background "
            "(press again to stop).",
        )
        self.auto_lam.clicked.connect(self.autoLamRequested)
        form.addWidget(lam_label, 0, 0)
        form.addWidget(self._lam, 0, 1, 1, 2)
        form.addWidget(self.auto_lam, 0, 3)

        iter_row = FieldRow(
            "prior_iter",
            "iterations",
            "TV and x ≥ 0 stop earlier when converged; fewer Richardson–Lucy iterations "
            "regularise more.",
        )
        iter_label = field_label(iter_row)
        self._iter = int_spin(iter_row)
        self._iter.setMaximumWidth(self._iter.fontMetrics().horizontalAdvance("100000") + 40)
        self._iter.valueChanged.connect(self.optionsChanged)
        self._nonneg = QCheckBox("TV with x ≥ 0")
        self._nonneg.setObjectName("prior_nonneg")
        self._nonneg.setChecked(_DEFAULTS["prior_nonneg"])
        self._nonneg.setToolTip(
            field_tip(
                "prior_nonneg",
                "Intensities cannot be negative: usually a further gain where the image has "
                "dark regions.",
            )
        )
        self._nonneg.toggled.connect(self.optionsChanged)
        form.addWidget(iter_label, 1, 0)
        form.addWidget(self._iter, 1, 1)
        form.addWidget(self._nonneg, 1, 2, 1, 2)
        form.setColumnStretch(2, 1)
        layout.addLayout(form)

    # ----------------------------------------------------------------------------- values
    def lam_control(self) -> LogSlider:
        """The λ slider and box (for tests)."""
        return self._lam

    def values(self) -> dict[str, Any]:
        """The :attr:`FIELDS` as ``Params`` keyword arguments."""
        return {
            "prior_lam": self._lam.value(),
            "prior_iter": int(self._iter.value()),
            "prior_nonneg": self._nonneg.isChecked(),
        }

    def set_values(self, **values: Any) -> None:
        """Set any subset of :attr:`FIELDS`; every value the schema accepts is shown exactly.

        Emits :attr:`optionsChanged` once if something changed.

        Raises
        ------
        ValueError
            Naming the field, when a value is unknown or refused (nothing changes).
        """
        checked = checked_values(self.FIELDS, values)
        before = self.values()
        with signals_blocked(self._iter, self._nonneg):
            if "prior_lam" in checked:
                self._lam.set_value(checked["prior_lam"])
            if "prior_iter" in checked:
                self._iter.setValue(checked["prior_iter"])
            if "prior_nonneg" in checked:
                self._nonneg.setChecked(checked["prior_nonneg"])
        if self.values() != before:
            self.optionsChanged.emit()
