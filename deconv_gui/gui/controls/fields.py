"""Form rows made from the ``Params`` schema's rules: range, special value and tooltip.

A :class:`FieldRow` names a ``Params`` field and says only what the form adds (its label,
a note on how the widget shows the value, decimals); the range comes from the field's
:class:`~deconv_gui.core.rules.Rule` and the tooltip starts with its ``help``, so the
window and ``--help`` describe a field the same way. A float field's box is an
:class:`ExactSpin`: it shows the value rounded and keeps it exact.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qtpy.QtWidgets import QDoubleSpinBox, QLabel, QSpinBox

from ...core import params as schema
from ..support.qthelp import signals_blocked

__all__ = [
    "ExactSpin",
    "FieldRow",
    "checked_values",
    "field_label",
    "field_tip",
    "float_spin",
    "int_spin",
]

_DEFAULTS = schema.defaults()


@dataclass(frozen=True)
class FieldRow:
    """How a form shows one ``Params`` field.

    Attributes
    ----------
    name : str
        The field.
    label : str
        The form's short label.
    note : str
        What the widget adds to the rule's help (e.g. what its special value means).
    special : str or None
        Text shown at the lowest value (0), which then stands for "none" or "off".
    decimals : int
        Decimals of a float field's spin box.
    step : float or None
        Step of a float field's spin box (None: adaptive, by decade).
    """

    name: str
    label: str
    note: str = ""
    special: str | None = None
    decimals: int = 3
    step: float | None = None


def field_tip(name: str, note: str = "") -> str:
    """The tooltip of field ``name``: its rule's help, what it accepts, then the form's note.

    Examples
    --------
    >>> print(field_tip("noise_seed", "Reproducible."))
    Seed of the simulated noise.
    noise_seed: an int from 0 to 2147483647
    Reproducible.
    """
    rule = schema.rule(name)
    first = rule.help[:1]
    text = (first.upper() if first.isascii() else first) + rule.help[1:] + "."
    # plain tips never wrap: the help and each line of the note are wrapped here
    notes = [textwrap.fill(line, 80) for line in note.splitlines()]
    return "\n".join([textwrap.fill(text, 80), f"{name}: {rule.describe()}", *notes])


def checked_values(fields: Sequence[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values``, named among a form's ``fields``, each checked by the ``Params`` schema.

    Raises
    ------
    ValueError
        Listing the names not among ``fields``, or naming the field whose value is refused.

    Examples
    --------
    >>> checked_values(("noise_seed",), {"noise_seed": 3})
    {'noise_seed': 3}
    >>> checked_values(("noise_seed",), {"seed": 3})
    Traceback (most recent call last):
    ValueError: values must be among noise_seed; unknown: ['seed']
    """
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"values must be among {', '.join(fields)}; unknown: {unknown}")
    return {name: schema.check(name, value) for name, value in values.items()}


def field_label(row: FieldRow) -> QLabel:
    """The row's label, with the field's tooltip."""
    label = QLabel(row.label)
    label.setToolTip(field_tip(row.name))
    return label


def _bounds(name: str) -> tuple[float, float]:
    rule = schema.rule(name)
    if rule.minimum is None or rule.maximum is None:
        raise ValueError(f"the rule of {name} has no range for a spin box")
    return rule.minimum, rule.maximum


def int_spin(row: FieldRow) -> QSpinBox:
    """A spin box over the field's range (0 = ``row.special`` for an optional int)."""
    low, high = _bounds(row.name)
    spin = QSpinBox()
    spin.setObjectName(row.name)
    spin.setRange(0 if row.special else int(low), int(high))
    if row.special:
        spin.setSpecialValueText(row.special)
    spin.setValue(_DEFAULTS[row.name] or 0)
    spin.setToolTip(field_tip(row.name, row.note))
    return spin


class ExactSpin(QDoubleSpinBox):
    """A float spin box that keeps the value it was given exactly (it shows it rounded).

    :meth:`exact` is the value of the last :meth:`set_exact`, or the box's own once the
    user moves it; ``valueChanged`` reaches its listeners after :meth:`exact` has it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._exact = 0.0
        self.valueChanged.connect(self._on_value)

    def exact(self) -> float:
        """The value, exactly as given (or as the user set it)."""
        return self._exact

    def set_exact(self, value: float) -> None:
        """Show ``value`` without emitting; a positive value below the last decimal of a
        box whose 0 reads as "none" or "off" shows as that decimal, not as none."""
        smallest = 10.0 ** -self.decimals()
        shown = smallest if 0 < value < smallest and self.specialValueText() else value
        with signals_blocked(self):
            self.setValue(shown)
        self._exact = float(value)

    def _on_value(self, value: float) -> None:
        self._exact = float(value)  # the user moved the box: its value is the value now


def float_spin(row: FieldRow) -> ExactSpin:
    """An :class:`ExactSpin` over the field's range with ``row.decimals``, at the field's
    default; 0 shows ``row.special``."""
    low, high = _bounds(row.name)
    spin = ExactSpin()
    spin.setObjectName(row.name)
    spin.setRange(low, high)
    spin.setDecimals(row.decimals)
    if row.step is None:
        spin.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
    else:
        spin.setSingleStep(row.step)
    if row.special:
        spin.setSpecialValueText(row.special)
    spin.set_exact(_DEFAULTS[row.name])
    spin.setToolTip(field_tip(row.name, row.note))
    return spin
