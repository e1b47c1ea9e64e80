"""Stride, padding, dilation (each linked h/w or separate), padding mode and the arithmetic box.

The window computes the arithmetic text (``ConvGeometry(...).describe()`` or a ``ValueError``'s
message) and hands it to :meth:`GeometryEditor.show_arithmetic`; this widget does no math.
"""

from __future__ import annotations

import html

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ...core import params as schema
from ..support.qthelp import signals_blocked
from ..support.theme import theme_style
from .common import NOTE_STYLE, DockSection, LinkButton
from .fields import field_tip
from .layer_form import Activation, LayerKind, PaddingSides

__all__ = ["GeometryEditor", "PairControl"]

_ARITHMETIC_ERROR = (
    "QLabel {{ background: {note_error_back}; border: 1px solid {note_error_border}; "
    "border-radius: 3px; padding: 4px; color: {note_error_text}; }}"
)

# what each pair does, beside its rule's help (the spin boxes' tooltips)
_TIPS: dict[str, str] = {
    "stride": "Step of the filter in pixels; stride s keeps about 1/s² of the positions.",
    "padding": "Pixels added around the image before filtering (what they hold: the mode).",
    "dilation": "Spacing between filter taps (1 = adjacent taps).",
}
_MODE_TIP = field_tip(
    "padding_mode",
    "zeros; reflect (mirrored, the edge not repeated); replicate (the edge repeated); "
    "circular (wrapped around).",
)
#: name -> (minimum, maximum, what it does): the ranges are the Params schema's, so the
#: editor holds every stride, padding and dilation a session or the CLI can have.
_FIELDS: dict[str, tuple[int, int, str]] = {
    name: (int(schema.rule(name).minimum or 0), int(schema.rule(name).maximum or 0), tip)
    for name, tip in _TIPS.items()
}


class PairControl(QWidget):
    """One ``(h, w)`` integer pair: a link toggle, and one spin box (linked) or two (separate).

    Signals
    -------
    valueChanged()
        When the pair changes.
    """

    valueChanged = Signal()

    def __init__(self, name: str, low: int, high: int, tip: str, parent=None) -> None:
        super().__init__(parent)
        self.name = name
        self._tip = tip
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self.h_spin = QSpinBox()
        self.w_spin = QSpinBox()
        for spin, axis in ((self.h_spin, "height (rows)"), (self.w_spin, "width (columns)")):
            spin.setRange(low, high)
            spin.setToolTip(f"{name} along the {axis}, {low}–{high}. {tip}")
            spin.valueChanged.connect(self._on_spin)
        self.times = QLabel("×")
        self.link = LinkButton(name.capitalize())
        self.link.toggled.connect(self._on_link_toggled)
        layout.addWidget(self.h_spin)
        layout.addWidget(self.times)
        layout.addWidget(self.w_spin)
        layout.addWidget(self.link)
        layout.addStretch(1)
        self._show_linked(True)

    def value(self) -> tuple[int, int]:
        """The ``(h, w)`` pair."""
        return (self.h_spin.value(), self.w_spin.value())

    def is_linked(self) -> bool:
        """Whether one value sets both height and width."""
        return self.link.isChecked()

    def set_value(self, pair: tuple[int, int]) -> bool:
        """Show ``pair`` without emitting; links h/w when equal. Returns True if it changed."""
        changed = pair != self.value()
        with signals_blocked(self.h_spin, self.w_spin, self.link):
            self.h_spin.setValue(pair[0])
            self.w_spin.setValue(pair[1])
            self.link.setChecked(pair[0] == pair[1])
        self._show_linked(self.link.isChecked())
        self.link._update_look(self.link.isChecked())
        return changed

    def _show_linked(self, linked: bool) -> None:
        self.w_spin.setVisible(not linked)
        self.times.setVisible(not linked)
        if linked:
            self.h_spin.setToolTip(f"{self.name} (height and width, linked). {self._tip}")
        else:
            self.h_spin.setToolTip(f"{self.name} along the height (rows). {self._tip}")

    def _on_link_toggled(self, linked: bool) -> None:
        self._show_linked(linked)
        if linked and self.w_spin.value() != self.h_spin.value():
            self.w_spin.setValue(self.h_spin.value())  # emits through _on_spin

    def _on_spin(self, _value: int) -> None:
        if self.is_linked() and self.w_spin.value() != self.h_spin.value():
            with signals_blocked(self.w_spin):
                self.w_spin.setValue(self.h_spin.value())
        self.valueChanged.emit()


