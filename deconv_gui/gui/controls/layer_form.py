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
from qtpy.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QLabel, QWidget

from ...core import params as schema
from .fields import FieldRow, field_tip, float_spin

__all__ = ["Activation", "LayerKind", "PaddingSides"]

#: (shown, data): data None is the symmetric pair, "sides" the four sides, else a name
_PADDING_FORMS = (
    ("each side", None),
    ("four sides", "sides"),
    ("same (TF/Keras)", "same"),
    ("same_lower (ONNX)", "same_lower"),
    ("valid (none)", "valid"),
)
_FORMS_TIP = (
    "How the padding is given: the same on both sides of each axis (PyTorch's "
    "Conv2d(padding=)); four sides (top and left above, bottom and right here: "
    "F.pad then Conv2d(padding=0), ONNX pads=[t, l, b, r]); same (TF/Keras, ONNX "
    "SAME_UPPER: ceil(n / stride) outputs, the odd pixel at the bottom/right); same_lower "
    "(ONNX SAME_LOWER: the odd pixel at the top/left); valid (no padding)."
)
_LAYER_TIP = (
    "The layer under study. Conv2d: the image is its input. ConvTranspose2d (a decoder's "
    "upsampling): the image is its small input map, the forward output the upsampled "
    "image (its checkerboard visible), the transpose the strided conv; the filter is "
    "W_t.permute(2, 3, 1, 0), so its C_out must equal the image's channels."
)
_OUTPUT_PADDING_TIP = (
    "PyTorch's output_padding of ConvTranspose2d: extra rows/columns of the output, each "
    "below max(stride, dilation). auto: 0 (with padding same: n·stride, as Keras)."
)

_ACTIVATION_NOTE = (
    "With ReLU or LeakyReLU, the transposed, pseudo-inverse, coverage and split panels use "
    "the layer's local linear map J = D A at your image (D: 1 where the unit is on, 0 or the "
    "slope where it is off), as through a network; the ReLU preimage, deconvnet and guided "
    "backprop panels show what the activation changes. The priors need none."
)
#: (shown, Params value) of the activation's choices
_ACTIVATION_ITEMS = (("none", "none"), ("ReLU", "relu"), ("LeakyReLU", "leaky_relu"))

PairFactory = Callable[..., Any]


class PaddingSides(QObject):
    """The padding's form, and the bottom/right pair of the four-sides form."""

    changed = Signal()

    def __init__(self, pair: Any, make_pair: PairFactory) -> None:
        super().__init__(pair)
        self._pair = pair
        self.form = QComboBox()
        for text, data in _PADDING_FORMS:
            self.form.addItem(text, data)
        self.form.setToolTip(_FORMS_TIP)
        self._form_label = QLabel("sides")
        self._form_label.setToolTip(_FORMS_TIP)
        low, high = pair.h_spin.minimum(), pair.h_spin.maximum()
        self.after = make_pair(
            "padding after", low, high, "The padding at the bottom (rows) and right (columns)."
        )
        self._after_label = QLabel("bottom, right")
        self.form.currentIndexChanged.connect(self._on_form)
        self.after.valueChanged.connect(self.changed)
        self._update()

    def add_rows(self, grid: QGridLayout, row: int) -> None:
        """Put the form's two rows into ``grid`` at ``row`` and ``row + 1``."""
        grid.addWidget(self._form_label, row, 0)
        grid.addWidget(self.form, row, 1)
        grid.addWidget(self._after_label, row + 1, 0)
        grid.addWidget(self.after, row + 1, 1)

    def value(self) -> Any:
        """``(h, w)``, ``((top, bottom), (left, right))`` or a padding name."""
        form = self.form.currentData()
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
        self.form.blockSignals(True)
        self.form.setCurrentIndex(self.form.findData(form))
        self.form.blockSignals(False)
        self._update()
        return self.value() != before

    def _on_form(self, _index: int) -> None:
        if self.form.currentData() == "sides":
            self.after.set_value(self._pair.value())  # the same layer, now per side
        self._update()
        self.changed.emit()

    def _update(self) -> None:
        form = self.form.currentData()
        self._pair.setEnabled(form in (None, "sides"))
        for widget in (self.after, self._after_label):
            widget.setVisible(form == "sides")


