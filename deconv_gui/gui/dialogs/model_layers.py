"""File → Open model…: the conv layers of a model file in a table, one to study."""

from __future__ import annotations

from qtpy import QtCore, QtWidgets

from ...io.models import Model
from ...io.models.activations import SCALINGS
from ...io.models.table import LAYER_COLUMNS, layer_notes, layer_row
from ..support.qthelp import nonnull
from ..support.screen import resize_within_screen

__all__ = ["NAME_WIDTH", "NOTES_LINES", "SCALING_LABELS", "ModelLayersDialog"]

#: The name column's widest (px): a long graph path is elided at its start, so its last
#: parts (what tells layers apart) and every other column stay in view.
NAME_WIDTH = 340

#: The most lines of notes shown at once; more scroll, so that a model whose every conv
#: has a note (a folded batch norm each) leaves the table its room.
NOTES_LINES = 5

#: How the scaling choices read in the dialog.
SCALING_LABELS = {
    "unit": "floats in [0, 1]: the image as loaded",
    "255": "floats in [0, 255]: the image × 255",
    "imagenet": "ImageNet: (x − mean) / std per channel",
}


class ModelLayersDialog(QtWidgets.QDialog):
    """The layers of ``model`` (graph order); *Use layer* (or a double-click) emits
    ``layerChosen(name, scaling)``.

    Columns: name, kind, C_in → C_out, kernel, stride, padding per side, dilation, groups,
    padding mode, output_padding; ``?`` where the file does not store a value (a
    state_dict's geometry), the notes below the table (a folded BatchNorm, a fused Pad).
    """

    layerChosen = QtCore.Signal(str, str)

    def __init__(self, model: Model, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setWindowTitle(f"Layers of {QtCore.QFileInfo(model.path).fileName()}")
        layout = QtWidgets.QVBoxLayout(self)
        shape = "×".join("?" if d is None else str(d) for d in model.input_shape or ())
        intro = f"{len(model.layers)} conv layers ({model.format}"
        intro += f", input {shape})" if shape else ")"
        layout.addWidget(QtWidgets.QLabel(intro, self))
        self.table = QtWidgets.QTableWidget(len(model.layers), len(LAYER_COLUMNS), self)
        self.table.setObjectName("model_layers_table")
        self.table.setHorizontalHeaderLabels(list(LAYER_COLUMNS))
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        for row, layer in enumerate(model.layers):
            for col, text in enumerate(layer_row(layer)):
                item = QtWidgets.QTableWidgetItem(text)
                node = [f"graph node {layer.node}"] if layer.node else []
                item.setToolTip("\n".join([layer.name, *node, *layer.notes]))
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.table.setWordWrap(False)  # a wrapped path is elided line by line: "/…"
        self.table.setTextElideMode(QtCore.Qt.TextElideMode.ElideLeft)
        self.table.setColumnWidth(0, min(self.table.columnWidth(0), NAME_WIDTH))
        self.table.doubleClicked.connect(lambda _index: self.accept())
        layout.addWidget(self.table, 1)
        self.notes = self._notes(layer_notes(model))
        if self.notes is not None:
            layout.addWidget(self.notes)
        form = QtWidgets.QFormLayout()
        self.scaling = QtWidgets.QComboBox(self)
        for key in SCALINGS:
            self.scaling.addItem(SCALING_LABELS[key], key)
        self.scaling.setToolTip(
            "What the model expects: the image is resized to the model's input size (when "
            "the file fixes one), scaled so, and run through the model up to the layer"
        )
        form.addRow("Model input:", self.scaling)
        layout.addLayout(form)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel, self)
        self.use_button = buttons.addButton(
            "Use layer", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        if model.layers:
            self.table.selectRow(0)
        resize_within_screen(self, max(600, self._table_width() + 40), 560)

    def _notes(self, notes: list[str]) -> QtWidgets.QScrollArea | None:
        """The notes below the table, selectable, scrolling beyond :data:`NOTES_LINES`."""
        if not notes:
            return None
        label = QtWidgets.QLabel("\n".join(notes))
        label.setObjectName("model_layers_notes")
        label.setWordWrap(True)
        label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        area = QtWidgets.QScrollArea(self)
        area.setWidget(label)
        area.setWidgetResizable(True)
        area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        area.setMaximumHeight(NOTES_LINES * label.fontMetrics().lineSpacing() + 8)
        return area

    def _table_width(self) -> int:
        """The table's width with every column whole (no horizontal scroll bar)."""
        columns = sum(self.table.columnWidth(c) for c in range(self.table.columnCount()))
        header = nonnull(self.table.verticalHeader()).sizeHint().width()
        scroll = nonnull(self.table.verticalScrollBar()).sizeHint().width()
        return columns + header + scroll + 2 * self.table.frameWidth()

    def chosen(self) -> str | None:
        """The selected layer's name."""
        selection = self.table.selectionModel()
        rows = selection.selectedRows() if selection is not None else []
        return self.model.layers[rows[0].row()].name if rows else None

    def select(self, name: str, scaling: str = "unit") -> None:
        """Select layer ``name`` and the scaling (for tests and scripts)."""
        self.table.selectRow([layer.name for layer in self.model.layers].index(name))
        self.scaling.setCurrentIndex(self.scaling.findData(scaling))

    def accept(self) -> None:
        name = self.chosen()
        if name is None:
            return
        super().accept()
        self.layerChosen.emit(name, str(self.scaling.currentData()))
