"""The filter editor's bias row: which output's bias the box sets, and the box.

A convolution's bias is per output, the one whose weights the grids show (the row says
"bias of output o"). A transposed convolution's bias is per channel it writes, the
filter's ``C_in``, while its grids show one of its inputs (the filter's ``C_out``): the
row picks the decoder's output itself. The editor keeps one bias per filter output, so
a decoder with as many outputs as inputs maps them one to one, and one with another
number takes one bias shared by all its outputs (what a Params bias of one number is).
Such a decoder's own per-output biases (a session's, a model's) are carried past the
editor (:attr:`BiasRow.carried`): the row says so and shows their range, not a 0.
"""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel

from .fields import field_tip

__all__ = ["BiasRow", "bias_choices"]

_BIAS_NOTE = (
    "This box: the bias b of the selected output channel, y = A x + b. "
    "The reconstructions subtract it again (they use y − b)."
)


def bias_choices(c_in: int, c_out: int, deep: bool) -> list[str]:
    """A transposed conv's bias choices (its outputs, the filter's ``c_in``); one item when
    the box sets every output at once.

    >>> bias_choices(3, 3, False), bias_choices(2, 3, False), bias_choices(64, 3, True)
    (['output 0', 'output 1', 'output 2'], ['all 2 outputs'], ['each its own'])
    """
    if deep:  # the editor shows a slice: the model's biases are kept as they are
        return ["each its own"]
    if c_in != c_out and c_in > 1:
        # one bias per filter output (C_out) is held: only a shared one maps onto the outputs
        return [f"all {c_in} outputs"]
    return [f"output {i}" for i in range(c_in)]


class BiasRow(QHBoxLayout):
    """ "bias of output o [box]" for a conv, "bias of [output ▾] [box]" for a decoder."""

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel("bias of output 0")
        self.addWidget(self.label)
        self.combo = QComboBox()
        self.combo.setToolTip(
            "ConvTranspose2d: which of its output channels (the filter's C_in) the bias box "
            "sets; the bias is added to every pixel of that output.\n"
            "A model's deep layer keeps each output's own bias (the model's)."
        )
        self.addWidget(self.combo)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(-100.0, 100.0)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.01)
        self.spin.setToolTip(field_tip("bias", _BIAS_NOTE))
        self.addWidget(self.spin)
        #: a decoder's biases carried past the box: their range, in its place
        self.carried_label = QLabel()
        self.carried_label.setObjectName("bias_carried")
        self.carried_label.setVisible(False)
        self.addWidget(self.carried_label)
        self.addStretch(1)
        #: the box sets every output at once (see :meth:`target`)
        self.shared = False
        self.transposed = False
        #: a decoder's one bias per output, which the box cannot hold (another number of
        #: outputs than inputs): kept while the box's bias stays the 0 it was shown
        self.carried: tuple[float, ...] | None = None

    def show(
        self, bias: list[float], current: int, c_in: int, c_out: int, slice_of: tuple | None
    ) -> None:
        """Word the row for filter output ``current`` (``slice_of``: a deep layer's
        slice, its number first) and show its value, without emitting (blocked by the
        caller)."""
        self.combo.setVisible(self.transposed)
        carried = self._show_carried(bias, c_in, slice_of)
        if not self.transposed:
            self.label.setText(f"bias of output {current + (slice_of or (0,))[0]}")
            self.shared = False
            self.spin.setValue(bias[current])
            return
        self.label.setText("bias of")
        names = bias_choices(c_in, c_out, slice_of is not None or carried)
        combo = self.combo
        if [combo.itemText(k) for k in range(combo.count())] != names:
            index = combo.currentIndex()
            combo.clear()
            combo.addItems(names)
            combo.setCurrentIndex(min(max(0, index), len(names) - 1))
        combo.setEnabled(len(names) > 1)
        self.shared = len(names) == 1
        self.spin.setValue(bias[0] if self.shared else bias[combo.currentIndex()])

    def _show_carried(self, bias: list[float], c_in: int, slice_of: tuple | None) -> bool:
        """In the box's place, the range of a decoder's biases carried past it (True: shown)."""
        carried = self.carried
        shown = (
            self.transposed
            and carried is not None
            and slice_of is None
            and len(carried) == c_in
            and not any(bias)
        )
        self.spin.setVisible(not shown)
        self.carried_label.setVisible(bool(shown))
        if shown and carried is not None:
            low, high = min(carried), max(carried)
            self.carried_label.setText(f"{low:.3g} … {high:.3g}")
            values = ", ".join(f"{b:.4g}" for b in carried)
            self.carried_label.setToolTip(
                f"Each of the {len(carried)} outputs has its own bias: {values} (from the "
                "session or the model; the box sets one bias for all of them only when "
                "the decoder has as many outputs as inputs)"
            )
        return bool(shown)

    def target(self, current: int) -> int | None:
        """The bias entry the box sets: a conv's output ``current`` (shown above), a
        transposed conv's output picked in the row; None: every entry at once."""
        if not self.transposed:
            return current
        return None if self.shared else max(0, self.combo.currentIndex())
