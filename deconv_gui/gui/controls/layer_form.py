"""The geometry form's padding forms (four sides, same, valid) and the layer kind.

:class:`PaddingSides` adds to the padding's ``(h, w)`` control a choice of form — the
same on both sides of each axis (PyTorch's ``Conv2d(padding=)``), four sides (the
control then holds top and left, a second one bottom and right), or a framework's name
(``same``, ``same_lower``, ``valid``). :class:`LayerKind` chooses between studying a
``Conv2d`` and a ``ConvTranspose2d`` and holds the latter's ``output_padding``.
:class:`Activation` is the activation after the layer (none, ReLU, LeakyReLU, its slope).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QComboBox, QGridLayout, QLabel, QWidget

from ...core import params as schema
from ..support.qthelp import signals_blocked
from .fields import ExactSpin, FieldRow, field_tip, float_spin

__all__ = ["Activation", "LayerKind", "PaddingSides"]

#: (shown, data): data None is the symmetric pair, "sides" the four sides, else a name
_PADDING_FORMS = (
    ("each side", None),
    ("four sides", "sides"),
    ("same (TF/Keras)", "same"),
    ("same_lower (ONNX)", "same_lower"),
    ("valid (none)", "valid"),
)
# what the form adds to the rules' help (the tooltips start with that)
_FORMS_TIP = field_tip(
    "padding",
    "each side: the same on both sides of each axis (PyTorch's Conv2d(padding=)); four "
    "sides: top and left above, bottom and right below (F.pad then Conv2d(padding=0), ONNX "
    "pads=[t, l, b, r]).",
)
_LAYER_TIP = field_tip(
    "layer_kind",
    "ConvTranspose2d (a decoder's upsampling): the forward output is the upsampled image "
    "(its checkerboard visible), the transpose the strided conv; the filter's C_out must "
    "equal the image's channels.",
)
_OUTPUT_PADDING_TIP = field_tip("output_padding", "auto here is none.")
_ACTIVATION_NOTE = (
    "D is 1 where the unit is on, 0 or the slope where it is off, as through a network; the "
    "ReLU preimage, deconvnet and guided backprop panels show what the activation changes. "
    "The priors need none."
)
#: (shown, Params value) of the layer kinds and the activation's choices
_LAYER_ITEMS = (("Conv2d", "conv"), ("ConvTranspose2d", "conv_transpose"))
_ACTIVATION_ITEMS = (("none", "none"), ("ReLU", "relu"), ("LeakyReLU", "leaky_relu"))

PairFactory = Callable[..., Any]


class _ChoiceRows(QObject):
    """A choice's row (a combo box) and a second row shown for some of its choices only.

    Subclasses add the second row with :meth:`_second_row` and name in ``_SECOND_FOR``
    the choices that show it.
    """

    changed = Signal()
    #: the choices (item data) that show the second row
    _SECOND_FOR: tuple[Any, ...] = ()

    def __init__(
        self, label: str, items: tuple[tuple[str, Any], ...], tip: str, parent: QObject | None
    ) -> None:
        super().__init__(parent)
        self.choice = QComboBox()
        for text, data in items:
            self.choice.addItem(text, data)
        self.choice.setToolTip(tip)
        choice_label = QLabel(label)
        choice_label.setToolTip(tip)
        self._rows: list[tuple[QLabel, QWidget]] = [(choice_label, self.choice)]
        self.choice.currentIndexChanged.connect(self._on_choice)

    def _second_row(self, label: str, widget: QWidget, tip: str) -> None:
        second_label = QLabel(label)
        second_label.setToolTip(tip)
        self._rows.append((second_label, widget))
        self._update()

    def add_rows(self, grid: QGridLayout, row: int) -> None:
        """Put the two rows into ``grid`` at ``row`` and ``row + 1``."""
        for offset, (label, widget) in enumerate(self._rows):
            grid.addWidget(label, row + offset, 0)
            grid.addWidget(widget, row + offset, 1)

    def _show_choice(self, data: Any) -> None:
        with signals_blocked(self.choice):
            self.choice.setCurrentIndex(self.choice.findData(data))

    def _on_choice(self, _index: int) -> None:
        self._update()
        self.changed.emit()

    def _update(self) -> None:
        shown = self.choice.currentData() in self._SECOND_FOR
        for widget in self._rows[1]:
            widget.setVisible(shown)


class PaddingSides(_ChoiceRows):
    """The padding's form, and the bottom/right pair of the four-sides form."""

    _SECOND_FOR = ("sides",)

    def __init__(self, pair: Any, make_pair: PairFactory) -> None:
        super().__init__("sides", _PADDING_FORMS, _FORMS_TIP, pair)
        self._pair = pair
        low, high = pair.h_spin.minimum(), pair.h_spin.maximum()
        self.after = make_pair(
            "padding after", low, high, "The padding at the bottom (rows) and right (columns)."
        )
        self.after.valueChanged.connect(self.changed)
        self._second_row("bottom, right", self.after, "")

    def value(self) -> Any:
        """``(h, w)``, ``((top, bottom), (left, right))`` or a padding name."""
        form = self.choice.currentData()
        if form is None:
            return self._pair.value()
        if form == "sides":
            (top, left), (bottom, right) = self._pair.value(), self.after.value()
            return (top, bottom), (left, right)
        return form

    def set_value(self, value: Any) -> bool:
        """Show a value checked by the schema (a pair, four sides or a name); True if changed."""
        before = self.value()
        if isinstance(value, str):
            form = value
        elif isinstance(value[0], int):
            form = None
            self._pair.set_value(value)
        else:
            form = "sides"
            (top, bottom), (left, right) = value
            self._pair.set_value((top, left))
            self.after.set_value((bottom, right))
        self._show_choice(form)
        self._update()
        return self.value() != before

    def _on_choice(self, index: int) -> None:
        if self.choice.currentData() == "sides":
            self.after.set_value(self._pair.value())  # the same layer, now per side
        super()._on_choice(index)

    def _update(self) -> None:
        self._pair.setEnabled(self.choice.currentData() in (None, "sides"))
        super()._update()