class GeometryEditor(DockSection):
    """Stride, padding and dilation of the convolution, and the live shape arithmetic.

    Signals
    -------
    geometryChanged()
        Once per change, by the user or by :meth:`set_values` when a value changed.
    """

    geometryChanged = Signal()
    #: the "How it is computed…" button was pressed (the window opens the animation)
    stepsRequested = Signal()
    #: The :class:`~deconv_gui.core.Params` fields this form edits.
    FIELDS: tuple[str, ...] = (
        *_FIELDS,
        "padding_mode",
        "layer_kind",
        "output_padding",
        "activation",
        "leaky_slope",
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Geometry", parent)
        layout = self.column
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        self._pairs: dict[str, PairControl] = {}
        for row, (name, (low, high, tip)) in enumerate(_FIELDS.items()):
            label = QLabel(name)
            label.setToolTip(field_tip(name, tip))
            pair = PairControl(name, low, high, tip)
            pair.valueChanged.connect(self.geometryChanged)
            grid.addWidget(label, row, 0)
            grid.addWidget(pair, row, 1)
            self._pairs[name] = pair
        mode_label = QLabel("mode")
        self._mode = QComboBox()
        self._mode.addItems(schema.rule("padding_mode").choices)
        self._mode.setToolTip(_MODE_TIP)
        mode_label.setToolTip(_MODE_TIP)
        self._mode.setCurrentText(schema.defaults()["padding_mode"])
        self._mode.currentIndexChanged.connect(self.geometryChanged)
        grid.addWidget(mode_label, len(_FIELDS), 0)
        grid.addWidget(self._mode, len(_FIELDS), 1)
        # the padding's other forms (four sides, same, valid) and the layer kind
        self._sides = PaddingSides(self._pairs["padding"], PairControl)
        self._layer = LayerKind(PairControl)
        self._sides.add_rows(grid, len(_FIELDS) + 1)
        self._layer.add_rows(grid, len(_FIELDS) + 3)
        self._activation = Activation(self)
        self._activation.add_rows(grid, len(_FIELDS) + 5)
        self._sides.changed.connect(self.geometryChanged)
        self._layer.changed.connect(self.geometryChanged)
        self._activation.changed.connect(self.geometryChanged)
        grid.setColumnStretch(1, 1)
        grid.setContentsMargins(0, 0, 0, 0)
        # in one widget: turned off and on again as a whole, each control keeps its own
        # state (a padding pair off for "same")
        self._fields = QWidget()
        self._fields.setLayout(grid)
        layout.addWidget(self._fields)
        for name, value in schema.defaults().items():  # the one set of defaults
            if name in self._pairs:
                self._pairs[name].set_value(schema.check(name, value))

        self._arithmetic = QLabel()
        self._arithmetic.setWordWrap(True)
        self._arithmetic.setTextFormat(Qt.TextFormat.RichText)
        self._arithmetic.setToolTip(
            "Input shape → forward output shape; equations (output values) versus unknowns "
            "(input values). When there are fewer equations than unknowns, at least the "
            "difference is lost: those directions of the image cannot be recovered."
        )
        layout.addWidget(self._arithmetic)
        self.steps_button = QPushButton("How it is computed…")
        self.steps_button.setToolTip(
            "Watch this convolution step by step: the window over the padded input, the "
            "transpose as scatter or zero insertion, the pseudo-inverse's iterations "
            "(View → How it is computed, Ctrl+Shift+H)"
        )
        self.steps_button.clicked.connect(self.stepsRequested)
        layout.addWidget(self.steps_button)
        self._notes: tuple[str, ...] = ()
        self.show_arithmetic("")

    def stride(self) -> tuple[int, int]:
        """``(s_h, s_w)``."""
        return self._pairs["stride"].value()

    def padding(self) -> tuple[int, int] | tuple[tuple[int, int], tuple[int, int]] | str:
        """``(p_h, p_w)``, ``((top, bottom), (left, right))`` or a name (``"same"``, …)."""
        return self._sides.value()

    def dilation(self) -> tuple[int, int]:
        """``(d_h, d_w)``."""
        return self._pairs["dilation"].value()

    def padding_mode(self) -> str:
        """``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``."""
        return self._mode.currentText()

    def mode_control(self) -> QComboBox:
        """The padding mode's combo box (tests, focus)."""
        return self._mode

    def values(self) -> dict[str, tuple[int, int] | str]:
        """The :attr:`FIELDS` as ``Params`` keyword arguments."""
        values: dict = {name: pair.value() for name, pair in self._pairs.items()}
        values["padding"] = self.padding()
        values["padding_mode"] = self.padding_mode()
        values["layer_kind"], values["output_padding"] = self._layer.value()
        values["activation"], values["leaky_slope"] = self._activation.value()
        return values

    def pair_control(self, name: str) -> PairControl:
        """The control of ``"stride"``, ``"padding"`` or ``"dilation"`` (tests, focus)."""
        return self._pairs[name]

    def set_values(
        self,
        stride=None,
        padding=None,
        dilation=None,
        padding_mode=None,
        layer_kind=None,
        output_padding=LayerKind.KEEP,
        activation=None,
        leaky_slope=None,
    ) -> None:
        """Set any of the fields (a pair: an int or ``(h, w)``; ``padding`` in any form of
        the schema; None keeps the current value, except for ``output_padding``, whose
        None is "auto").

        Emits :attr:`geometryChanged` once if something changed. Equal pairs are shown linked.

        Raises
        ------
        ValueError
            Naming the argument, when out of the schema's range (see :data:`_FIELDS`).
        """
        given = {
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "padding_mode": padding_mode,
            "activation": activation,
            "leaky_slope": leaky_slope,
        }
        # everything is checked before anything is shown: a refusal changes nothing
        new = {
            name: schema.check(name, value) for name, value in given.items() if value is not None
        }
        layer = self._layer.checked(layer_kind, output_padding)
        changed = False
        for name in ("stride", "dilation"):
            if name in new:
                changed |= self._pairs[name].set_value(new[name])
        if "padding" in new:
            changed |= self._sides.set_value(new["padding"])
        changed |= self._layer.set_value(*layer)
        changed |= self._activation.set_value(new.get("activation"), new.get("leaky_slope"))
        mode = new.get("padding_mode")
        if mode is not None and mode != self.padding_mode():
            with signals_blocked(self._mode):
                self._mode.setCurrentText(mode)
            changed = True
        if changed:
            self.geometryChanged.emit()

    def set_read_only(self, note: str) -> None:
        """Let the geometry be looked at but not edited, ``note`` saying why under the
        title ("": editable again)."""
        self._fields.setEnabled(not note)
        self.show_note(note)

    @property
    def read_only(self) -> bool:
        """Whether the geometry is shown read-only (:meth:`set_read_only`)."""
        return not self._fields.isEnabled()

    def set_notes(self, *lines: str) -> None:
        """Lines shown under the arithmetic from the next :meth:`show_arithmetic` on (how
        channels connect, which input sizes give the output size)."""
        self._notes = tuple(str(line) for line in lines if line)

    def show_arithmetic(self, text: str, error: bool = False) -> None:
        """Show the shape arithmetic (pale yellow box), or an error message (pale red).

        The part before the first ``" · "`` (the shapes) is shown in bold on its own line,
        and the notes (:meth:`set_notes`) on the last ones.
        """
        if self._arithmetic.property("error") != bool(error):
            self._arithmetic.setProperty("error", bool(error))
        style = _ARITHMETIC_ERROR if error else NOTE_STYLE
        theme_style(self._arithmetic, style)
        if not text:
            body = "<i>shape arithmetic appears here</i>"
        elif error:
            body = f"<b>impossible geometry</b><br>{html.escape(text)}"
        else:
            head, _, rest = text.partition(" · ")
            body = f"<b>{html.escape(head)}</b>"
            if rest:
                body += f"<br><small>{html.escape(rest)}</small>"
            for note in self._notes:
                body += f"<br><small><i>{html.escape(note)}</i></small>"
        if self._arithmetic.text() != body:
            self._arithmetic.setText(body)

    def arithmetic_text(self) -> str:
        """The plain text currently shown in the arithmetic box (for tests)."""
        return self._arithmetic.text()
