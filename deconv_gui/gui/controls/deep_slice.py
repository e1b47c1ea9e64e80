"""A deep layer's filter in the filter editor: the whole filter kept, a slice shown.

A model's layer of more channels than the grids show (64–512) keeps its whole filter
here; the grids show the slice from the first picked inputs (at most four, of the group
the output sees) to the first picked output (:class:`~.channel_picker.ChannelPicker`),
and an edit of the slice writes into the whole filter. What would rebuild the filter
(presets, size, C_out, groups) is locked: the filter is the model's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtWidgets import QWidget

from ...view import filter_ops as ops
from ..support.qthelp import signals_blocked
from .channel_picker import ChannelPicker
from .filter_form import CUSTOM, MAX_IN_CHANNELS

if TYPE_CHECKING:
    from qtpy.QtCore import SignalInstance

    from .filter_form import FilterForm
    from .filter_grids import FilterGrids

__all__ = ["DEEP_CHANNELS", "DeepSlice"]

#: The most channels a deep layer's filter may have on either side (shown as a slice).
DEEP_CHANNELS = 4096


class DeepSlice:
    """The filter editor's deep-layer mode (mixed into :class:`~.filter_editor.FilterEditor`)."""

    _deep: tuple[np.ndarray, list[float], int] | None
    _slice: tuple[int, tuple[int, ...]]
    _weights: np.ndarray
    _bias: list[float]
    _preset: str
    _groups: int
    _flip: bool
    picker: ChannelPicker
    ui: FilterForm
    _grids: FilterGrids
    if TYPE_CHECKING:
        filterChanged: SignalInstance

        def _sync(self) -> None: ...

    #: a ConvTranspose2d layer: its image is the filter's last axis, its output the third
    _transposed = False

    def set_layer_kind(self, kind: str) -> None:
        """``"conv_transpose"``: the picker's inputs are the filter's last axis (the
        decoder's input map), its outputs the filter's third axis (what it paints); the
        header, grids, C_out and channel map say so."""
        transposed = kind == "conv_transpose"
        if transposed == self._transposed:
            return
        self._transposed = transposed
        self.ui.set_transposed(transposed)
        self._grids.transposed = transposed
        self._sync()

    def _set_deep(self, weights: np.ndarray, bias: list[float], groups: int, flip: bool) -> None:
        """Keep a deep layer's whole filter and show a slice of it (see the picker)."""
        before = None if self._deep is None else (self._deep[0], self._deep[1], self._deep[2])
        c_in, c_out = weights.shape[2] * groups, weights.shape[3]
        self._deep = (weights.copy(), list(bias), groups)
        self.picker.set_counts(*((c_out, c_in) if self._transposed else (c_in, c_out)))
        self.picker.setVisible(True)
        self._lock_deep()
        changed = before is None or not (
            np.array_equal(before[0], weights) and before[1] == list(bias) and before[2] == groups
        )
        self._show_slice(flip, emit=changed)

    def _leave_deep(self) -> None:
        if self._deep is None:
            return
        self._deep = None
        self.picker.setVisible(False)
        for widget in [*self._locked_widgets(), self.ui.bias_spin]:
            widget.setEnabled(True)

    def _lock_deep(self) -> None:
        """Turn off what would rebuild the model's filter."""
        for widget in self._locked_widgets():
            widget.setEnabled(False)
        # a decoder's bias is per output channel, the filter's third axis: carried whole
        self.ui.bias_spin.setEnabled(not self._transposed)

    def _locked_widgets(self) -> list[QWidget]:
        """What a deep layer's slice cannot change: the filter is the model's."""
        ui = self.ui
        return [
            ui.preset_combo,
            ui.seed_spin,
            ui.size_h,
            ui.size_w,
            ui.c_out_spin,
            ui.groups_combo,
            ui.same_check,
            ui.normalise_button,
        ]

    def _show_slice(self, flip: bool, emit: bool) -> None:
        """Show output ``picker.outputs[0]`` from the first picked inputs it sees."""
        assert self._deep is not None
        full, bias, groups = self._deep
        outputs, inputs = self.picker.outputs, self.picker.inputs
        if self._transposed:  # the filter's axes are the decoder's the other way round
            outputs, inputs = inputs, outputs
        output = outputs[0] if outputs and outputs[0] < full.shape[3] else 0
        local = ops.filter_slice(full, groups, output, inputs, MAX_IN_CHANNELS)
        self._slice = (output, local)
        self._weights = full[:, :, list(local), output : output + 1].copy()
        self._bias, self._preset = [bias[output]], CUSTOM
        self._groups, self._flip = 1, flip
        self.same_check_off()
        self._sync()
        if emit:
            self.filterChanged.emit()

    def same_check_off(self) -> None:
        """A slice's edits go to one input channel each (the model's channels differ)."""
        with signals_blocked(self.ui.same_check):
            self.ui.same_check.setChecked(False)

    def _on_channels_picked(self, _inputs: object, _outputs: object) -> None:
        if self._deep is not None:
            self._show_slice(self._flip, emit=False)

    def _label_slice(self) -> None:
        """Say which slice of the deep filter the grids show: its channels' own numbers."""
        assert self._deep is not None
        full, _, groups = self._deep
        output, local = self._slice
        first = (output // (full.shape[3] // groups)) * full.shape[2]
        # a decoder's grids are its filter from input ``output`` to its outputs ``local``
        word, other = ("output", "input") if self._transposed else ("input", "output")
        for caption, j in zip(self._grids.captions, local, strict=False):
            caption.setText(f"{word} {first + j}")
        fh, fw, c_group, c_out = full.shape
        self.ui.header.setText(f"Filter  {fh}×{fw}×{c_group}×{c_out}")
        self.ui.header.setToolTip(
            f"A deep layer: the grids show the weights between its {other} {output} and its "
            f"{word}s {', '.join(str(first + j) for j in local)} (pick them under Channels "
            "shown); edits change the layer's filter there"
        )