class LayerKind(_ChoiceRows):
    """Conv2d or ConvTranspose2d, and the latter's ``output_padding`` (-1: auto)."""

    #: ``set_value``'s "leave output_padding as it is" (None means auto)
    KEEP = object()
    _SECOND_FOR = ("conv_transpose",)

    def __init__(self, make_pair: PairFactory, parent: QWidget | None = None) -> None:
        super().__init__("layer", _LAYER_ITEMS, _LAYER_TIP, parent)
        high = int(schema.rule("output_padding").maximum or 0)
        self.output_padding = make_pair("output padding", -1, high, _OUTPUT_PADDING_TIP)
        for spin in (self.output_padding.h_spin, self.output_padding.w_spin):
            spin.setSpecialValueText("auto")
        self.output_padding.set_value((-1, -1))
        self.output_padding.valueChanged.connect(self.changed)
        self._second_row("output pad", self.output_padding, _OUTPUT_PADDING_TIP)

    def value(self) -> tuple[str, tuple[int, int] | None]:
        """``(layer_kind, output_padding)``; output_padding None when auto."""
        pair = self.output_padding.value()
        return self.choice.currentData(), None if min(pair) < 0 else pair

    def checked(self, layer_kind: Any, output_padding: Any) -> tuple[Any, Any]:
        """Both checked by the schema (``ValueError`` naming the field); None/KEEP kept."""
        kind = schema.check("layer_kind", layer_kind) if layer_kind is not None else None
        if output_padding is not self.KEEP:
            output_padding = schema.check("output_padding", output_padding)
        return kind, output_padding

    def set_value(self, layer_kind: Any, output_padding: Any) -> bool:
        """Show checked values (None kind and KEEP leave them); True if something changed."""
        before = self.value()
        if layer_kind is not None:
            self._show_choice(layer_kind)
        if output_padding is not self.KEEP:
            pair = (-1, -1) if output_padding is None else output_padding
            self.output_padding.set_value(pair)
        self._update()
        return self.value() != before


class Activation(_ChoiceRows):
    """The activation after the layer, and the leaky ReLU's slope (shown for it only)."""

    _SECOND_FOR = ("leaky_relu",)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "activation", _ACTIVATION_ITEMS, field_tip("activation", _ACTIVATION_NOTE), parent
        )
        self.choice.setObjectName("activation")
        self.slope: ExactSpin = float_spin(
            FieldRow("leaky_slope", "slope", "Above 0 (0 is the ReLU).", decimals=4, step=0.01)
        )
        self.slope.setMinimum(1e-4)
        self.slope.valueChanged.connect(self.changed)
        self._second_row("leaky slope", self.slope, self.slope.toolTip())

    def value(self) -> tuple[str, float]:
        """``(activation, leaky_slope)``."""
        return self.choice.currentData(), self.slope.exact()

    def set_value(self, activation: Any = None, leaky_slope: Any = None) -> bool:
        """Show values checked by the schema (None keeps one); True if something changed."""
        before = self.value()
        if activation is not None:
            self._show_choice(activation)
        if leaky_slope is not None:
            self.slope.set_exact(leaky_slope)
        self._update()
        return self.value() != before
