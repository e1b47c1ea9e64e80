"""The filter editor's widgets, laid out: preset and seed, the grids' box, size, flip, C_out,
bias, the channels (groups) choice and the channel map.

:class:`FilterForm` builds the widgets and shows a state in them
(:meth:`FilterForm.show_state`); :class:`~.filter_editor.FilterEditor` keeps the filter,
connects the widgets' signals and keeps them in step with it.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core import PRESET_DESCRIPTIONS, PRESETS, filters
from ...view import filter_ops as ops
from ..support.qthelp import signals_blocked
from ..support.theme import theme_style
from .channel_map import ChannelMap, short_names
from .common import DockSection, format_number
from .fields import field_tip
from .filter_bias import BiasRow
from .filter_grids import group_label

__all__ = [
    "CUSTOM",
    "MAX_IN_CHANNELS",
    "MAX_OUT_CHANNELS",
    "MAX_SIZE",
    "PRESET_LABELS",
    "FilterForm",
]

#: The preset name reported once the user has edited the weights by hand.
CUSTOM = "custom"
MAX_OUT_CHANNELS = 8
MAX_IN_CHANNELS = 4
MAX_SIZE = 7
#: The presets that take a seed.
SEEDED = ("random", "seed_question")
#: The preset combo's entries: the presets' labels (from resources/presets.json) and custom.
PRESET_LABELS: dict[str, str] = {**filters.PRESET_LABELS, CUSTOM: "custom"}
# what the widgets add to the rules' help (the tooltips start with that)
_FLIP_NOTE = (
    "Off: cross-correlation, as PyTorch's conv2d: the kernel is used as drawn.\n"
    "On: true convolution, as scipy.signal.convolve and textbooks: the kernel is\n"
    "flipped in both axes (rotated 180°) before it slides. The flipped kernel is\n"
    "shown under it. A symmetric kernel (box, Gaussian) gives the same result."
)
_C_OUT_TIP = (
    f"Number of output channels C_out (1–{MAX_OUT_CHANNELS}). Presets fill new "
    "channels with rotated copies; for a custom filter new channels start at 0."
)
_TRANSPOSED_C_OUT_TIP = (
    "ConvTranspose2d: C_out, the filter's last axis, is the decoder's INPUT channels\n"
    "(the map it upsamples); its output has the filter's C_in channels."
)
_GROUPS_NOTE = (
    "summed: every output sums all input channels (groups 1);\n"
    "depthwise: each input channel has its own output(s) (groups = C_in)."
)


def _spin(low: int, high: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setToolTip(tip)
    return spin


class FilterForm:
    """The widgets of a :class:`~.filter_editor.FilterEditor`, laid out in its column."""

    def __init__(self, owner: DockSection) -> None:
        self.layout = layout = owner.column
        self.header = owner.header
        # a transposed conv reads the filter the other way round: said under the header
        self.kind_note = QLabel("ConvTranspose2d: in C_out → out C_in")
        self.kind_note.setWordWrap(True)
        theme_style(self.kind_note, "color: {muted};")
        self.kind_note.hide()
        layout.addWidget(self.kind_note)
        self.transposed = False
        layout.addLayout(self._preset_row())
        self.grid_box = QWidget()
        self.grid_layout = QGridLayout(self.grid_box)
        self.grid_layout.setContentsMargins(0, 0, 0, 0)
        self.grid_layout.setHorizontalSpacing(4)
        self.grid_layout.setVerticalSpacing(2)
        layout.addWidget(self.grid_box, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(self._size_row())
        self.same_check = QCheckBox("same in all channels")
        self.same_check.setChecked(True)
        self.same_check.setToolTip(
            "Edits to one channel's grid are copied to every channel.\n"
            "Turning it on copies the first channel's grid to the others."
        )
        layout.addWidget(self.same_check)
        self._add_flip(layout)
        layout.addLayout(self._output_row())
        self.bias_row = BiasRow()
        self.bias_label, self.bias_combo = self.bias_row.label, self.bias_row.combo
        self.bias_spin = self.bias_row.spin
        layout.addLayout(self.bias_row)
        layout.addLayout(self._groups_row())
        self.channel_map = ChannelMap()
        layout.addWidget(self.channel_map)
        self._name_widgets()
        self.set_transposed(False)

    def _name_widgets(self) -> None:
        """Object names, for tests, QSettings and style sheets."""
        names = {
            "preset": self.preset_combo,
            "seed": self.seed_spin,
            "size_h": self.size_h,
            "size_w": self.size_w,
            "same": self.same_check,
            "normalise": self.normalise_button,
            "c_out": self.c_out_spin,
            "output": self.out_combo,
            "bias": self.bias_spin,
            "bias_output": self.bias_combo,
            "groups": self.groups_combo,
            "flip": self.flip_check,
            "channel_map": self.channel_map,
        }
        for name, widget in names.items():
            widget.setObjectName(name)

    def _preset_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("preset"))
        self.preset_combo = QComboBox()
        for name in (*PRESETS, CUSTOM):
            self.preset_combo.addItem(PRESET_LABELS[name], name)
            tip = PRESET_DESCRIPTIONS.get(name, "weights edited by hand")
            self.preset_combo.setItemData(
                self.preset_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole
            )
        self.preset_combo.setToolTip(
            "Filter preset (from make_filter). Editing any cell switches this to 'custom'."
        )
        row.addWidget(self.preset_combo, 1)
        self.seed_label = QLabel("seed")
        row.addWidget(self.seed_label)
        self.seed_spin = _spin(
            0, 99_999, "Random seed of the 'random' and 'seed question' presets."
        )
        self.seed_spin.setMaximumWidth(self.seed_spin.fontMetrics().horizontalAdvance("99999") + 30)
        row.addWidget(self.seed_spin)
        return row

    def _size_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("size"))
        self.size_h = _spin(1, MAX_SIZE, f"Kernel height f_h (1–{MAX_SIZE}).")
        self.size_w = _spin(
            1, MAX_SIZE, f"Kernel width f_w (1–{MAX_SIZE}); rectangular is allowed."
        )
        row.addWidget(self.size_h)
        row.addWidget(QLabel("×"))
        row.addWidget(self.size_w)
        row.addStretch(1)
        self.normalise_button = QPushButton("Normalise")
        row.addWidget(self.normalise_button)
        return row

    def _add_flip(self, layout: QVBoxLayout) -> None:
        """The flip checkbox, the note under it and the kernel as applied (when flipped)."""
        self.flip_check = QCheckBox("true convolution (flip kernel)")
        self.flip_check.setToolTip(field_tip("flip", _FLIP_NOTE))
        layout.addWidget(self.flip_check)
        self.correlation_note = QLabel("off: cross-correlation, as PyTorch")
        self.correlation_note.setWordWrap(True)
        self.correlation_note.setToolTip(self.flip_check.toolTip())
        layout.addWidget(self.correlation_note)
        self.applied_box = QWidget()
        applied_column = QVBoxLayout(self.applied_box)
        applied_column.setContentsMargins(0, 0, 0, 0)
        applied_column.setSpacing(2)
        self.applied_caption = QLabel("as applied: flipped 180° (read-only)")
        applied_column.addWidget(self.applied_caption)
        self.applied_layout = QGridLayout()
        self.applied_layout.setContentsMargins(0, 0, 0, 0)
        self.applied_layout.setHorizontalSpacing(4)
        self.applied_layout.setAlignment(Qt.AlignmentFlag.AlignLeft)
        applied_column.addLayout(self.applied_layout)
        layout.addWidget(self.applied_box, 0, Qt.AlignmentFlag.AlignLeft)
        self.applied_box.hide()
        for note in (self.correlation_note, self.applied_caption):
            font = note.font()
            font.setPointSizeF(font.pointSizeF() * 0.9)
            note.setFont(font)
            theme_style(note, "color: {muted}; margin-left: 22px;")  # under the box's text

    def _output_row(self) -> QHBoxLayout:
        """C_out and which of its channels the grids show."""
        row = QHBoxLayout()
        self.c_out_label = QLabel("C_out")
        row.addWidget(self.c_out_label)
        self.c_out_spin = _spin(1, MAX_OUT_CHANNELS, _C_OUT_TIP)
        row.addWidget(self.c_out_spin)
        row.addSpacing(4)
        row.addWidget(QLabel("weights of"))
        self.out_combo = QComboBox()
        row.addWidget(self.out_combo, 1)
        return row

    def _groups_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("channels"))
        self.groups_combo = QComboBox()
        self.groups_combo.setToolTip(field_tip("groups", _GROUPS_NOTE))
        # long labels must not widen the dock: the popup shows them in full
        self.groups_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.groups_combo.setMinimumContentsLength(14)
        row.addWidget(self.groups_combo, 1)
        return row

    def set_transposed(self, transposed: bool) -> None:
        """Word the controls for a ConvTranspose2d (its input is the filter's C_out) or a
        conv; :meth:`show_state` shows the words."""
        self.transposed = self.bias_row.transposed = bool(transposed)
        self.kind_note.setVisible(self.transposed)
        self.channel_map.set_transposed(self.transposed)
        tip = f"{_C_OUT_TIP}\n{_TRANSPOSED_C_OUT_TIP}" if self.transposed else _C_OUT_TIP
        for widget in (self.c_out_label, self.c_out_spin):
            widget.setToolTip(tip)
        self.kind_note.setToolTip(_TRANSPOSED_C_OUT_TIP)
        self.out_combo.setToolTip(
            "Which input channel (the filter's C_out) the grids show and edit."
            if self.transposed
            else "Which output channel the grids and the bias show and edit."
        )

    def _header(self, shape: tuple[int, ...], groups: int) -> None:
        fh, fw, c_group, c_out = shape
        c_in = c_group * groups
        self.header.setText(f"Filter  {fh}×{fw}×{c_group}×{c_out}")
        tip = (
            "kernel height × width × input channels × output channels"
            if groups == 1
            else "kernel height × width × input channels per group "
            f"(C_in/groups = {c_in}/{groups}) × output channels"
        )
        if self.transposed:
            tip += (
                f"\nConvTranspose2d: the input map has C_out = {c_out} channels, the output "
                f"C_in = {c_in};\nPyTorch's weight is (C_out, C_in/groups, f_h, f_w) = "
                f"({c_out}, {c_group}, {fh}, {fw})"
            )
        self.header.setToolTip(tip)

    def _output_names(self, c_out: int, slice_of: tuple[int, int] | None) -> list[str]:
        """The output combo's items: a conv's outputs, a transposed conv's inputs (the
        filter's C_out); a deep layer's slice: the one shown, by its number in the layer."""
        first, count = (0, c_out) if slice_of is None else (slice_of[0], slice_of[1])
        shown = range(first, first + c_out)
        if self.transposed:
            names = short_names(count, self.channel_map.maps)
            return [f"input {names[i]}" for i in shown]
        return [f"output {o}" for o in shown]

    def show_state(
        self,
        weights: np.ndarray,
        bias: list[float],
        preset: str,
        groups: int,
        flip: bool,
        slice_of: tuple[int, int] | None = None,
    ) -> int:
        """Show a filter's state in every control, without emitting; returns the output shown.

        ``weights`` is ``(f_h, f_w, C_in/groups, C_out)`` and ``bias`` one value per filter
        output; ``slice_of``: a deep layer's slice, ``(number in the layer of the filter
        output shown, the layer's C_out)``.
        """
        fh, fw, c_group, c_out = weights.shape
        c_in = c_group * groups
        self._header(weights.shape, groups)
        controls = (
            self.preset_combo,
            self.seed_spin,
            self.size_h,
            self.size_w,
            self.c_out_spin,
            self.out_combo,
            self.bias_spin,
            self.bias_combo,
            self.same_check,
            self.groups_combo,
            self.flip_check,
        )
        with signals_blocked(*controls):
            if self.same_check.isChecked() and not ops.channels_equal(weights):
                # ticked while the channels differ, an edit of R would overwrite G and B
                self.same_check.setChecked(False)
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(preset))
            self.seed_spin.setEnabled(preset in SEEDED)
            self.seed_label.setEnabled(preset in SEEDED)
            self.size_h.setValue(fh)
            self.size_w.setValue(fw)
            current = self._show_outputs(c_out, groups, slice_of)
            self.bias_row.show(bias, current, c_in, c_out, slice_of)
            self.same_check.setEnabled(c_group > 1)
            self._show_groups(c_in, groups)
            self.flip_check.setChecked(flip)
        self.correlation_note.setVisible(not flip)
        self.applied_box.setVisible(flip)
        self.channel_map.set_channels(c_in, c_out, groups, current)
        self._update_normalise_tip(weights)
        return current

    def _show_outputs(self, c_out: int, groups: int, slice_of: tuple[int, int] | None) -> int:
        """C_out and the output choice (signals blocked by the caller); the output shown."""
        # C_out moves in steps of groups (each group has C_out/groups outputs)
        self.c_out_spin.setRange(groups, MAX_OUT_CHANNELS // groups * groups)
        self.c_out_spin.setSingleStep(groups)
        if slice_of is not None:  # a deep layer's (locked): its own, not the slice's 1
            self.c_out_spin.setRange(1, max(MAX_OUT_CHANNELS, slice_of[1]))
        self.c_out_spin.setValue(c_out if slice_of is None else slice_of[1])
        current = min(max(0, self.out_combo.currentIndex()), c_out - 1)
        names = self._output_names(c_out, slice_of)
        if [self.out_combo.itemText(k) for k in range(self.out_combo.count())] != names:
            self.out_combo.clear()
            self.out_combo.addItems(names)
        self.out_combo.setCurrentIndex(current)
        self.out_combo.setEnabled(c_out > 1)
        return current

    def _show_groups(self, c_in: int, groups: int) -> None:
        """The groups choices C_in allows, ``groups`` chosen (signals blocked by the caller)."""
        choices = ops.group_choices(c_in)
        combo = self.groups_combo
        if [combo.itemData(k) for k in range(combo.count())] != choices:
            combo.clear()
            for g in choices:
                combo.addItem(group_label(g, c_in), g)
        combo.setCurrentIndex(max(0, combo.findData(groups)))
        combo.setEnabled(len(choices) > 1)

    def _update_normalise_tip(self, weights: np.ndarray) -> None:
        lines = ["Divide each output channel's weights by their sum (so a flat image keeps its"]
        lines.append("level), or by the sum of |w| when the sum is ≈ 0 (edge filters).")
        for o, (divisor, why) in enumerate(ops.normalisation_divisors(weights)):
            text = {
                "sum": f"sum of weights = {format_number(divisor, 4)}",
                "abs": f"sum ≈ 0, so sum of |w| = {format_number(divisor, 4)}",
                "zero": "all zero: nothing to do",
            }[why]
            lines.append(f"output {o}: {text}")
        self.normalise_button.setToolTip("\n".join(lines))
