"""A logarithmic slider with an exact value box, for weights such as reg and prior λ, and
the "auto" button that chooses such a weight from the data.

The slider covers the useful decades; the box beside it holds any value the ``Params``
schema accepts for the field (typed in, or given by a session), so nothing that can
be saved is ever clipped, rounded or refused by the widget.
"""

from __future__ import annotations

import math

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSlider, QWidget

from ...core import params as schema
from ..support.qthelp import signals_blocked
from ..support.theme import theme_style

__all__ = ["AutoButton", "LogSlider", "RegSlider", "format_reg"]

_BAD_BOX = "QLineEdit {{ background: {bad_box}; }}"


def format_reg(value: float) -> str:
    """``"0"`` or a short number: ``"3.2e-04"``, ``"0.5"``, ``"1e+03"``."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.2e}".replace(".00e", "e")


class LogSlider(QWidget):
    """A log-scale slider over ``10**log_min … 10**log_max`` plus a box with the exact value.

    Parameters
    ----------
    field : str
        The :class:`~deconv_gui.core.Params` field it edits: its rule checks every value;
        the slider is named after it, the box ``<field>_box``.
    log_min, log_max : int
        The slider's decades; the box holds any value the field's rule accepts.
    steps_per_decade : int
        Slider positions per decade.
    zero_label : str, optional
        With a label (e.g. ``"0"``), slider position 0 is the value 0 (the field must
        accept 0); without one, the field is strictly positive.
    tip : str
        The tooltip of the slider and the box.

    Signals
    -------
    valueChanged(float)
        The user moved the slider or typed a new value (not emitted by :meth:`set_value`).
    """

    valueChanged = Signal(float)

    def __init__(
        self,
        field: str,
        log_min: int,
        log_max: int,
        *,
        steps_per_decade: int = 4,
        zero_label: str | None = None,
        tip: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.field = field
        self.log_min, self.log_max = int(log_min), int(log_max)
        self.steps = int(steps_per_decade)
        self._zero = zero_label is not None
        self._value = float(schema.defaults()[field])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        if zero_label is not None:
            zero = QLabel(zero_label)
            zero.setToolTip(f"left end: {field} = 0")
            layout.addWidget(zero)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, self._top())
        self.slider.setPageStep(self.steps)
        self.slider.setToolTip(tip)
        self.slider.setObjectName(field)
        self.slider.valueChanged.connect(self._on_slider)
        self.box = QLineEdit()
        self.box.setObjectName(f"{field}_box")
        self.box.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.box.setFixedWidth(self.box.fontMetrics().horizontalAdvance("8.88e-88") + 14)
        self._box_tip = (
            f"{tip}\nType any value ({schema.rule(field).describe()}) and press Enter; "
            "the slider covers "
            f"{format_reg(10.0**self.log_min)} … {format_reg(10.0**self.log_max)}."
        )
        self.box.setToolTip(self._box_tip)
        self.box.editingFinished.connect(self._on_box)
        self.box.textEdited.connect(lambda _text: theme_style(self.box, ""))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.box)
        self._show()

    def _top(self) -> int:
        return (self.log_max - self.log_min) * self.steps + (1 if self._zero else 0)

    def position_to_value(self, position: int) -> float:
        """Slider position → value (position 0 → 0 when the slider has a zero end)."""
        if self._zero:
            if position <= 0:
                return 0.0
            position -= 1
        return 10.0 ** (self.log_min + position / self.steps)

    def value_to_position(self, value: float) -> int:
        """The nearest slider position of ``value`` (the ends for values beyond them)."""
        first = 1 if self._zero else 0
        if value <= 0:
            return 0
        position = round((math.log10(value) - self.log_min) * self.steps) + first
        return max(first, min(position, self._top()))

    def value(self) -> float:
        """The value, exactly as set or typed."""
        return self._value

    def set_value(self, value: float) -> bool:
        """Set the value without emitting; returns True if it changed.

        Raises
        ------
        ValueError
            Naming the field, when its ``Params`` rule refuses ``value``.
        """
        value = schema.check(self.field, value)
        changed = value != self._value
        self._value = value
        self._show()
        return changed

    def _show(self) -> None:
        with signals_blocked(self.slider):
            self.slider.setValue(self.value_to_position(self._value))
        self.box.setText(format_reg(self._value))
        theme_style(self.box, "")
        self.box.setToolTip(self._box_tip)

    def _on_slider(self, position: int) -> None:
        self._value = self.position_to_value(position)
        self.box.setText(format_reg(self._value))
        theme_style(self.box, "")
        self.box.setToolTip(self._box_tip)
        self.valueChanged.emit(self._value)

    def _on_box(self) -> None:
        text = self.box.text().strip()
        if text == format_reg(self._value):
            return  # Enter or focus change without an edit: keep the exact value
        try:
            value = schema.check(self.field, float(text))
        except ValueError:  # not a number, or out of the field's range: say so, keep it
            theme_style(self.box, _BAD_BOX)
            self.box.setToolTip(
                f"{text!r} is not a valid {self.field}: it must be "
                f"{schema.rule(self.field).describe()}. Still {format_reg(self._value)}."
            )
            return
        if value != self._value:
            self._value = value
            self._show()
            self.valueChanged.emit(value)
        else:
            self._show()


class AutoButton(QPushButton):
    """The "auto" button of ``field``'s weight (named ``<field>_auto``); it reads "stop"
    while its job runs."""

    def __init__(self, field: str, tip: str) -> None:
        super().__init__("auto")
        self.setObjectName(f"{field}_auto")
        self.setToolTip(tip)

    def set_running(self, running: bool) -> None:
        """Show "stop" while the job runs, "auto" otherwise."""
        self.setText("stop" if running else "auto")


class RegSlider(LogSlider):
    """The Tikhonov weight: position 0 is reg = 0 (the exact pseudo-inverse), then 1e-12 … 1e4.

    The box holds any reg ``Params`` accepts (any finite number ≥ 0).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "reg",
            -12,
            4,
            zero_label="0",
            tip="Tikhonov weight λ of the pseudo-inverse: minimise ‖A x − y‖² + λ‖x‖².\n"
            "Far left = 0 (exact A⁺); then 1e-12 … 1e4 on a log scale. Larger λ damps noise\n"
            "but blurs and darkens the reconstruction. 'auto' picks it from the data.",
            parent=parent,
        )
