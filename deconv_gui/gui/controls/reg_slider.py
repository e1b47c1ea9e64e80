"""A logarithmic slider for the Tikhonov weight, with an explicit 0 at its left end."""

from __future__ import annotations

import math

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

__all__ = ["RegSlider", "format_reg"]

LOG_MIN, LOG_MAX = -6, 1  # 1e-6 … 1e1
STEPS_PER_DECADE = 4


def format_reg(value: float) -> str:
    """``"0"`` or a short scientific number such as ``"3.2e-04"``."""
    return "0" if value == 0 else f"{value:.1e}"


class RegSlider(QWidget):
    """Position 0 is reg = 0 (the exact pseudo-inverse); then 1e-6 … 1e1 on a log scale.

    :meth:`value` returns exactly what :meth:`set_value` was given (a session may hold a
    value between two slider ticks); dragging the slider snaps to its ticks.

    Signals
    -------
    valueChanged(float)
    """

    valueChanged = pyqtSignal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value = 0.0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        zero = QLabel("0")
        zero.setToolTip("left end: reg = 0, the exact minimum-norm pseudo-inverse")
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, (LOG_MAX - LOG_MIN) * STEPS_PER_DECADE + 1)
        self.slider.setPageStep(STEPS_PER_DECADE)
        self.slider.setToolTip(
            "Tikhonov weight λ of the pseudo-inverse: minimise ‖A x − y‖² + λ‖x‖².\n"
            "Far left = 0 (exact A⁺); then 1e-6 … 1e1 on a log scale. Larger λ damps noise\n"
            "but blurs and darkens the reconstruction."
        )
        self.slider.valueChanged.connect(self._on_slider)
        self.label = QLabel()
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance("0 (exact)") + 4)
        self.label.setToolTip("current reg value")
        layout.addWidget(zero)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self._show()

    @staticmethod
    def position_to_value(position: int) -> float:
        """Slider position → reg (position 0 → 0)."""
        if position <= 0:
            return 0.0
        return 10.0 ** (LOG_MIN + (position - 1) / STEPS_PER_DECADE)

    @staticmethod
    def value_to_position(value: float) -> int:
        """Nearest slider position of ``value``."""
        if value <= 0:
            return 0
        position = round((math.log10(value) - LOG_MIN) * STEPS_PER_DECADE) + 1
        return max(1, min(position, (LOG_MAX - LOG_MIN) * STEPS_PER_DECADE + 1))

    def value(self) -> float:
        """The reg value (0 or 1e-6 … 1e1)."""
        return self._value

    def set_value(self, value: float) -> bool:
        """Set reg without emitting; returns True if it changed.

        Raises
        ------
        ValueError
            If ``value`` is negative, not finite, or above 1e1.
        """
        value = float(value)
        if not math.isfinite(value) or value < 0 or value > 10.0**LOG_MAX:
            raise ValueError(f"reg must be 0 or between 1e-6 and 1e1, got {value!r}")
        changed = value != self._value
        self._value = value
        self.slider.blockSignals(True)
        self.slider.setValue(self.value_to_position(value))
        self.slider.blockSignals(False)
        self._show()
        return changed

    def _show(self) -> None:
        self.label.setText("0 (exact)" if self._value == 0 else format_reg(self._value))

    def _on_slider(self, position: int) -> None:
        self._value = self.position_to_value(position)
        self._show()
        self.valueChanged.emit(self._value)
