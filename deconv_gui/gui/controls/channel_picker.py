"""The channel picker of a deep layer: which input channels and output channels are shown.

A layer of more channels than the window draws as pictures (a model's layer: 64–512)
shows montages of the picked channels in the panels (:mod:`deconv_gui.view.montage`),
and the filter editor shows the slice of the filter from the first picked inputs (at
most four, of the group the output sees) to the first picked output.
"""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFormLayout, QGroupBox, QLineEdit, QWidget

from ...view.montage import channels_text, default_channels, parse_channels

__all__ = ["ChannelPicker"]


class ChannelPicker(QGroupBox):
    """Two lines, "inputs" and "outputs" (``0-15, 32``); ``channelsChanged(inputs,
    outputs)`` with the picked tuples when either is edited and valid."""

    channelsChanged = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Channels shown", parent)
        self.setObjectName("channel_picker")
        self._counts = (1, 1)
        self.inputs: tuple[int, ...] = (0,)
        self.outputs: tuple[int, ...] = (0,)
        form = QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        self.input_edit, self.output_edit = QLineEdit(self), QLineEdit(self)
        for edit, name in ((self.input_edit, "inputs"), (self.output_edit, "outputs")):
            edit.setObjectName(f"channel_picker_{name}")
            edit.setPlaceholderText("e.g. 0-15, 32")
            edit.editingFinished.connect(self._edited)
            form.addRow(name, edit)
        self.input_edit.setToolTip(
            "The input channels drawn as a montage in the input-side panels (0-based ranges); "
            "the filter editor shows the first four of them that the output sees"
        )
        self.output_edit.setToolTip(
            "The output channels drawn as a montage in the forward panel; the first is the "
            "filter editor's output"
        )

    def set_counts(self, c_in: int, c_out: int) -> None:
        """A layer of ``c_in → c_out`` channels: back to the first 16 of each."""
        if (c_in, c_out) == self._counts:
            return
        self._counts = (c_in, c_out)
        self.inputs, self.outputs = default_channels(c_in), default_channels(c_out)
        self.input_edit.setText(channels_text(self.inputs))
        self.output_edit.setText(channels_text(self.outputs))
        self.setTitle(f"Channels shown (of {c_in} → {c_out})")

    def pick(self, inputs: str, outputs: str) -> None:
        """Type both lines, as a user would (ValueError naming ``channels`` if invalid)."""
        picked = parse_channels(inputs, self._counts[0]), parse_channels(outputs, self._counts[1])
        self.input_edit.setText(inputs)
        self.output_edit.setText(outputs)
        self.inputs, self.outputs = picked
        self.channelsChanged.emit(*picked)

    def _edited(self) -> None:
        try:
            self.pick(self.input_edit.text(), self.output_edit.text())
        except ValueError as exc:
            self.setToolTip(str(exc))
            for edit, value in ((self.input_edit, self.inputs), (self.output_edit, self.outputs)):
                edit.setText(channels_text(value))