class LayerKind(QObject):
    """Conv2d or ConvTranspose2d, and the latter's ``output_padding`` (-1: auto)."""

    changed = Signal()
    #: ``set_value``'s "leave output_padding as it is" (None means auto)
    KEEP = object()

    def __init__(self, make_pair: PairFactory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        self.kind.addItem("Conv2d", "conv")
        self.kind.addItem("ConvTranspose2d", "conv_transpose")
        self.kind.setToolTip(_LAYER_TIP)
        self._kind_label = QLabel("layer")
        self._kind_label.setToolTip(_LAYER_TIP)
        high = int(schema.rule("output_padding").maximum or 0)
        self.output_padding = make_pair("output padding", -1, high, _OUTPUT_PADDING_TIP)
        for spin in (self.output_padding.h_spin, self.output_padding.w_spin):
            spin.setSpecialValueText("auto")
        self.output_padding.set_value((-1, -1))
        self._op_label = QLabel("output pad")
        self._op_label.setToolTip(_OUTPUT_PADDING_TIP)
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.output_padding.valueChanged.connect(self.changed)
        self._update()

    def add_rows(self, grid: QGridLayout, row: int) -> None:
        """Put the two rows into ``grid`` at ``row`` and ``row + 1``."""
        grid.addWidget(self._kind_label, row, 0)
        grid.addWidget(self.kind, row, 1)
        grid.addWidget(self._op_label, row + 1, 0)
        grid.addWidget(self.output_padding, row + 1, 1)

    def value(self) -> tuple[str, tuple[int, int] | None]:
        """``(layer_kind, output_padding)``; output_padding None when auto."""
        pair = self.output_padding.value()
        return self.kind.currentData(), None if min(pair) < 0 else pair

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
            self.kind.blockSignals(True)
            self.kind.setCurrentIndex(self.kind.findData(layer_kind))
            self.kind.blockSignals(False)
        if output_padding is not self.KEEP:
            pair = (-1, -1) if output_padding is None else output_padding
            self.output_padding.set_value(pair)
        self._update()
        return self.value() != before

    def _on_kind(self, _index: int) -> None:
        self._update()
        self.changed.emit()

    def _update(self) -> None:
        transposed = self.kind.currentData() == "conv_transpose"
        for widget in (self.output_padding, self._op_label):
            widget.setVisible(transposed)


class Activation(QObject):
    """The activation after the layer, and the leaky ReLU's slope (shown for it only)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        self.kind.setObjectName("activation")
        for text, data in _ACTIVATION_ITEMS:
            self.kind.addItem(text, data)
        tip = field_tip("activation", _ACTIVATION_NOTE)
        self.kind.setToolTip(tip)
        self._kind_label = QLabel("activation")
        self._kind_label.setToolTip(tip)
        self.slope: QDoubleSpinBox = float_spin(
            FieldRow("leaky_slope", "slope", "Above 0 (0 is the ReLU).", decimals=4, step=0.01)
        )
        self.slope.setMinimum(1e-4)
        #: the slope exactly as given (the spin box shows it rounded to 4 decimals)
        self._slope = float(schema.defaults()["leaky_slope"])
        self.slope.setValue(self._slope)
        self._slope_label = QLabel("leaky slope")
        self._slope_label.setToolTip(self.slope.toolTip())
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.slope.valueChanged.connect(self._on_slope)
        self._update()

    def _on_slope(self, value: float) -> None:
        self._slope = float(value)  # the user moved the spin box: its value is the value now
        self.changed.emit()

    def add_rows(self, grid: QGridLayout, row: int) -> None:
        """Put the two rows into ``grid`` at ``row`` and ``row + 1``."""
        grid.addWidget(self._kind_label, row, 0)
        grid.addWidget(self.kind, row, 1)
        grid.addWidget(self._slope_label, row + 1, 0)
        grid.addWidget(self.slope, row + 1, 1)

    def value(self) -> tuple[str, float]:
        """``(activation, leaky_slope)``."""
        return self.kind.currentData(), self._slope

    def set_value(self, activation: Any = None, leaky_slope: Any = None) -> bool:
        """Show values checked by the schema (None keeps one); True if something changed.

        Raises
        ------
        ValueError
            Naming the field, when the schema refuses a value (nothing changes).
        """
        if activation is not None:
            activation = schema.check("activation", activation)
        if leaky_slope is not None:
            leaky_slope = schema.check("leaky_slope", leaky_slope)
        before = self.value()
        for widget in (self.kind, self.slope):
            widget.blockSignals(True)
        if activation is not None:
            self.kind.setCurrentIndex(self.kind.findData(activation))
        if leaky_slope is not None:
            self._slope = leaky_slope
            self.slope.setValue(leaky_slope)
        for widget in (self.kind, self.slope):
            widget.blockSignals(False)
        self._update()
        return self.value() != before

    def _on_kind(self, _index: int) -> None:
        self._update()
        self.changed.emit()

    def _update(self) -> None:
        leaky = self.kind.currentData() == "leaky_relu"
        for widget in (self.slope, self._slope_label):
            widget.setVisible(leaky)
