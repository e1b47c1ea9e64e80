"""The left dock's filter editor: presets, one weight grid per input channel, size, bias, C_out,
how input channels reach outputs (``groups``) and whether the kernel is flipped (``flip``).

The weights come from :func:`deconv_gui.core.make_filter` (presets) or from the user's edits;
the editor only keeps and shows them. Every change is announced once with
:attr:`FilterEditor.filterChanged`, also when a preset rewrites all cells at once. What
rebuilds the weights (a preset, a new size, ``C_in``, ``C_out`` or grouping) is
:class:`~.filter_shape.FilterShape`'s; a deep layer's slice is
:class:`~.deep_slice.DeepSlice`'s.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QSize, Signal
from qtpy.QtWidgets import QWidget

from ...core import PRESETS, make_filter
from ...core import params as schema
from ...core.choices import check_choice
from ...view import filter_ops as ops
from ..support.qthelp import signals_blocked
from .channel_picker import ChannelPicker
from .common import DOCK_WIDTH, DockSection
from .deep_slice import DEEP_CHANNELS, DeepSlice
from .filter_form import (
    CUSTOM,
    MAX_IN_CHANNELS,
    MAX_OUT_CHANNELS,
    MAX_SIZE,
    PRESET_LABELS,
    FilterForm,
)
from .filter_grids import FilterGrids, channel_names
from .filter_shape import FilterShape
from .kernel_grid import KernelGrid

__all__ = [
    "CUSTOM",
    "DEEP_CHANNELS",
    "MAX_OUT_CHANNELS",
    "PRESET_LABELS",
    "READ_ONLY_TIP",
    "FilterEditor",
    "channel_names",
]

#: The read-only filter's tooltip (its cells', its note's).
READ_ONLY_TIP = (
    "Read-only while the network up to here is studied: it runs the model file's own "
    "weights, so an edit here would change nothing shown. Choose “this layer alone” "
    "(above the panels) to edit the layer."
)


class FilterEditor(FilterShape, DeepSlice, DockSection):
    """Edit a filter ``(f_h, f_w, C_in/groups, C_out)``, its bias, ``groups`` and ``flip``.

    Signals
    -------
    filterChanged()
        Once per change of weights or bias, by the user or by a ``set_*`` call that
        changed something.
    """

    filterChanged = Signal()
    #: The :class:`~deconv_gui.core.Params` fields this form edits.
    FIELDS: tuple[str, ...] = ("weights", "bias", "groups", "flip")

    def __init__(self, parent: QWidget | None = None, *, in_channels: int = 3) -> None:
        super().__init__("Filter", parent)
        self._preset = "gaussian"
        self._weights = make_filter(self._preset, size=3, in_channels=in_channels)
        self._bias = [0.0]
        self._groups = 1
        self._flip = False
        #: a deep layer's whole filter (weights, bias, groups), shown as a slice; None else
        self._deep: tuple[np.ndarray, list[float], int] | None = None
        self._slice: tuple[int, tuple[int, ...]] = (0, (0,))  # output, weights' input indices
        self._read_only = False
        self.ui = FilterForm(self)
        self.picker = ChannelPicker(self)
        self.picker.setVisible(False)
        self.ui.layout.insertWidget(self.ui.layout.indexOf(self.ui.kind_note) + 1, self.picker)
        self.picker.channelsChanged.connect(self._on_channels_picked)
        self._grids = FilterGrids(self.ui.grid_layout, self.ui.applied_layout, self.set_weight)
        self.ui.preset_combo.activated.connect(self._on_preset_activated)
        self.ui.seed_spin.valueChanged.connect(self._on_seed_changed)
        self.ui.normalise_button.clicked.connect(self.normalise)
        self.ui.same_check.toggled.connect(self._on_same_toggled)
        self.ui.c_out_spin.valueChanged.connect(self._on_c_out_changed)
        self.ui.out_combo.currentIndexChanged.connect(self._on_out_selected)
        self.ui.bias_spin.valueChanged.connect(self._on_bias_changed)
        self.ui.bias_combo.currentIndexChanged.connect(self._on_out_selected)
        self.ui.groups_combo.activated.connect(
            lambda index: self.set_groups(int(self.ui.groups_combo.itemData(index)))
        )
        self.ui.flip_check.toggled.connect(self.set_flip)
        self.ui.channel_map.outputClicked.connect(self.ui.out_combo.setCurrentIndex)
        for spin in (self.ui.size_h, self.ui.size_w):
            spin.valueChanged.connect(self._on_size_changed)
        self._sync()

    def sizeHint(self) -> QSize:
        hint = QWidget.sizeHint(self)
        return QSize(max(DOCK_WIDTH, min(hint.width(), 380)), hint.height())

    # ----------------------------------------------------------------------------- public API
    def weights(self) -> np.ndarray:
        """A copy of the weights, float64 ``(f_h, f_w, C_in/groups, C_out)`` (a deep
        layer's whole filter, not the slice shown)."""
        return (self._weights if self._deep is None else self._deep[0]).copy()

    def groups(self) -> int:
        """PyTorch's ``groups``: 1 sums every input channel into each output."""
        return self._groups if self._deep is None else self._deep[2]

    @property
    def deep(self) -> bool:
        """The filter has more channels than the grids show: a slice of it is shown."""
        return self._deep is not None

    def flip(self) -> bool:
        """True convolution (the kernel flipped) instead of cross-correlation."""
        return self._flip

    def in_channels(self) -> int:
        """The image's ``C_in`` these weights are for (``C_in/groups`` per output)."""
        return self.weights().shape[2] * self.groups()

    def bias(self) -> tuple[float, ...]:
        """One bias per output channel."""
        return tuple(float(b) for b in (self._bias if self._deep is None else self._deep[1]))

    def preset(self) -> str:
        """The preset the weights came from, or ``"custom"`` after a hand edit."""
        return self._preset

    def seed(self) -> int:
        """The seed of the random presets."""
        return int(self.ui.seed_spin.value())

    def current_output(self) -> int:
        """The filter output (0-based) the grids show: a conv's output, a decoder's input."""
        return max(0, self.ui.out_combo.currentIndex())

    def same_in_all_channels(self) -> bool:
        """Whether edits are mirrored to every input channel."""
        return self.ui.same_check.isChecked()

    def set_same_in_all_channels(self, same: bool) -> None:
        """Tick or untick "same in all channels" as the user would (ticking copies channel 0)."""
        self.ui.same_check.setChecked(bool(same))

    def set_seed(self, seed: int) -> None:
        """Show ``seed`` in the seed box without rebuilding the weights (undo sets them next)."""
        with signals_blocked(self.ui.seed_spin):
            self.ui.seed_spin.setValue(int(seed))

    def set_filter(
        self,
        weights: np.ndarray,
        bias=0.0,
        preset: str = CUSTOM,
        *,
        groups: int | None = None,
        flip: bool | None = None,
    ) -> None:
        """Show given weights and bias (e.g. from a saved session).

        Parameters
        ----------
        weights : array_like
            ``(f_h, f_w, C_in/groups, C_out)`` or ``(f_h, f_w, C_in)``; sizes 1–7,
            ``C_in`` 1–4, ``C_out`` 1–8.
        bias : float or sequence of float
            A scalar or one value per output channel.
        preset : str
            The name to show in the preset combo (``"custom"`` by default).
        groups : int, optional
            PyTorch's ``groups`` (None keeps the current one): it must divide ``C_out``.
        flip : bool, optional
            True convolution (None keeps the current choice).

        Raises
        ------
        ValueError
            Naming ``weights``, ``bias``, ``groups``, ``flip`` or ``preset`` when they do
            not fit.
        """
        groups = self.groups() if groups is None else schema.check("groups", groups)
        flip = self._flip if flip is None else schema.check("flip", flip)
        try:
            array, bias_list = ops.checked_filter(
                weights, bias, groups, MAX_SIZE, MAX_IN_CHANNELS, MAX_OUT_CHANNELS
            )
        except ValueError:  # more channels than the grids show: a deep layer, or wrong
            array, bias_list = ops.checked_filter(
                weights, bias, groups, MAX_SIZE, DEEP_CHANNELS, DEEP_CHANNELS
            )
            self._set_deep(array, bias_list, groups, flip)
            return
        check_choice("preset", preset, PRESETS, extra=(CUSTOM,))
        self._leave_deep()
        self._commit(array, bias_list, preset, groups=groups, flip=flip)

    def values(self) -> dict[str, object]:
        """The :attr:`FIELDS` as ``Params`` keyword arguments."""
        return {
            "weights": self.weights(),
            "bias": self.bias(),
            "groups": self.groups(),
            "flip": self._flip,
        }

    def set_study_note(self, note: str, read_only: bool = False) -> None:
        """Say under the header what the filter is in the study shown (``note``; "":
        nothing) and, ``read_only``, let it be looked at but not edited: the network up
        to a model file's layer runs the file's own weights, so edits would change
        nothing shown (the channels and outputs to look at can still be picked)."""
        read_only = bool(read_only)
        if (note, read_only) == (self.section_note.text(), self._read_only):
            return
        self._read_only = read_only
        self.show_note(note, READ_ONLY_TIP if read_only else "")
        for widget in self._editing_widgets():
            widget.setEnabled(True)  # then their own rules: the form's, a deep layer's
        self._grids.lock(READ_ONLY_TIP if read_only else "")
        self._sync()

    @property
    def read_only(self) -> bool:
        """Whether the filter is shown read-only (:meth:`set_study_note`)."""
        return self._read_only

    def _editing_widgets(self) -> list[QWidget]:
        """What changes the filter (not what picks the part of it to look at)."""
        return [*self._locked_widgets(), self.ui.bias_spin, self.ui.flip_check]

    def set_feature_maps(self, maps: bool) -> None:
        """Name the inputs "map 0, 1, …" (the maps of a layer before), not the image's channels."""
        if self._grids.maps != bool(maps):
            self._grids.maps = bool(maps)
            self.ui.channel_map.set_feature_maps(maps)
            self._sync()

    def set_values(
        self, *, weights=None, bias=None, groups=None, flip=None, preset: str = CUSTOM
    ) -> None:
        """Show the fields given (None keeps the current one); see :meth:`set_filter`.

        Raises
        ------
        ValueError
            Naming ``weights``, ``bias``, ``groups``, ``flip`` or ``preset`` when they do
            not fit.
        """
        self.set_filter(
            self.weights() if weights is None else weights,
            self.bias() if bias is None else bias,
            preset,
            groups=groups,
            flip=flip,
        )

    def set_weight(
        self, row: int, column: int, in_channel: int, value: float, out_channel: int | None = None
    ) -> None:
        """Set one tap as a user edit would (mirrored when "same in all channels" is on)."""
        out = self.current_output() if out_channel is None else int(out_channel)
        weights = self._weights.copy()
        channels = slice(None) if self.same_in_all_channels() else int(in_channel)
        if np.all(weights[row, column, channels, out] == value):
            return  # confirming a cell without changing it is not an edit
        weights[row, column, channels, out] = value
        self._commit(weights, self._bias, CUSTOM)

    def normalise(self) -> None:
        """Divide each output channel by the sum of its weights (by Σ|w| when that sum is ≈ 0)."""
        weights = self._weights.copy()
        for o, (divisor, _why) in enumerate(ops.normalisation_divisors(weights)):
            weights[..., o] /= divisor
        preset = self._preset if np.allclose(weights, self._weights, rtol=1e-12) else CUSTOM
        self._commit(weights, self._bias, preset)

    def grid(self, in_channel: int) -> KernelGrid:
        """The grid widget of one input channel (for tests and keyboard focus)."""
        return self._grids.grids[in_channel]

    def applied_grid(self, in_channel: int) -> KernelGrid:
        """The read-only grid of the kernel as applied (flipped when ``flip`` is on)."""
        return self._grids.applied[in_channel]

    # ----------------------------------------------------------------------------- internals
    def _commit(
        self,
        weights: np.ndarray,
        bias: list[float],
        preset: str,
        *,
        groups: int | None = None,
        flip: bool | None = None,
    ) -> None:
        """Store new state, redraw, and emit ``filterChanged`` once if anything changed."""
        c_out = weights.shape[3]
        bias = [float(b) for b in bias][:c_out] + [0.0] * max(0, c_out - len(bias))
        groups = self._groups if groups is None else int(groups)
        flip = self._flip if flip is None else bool(flip)
        changed = (
            weights.shape != self._weights.shape
            or not np.array_equal(weights, self._weights)
            or bias != self._bias
            or (groups, flip) != (self._groups, self._flip)
        )
        self._weights = weights
        self._bias = bias
        self._preset = preset
        self._groups, self._flip = groups, flip
        if self._deep is not None:  # an edit of the slice is an edit of the whole filter
            full, full_bias, _ = self._deep
            output, local = self._slice
            full[:, :, list(local), output] = weights[:, :, :, 0]
            full_bias[output] = bias[0]
        self._sync()
        if changed:
            self.filterChanged.emit()

    def _sync(self) -> None:
        """Make every control show the stored state, without emitting anything."""
        # a deep layer's slice: its output's number in the layer, and the layer's C_out
        slice_of = None if self._deep is None else (self._slice[0], self._deep[0].shape[3])
        current = self.ui.show_state(
            self._weights, self._bias[:], self._preset, self._groups, self._flip, slice_of
        )
        self._grids.show(self._weights, current, self._groups, self._flip)
        self.ui.channel_map.setVisible(self._deep is None)
        if self._deep is not None:
            self._label_slice()
            self._lock_deep()  # after the form's own rules, which turn groups and more on
        if self._read_only:  # so, after them too
            for widget in self._editing_widgets():
                widget.setEnabled(False)

    # ----------------------------------------------------------------------------- slots
    def _on_out_selected(self, _index: int) -> None:
        self._sync()

    def _on_bias_changed(self, value: float) -> None:
        bias = list(self._bias)
        target = self.ui.bias_row.target(self.current_output())
        if target is None:
            bias = [float(value)] * len(bias)
        else:
            bias[target] = float(value)
        self._commit(self._weights, bias, self._preset)

    def _on_same_toggled(self, checked: bool) -> None:
        if checked and not ops.channels_equal(self._weights):
            self._commit(ops.copy_first_channel(self._weights), self._bias, CUSTOM)
