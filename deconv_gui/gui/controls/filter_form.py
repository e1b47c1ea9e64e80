"""The filter editor's widgets, laid out: preset and seed, the grids' box, size, C_out, bias.

:class:`FilterForm` only builds the widgets; :class:`~.filter_editor.FilterEditor` keeps
the filter, connects the widgets' signals and keeps them in step with it.
"""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core import PRESET_DESCRIPTIONS, PRESETS, filters
from .common import section_header

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
#: The preset combo's entries: the presets' labels (from resources/presets.json) and custom.
PRESET_LABELS: dict[str, str] = {**filters.PRESET_LABELS, CUSTOM: "custom"}


def _spin(low: int, high: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setToolTip(tip)
    return spin


class FilterForm:
    """The widgets of a :class:`~.filter_editor.FilterEditor`, laid out in ``owner``."""

    def __init__(self, owner: QWidget) -> None:
        layout = QVBoxLayout(owner)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(5)
        self.header = section_header("Filter")
        layout.addWidget(self.header)

        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel("preset"))
        self.preset_combo = QComboBox()
        for name in (*PRESETS, CUSTOM):
            self.preset_combo.addItem(PRESET_LABELS[name], name)
            tip = PRESET_DESCRIPTIONS.get(name, "weights edited by hand")
            self.preset_combo.setItemData(self.preset_combo.count() - 1, tip, Qt.ToolTipRole)
        self.preset_combo.setToolTip(
            "Filter preset (from make_filter). Editing any cell switches this to 'custom'."
        )
        preset_row.addWidget(self.preset_combo, 1)
        self.seed_label = QLabel("seed")
        preset_row.addWidget(self.seed_label)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 99_999)
        self.seed_spin.setMaximumWidth(self.seed_spin.fontMetrics().horizontalAdvance("99999") + 30)
        self.seed_spin.setToolTip("Random seed of the 'random' and 'seed question' presets.")
        preset_row.addWidget(self.seed_spin)
        layout.addLayout(preset_row)

        self.grid_box = QWidget()
        self.grid_layout = QGridLayout(self.grid_box)
        self.grid_layout.setContentsMargins(0, 0, 0, 0)
        self.grid_layout.setHorizontalSpacing(4)
        self.grid_layout.setVerticalSpacing(2)
        layout.addWidget(self.grid_box, 0, Qt.AlignLeft)

        size_row = QHBoxLayout()
        size_row.addWidget(QLabel("size"))
        self.size_h = _spin(1, MAX_SIZE, "Kernel height f_h (1–7).")
        self.size_w = _spin(1, MAX_SIZE, "Kernel width f_w (1–7); rectangular is allowed.")
        size_row.addWidget(self.size_h)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.size_w)
        size_row.addStretch(1)
        self.normalise_button = QPushButton("Normalise")
        size_row.addWidget(self.normalise_button)
        layout.addLayout(size_row)

        self.same_check = QCheckBox("same in all channels")
        self.same_check.setChecked(True)
        self.same_check.setToolTip(
            "Edits to one channel's grid are copied to every channel.\n"
            "Turning it on copies the first channel's grid to the others."
        )
        layout.addWidget(self.same_check)

        out_row = QHBoxLayout()
        out_row.addWidget(QLabel("C_out"))
        self.c_out_spin = _spin(1, MAX_OUT_CHANNELS, "")
        self.c_out_spin.setToolTip(
            "Number of output channels C_out (1–8). Presets fill new channels with rotated "
            "copies; for a custom filter new channels start at 0."
        )
        out_row.addWidget(self.c_out_spin)
        self.out_combo = QComboBox()
        self.out_combo.setToolTip("Which output channel the grids and the bias show and edit.")
        out_row.addWidget(self.out_combo)
        out_row.addSpacing(4)
        out_row.addWidget(QLabel("bias"))
        self.bias_spin = QDoubleSpinBox()
        self.bias_spin.setRange(-100.0, 100.0)
        self.bias_spin.setDecimals(3)
        self.bias_spin.setSingleStep(0.01)
        self.bias_spin.setToolTip(
            "Bias b added to the selected output channel: y = A x + b. "
            "The reconstructions subtract it again (they use y − b)."
        )
        out_row.addWidget(self.bias_spin)
        out_row.addStretch(1)
        layout.addLayout(out_row)
