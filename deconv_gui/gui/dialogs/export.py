"""File → Export…: a dialog that collects choices (folder, panels, formats, figure).

The writing is done by :meth:`~deconv_gui.gui.main_window.MainWindow.export_to`, which
tests call directly; this dialog never touches the disk. Given a ``run`` callback, it
stays open when the export fails and shows why, so the user can pick another folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qtpy import QtCore, QtWidgets

from ..support.theme import theme_style

__all__ = ["FORMAT_LABELS", "ExportChoices", "ExportDialog"]

#: Export formats with their label and tooltip, in the order of the dialog.
FORMAT_LABELS: dict[str, tuple[str, str]] = {
    "png": (
        "PNG, as displayed",
        "8-bit RGB picture of each panel with its current levels and colormap, "
        "one pixel per data pixel (no zoom)",
    ),
    "npy": (
        "NumPy .npy (raw float array)",
        "The panel's data exactly, as an (H, W, C) float array: np.load(path)",
    ),
    "tif": (
        "32-bit float TIFF",
        "The panel's data as float32 (H, W, C) TIFF, readable by Fiji/ImageJ and tifffile",
    ),
}


@dataclass(frozen=True)
class ExportChoices:
    """What the user chose in the export dialog.

    Attributes
    ----------
    folder : str
        The destination folder.
    panels : tuple of str
        Export panel names (see :data:`~deconv_gui.io.export.PANELS`).
    formats : tuple of str
        Among ``"png"``, ``"npy"``, ``"tif"``.
    figure : bool
        Also write the comparison figure (``figure.png`` and ``figure.svg``).
    matrix : bool
        Also write the matrix ``A`` as a sparse ``A.npz``.
    """

    folder: str
    panels: tuple[str, ...]
    formats: tuple[str, ...]
    figure: bool
    matrix: bool = False

    def to_settings(self) -> dict:
        """The choices worth remembering (not the folder, which is stored on its own)."""
        return {
            "panels": list(self.panels),
            "formats": list(self.formats),
            "figure": self.figure,
            "matrix": self.matrix,
        }


class ExportDialog(QtWidgets.QDialog):
    """Choose where and what to export.

    Parameters
    ----------
    folder : str
        The folder shown first (the last one used).
    panels : sequence of (name, label)
        The panels of the current result: export name and the title shown to the user.
    remembered : dict, optional
        The last choices (``panels``, ``formats``, ``figure``); all panels and formats
        are checked when missing.
    parent : QWidget, optional
    run : callable, optional
        ``run(choices) -> error or None``, called on Export: the dialog closes when it
        returns None and otherwise stays open with the error shown.
    """

    def __init__(
        self,
        folder: str,
        panels: Sequence[tuple[str, str]],
        remembered: dict | None = None,
        parent: QtWidgets.QWidget | None = None,
        run: Callable[[ExportChoices], str | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._run = run
        self.setWindowTitle("Export the panels")
        remembered = remembered or {}
        self.folder_edit = QtWidgets.QLineEdit(folder)
        self.folder_edit.setToolTip("The folder the files are written to (created if missing)")
        self.folder_edit.setMinimumWidth(360)
        browse = QtWidgets.QPushButton("&Browse…")
        browse.setToolTip("Pick the export folder")
        browse.clicked.connect(self._browse)
        folder_row = QtWidgets.QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        choices_row = QtWidgets.QHBoxLayout()
        choices_row.addWidget(self._panel_box(panels, remembered), 3)
        choices_row.addWidget(self._format_box(remembered), 2)
        self._make_extras(remembered)
        sidecar = QtWidgets.QLabel(
            "<i>params.json</i> is always written: every parameter, the filter weights, "
            "the image source with its SHA-256, the version and the metrics."
        )
        sidecar.setWordWrap(True)
        sidecar.setObjectName("exportNote")
        theme_style(sidecar, "color: {secondary};")
        self.error_label = QtWidgets.QLabel()
        self.error_label.setObjectName("messageBar")  # the window's error look
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        self._make_buttons()
        self.folder_edit.textChanged.connect(self._update_ok)
        form = QtWidgets.QVBoxLayout(self)
        form.addWidget(QtWidgets.QLabel("<b>Folder</b>"))
        form.addLayout(folder_row)
        form.addSpacing(6)
        form.addLayout(choices_row)
        form.addWidget(self.figure_check)
        form.addWidget(self.matrix_check)
        form.addSpacing(4)
        form.addWidget(sidecar)
        form.addWidget(self.error_label)
        form.addWidget(self.buttons)
        self._update_ok()

    def _panel_box(
        self, panels: Sequence[tuple[str, str]], remembered: dict
    ) -> QtWidgets.QGroupBox:
        chosen = set(remembered.get("panels", [name for name, _ in panels]))
        none_known = not chosen & {name for name, _ in panels}  # then every panel is ticked
        self.panel_checks: dict[str, QtWidgets.QCheckBox] = {}
        box = QtWidgets.QGroupBox("Panels")
        column = QtWidgets.QVBoxLayout(box)
        for name, label in panels:
            check = QtWidgets.QCheckBox(label)
            check.setToolTip(f"Write the files of this panel, named {name}.<format>")
            check.setChecked(name in chosen or none_known)
            check.toggled.connect(self._update_ok)
            self.panel_checks[name] = check
            column.addWidget(check)
        return box

    def _format_box(self, remembered: dict) -> QtWidgets.QGroupBox:
        chosen = set(remembered.get("formats", list(FORMAT_LABELS)))
        self.format_checks: dict[str, QtWidgets.QCheckBox] = {}
        box = QtWidgets.QGroupBox("Formats")
        column = QtWidgets.QVBoxLayout(box)
        for fmt, (label, tip) in FORMAT_LABELS.items():
            check = QtWidgets.QCheckBox(label)
            check.setToolTip(tip)
            check.setChecked(fmt in chosen)
            check.toggled.connect(self._update_ok)
            self.format_checks[fmt] = check
            column.addWidget(check)
        column.addStretch(1)
        return box

    def _make_extras(self, remembered: dict) -> None:
        """The comparison figure's and the matrix's checkboxes."""
        self.figure_check = QtWidgets.QCheckBox(
            "Also save the comparison &figure (figure.png + figure.svg)"
        )
        self.figure_check.setToolTip(
            "The chosen panels side by side with their titles and scaling notes, "
            "as a PNG picture and an SVG drawing (pyqtgraph's exporters)"
        )
        self.figure_check.setChecked(bool(remembered.get("figure", True)))
        self.figure_check.toggled.connect(self._update_ok)
        self.matrix_check = QtWidgets.QCheckBox(
            "Also save the &matrix A as a sparse A.npz (scipy.sparse.load_npz)"
        )
        self.matrix_check.setToolTip(
            "A maps the image flattened as (H, W, C_in) to the output flattened as\n"
            "(H_out, W_out, C_out), without the bias: y = A x + b. Written as a compressed\n"
            "CSR matrix (scipy.sparse.save_npz) to study it in your own tools; refused\n"
            "above 2,000,000 non-zeros (shrink the work size)."
        )
        self.matrix_check.setChecked(bool(remembered.get("matrix", False)))

    def _make_buttons(self) -> None:
        buttons = (
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons = QtWidgets.QDialogButtonBox(buttons)  # type: ignore[call-overload]  # PyQt5 stubs: flag | flag is int
        ok = self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        ok.setText("&Export")
        ok.setToolTip("Write the files (you are asked before any file is replaced)")
        self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Cancel).setToolTip(
            "Write nothing"
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def accept(self) -> None:
        """Export (with a ``run`` callback): close on success, else show why and stay open."""
        if self._run is not None:
            error = self._run(self.choices())
            if error:
                self.error_label.setText(error)
                self.error_label.setToolTip(error)
                self.error_label.setVisible(True)
                # grow to hold the message rather than squeeze the panel list
                self.resize(self.width(), max(self.height(), self.sizeHint().height()))
                return
        super().accept()

    def error_text(self) -> str:
        """The error shown in the dialog ("" when none)."""
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def _browse(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(
            self, "Export folder", self.folder_edit.text() or str(Path.home())
        )
        if folder:
            self.folder_edit.setText(folder)

    def _update_ok(self, *_args: object) -> None:
        choices = self.choices()
        ready = bool(choices.folder and choices.panels and (choices.formats or choices.figure))
        self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setEnabled(ready)

    def choices(self) -> ExportChoices:
        """The current choices."""
        return ExportChoices(
            folder=self.folder_edit.text().strip(),
            panels=tuple(n for n, c in self.panel_checks.items() if c.isChecked()),
            formats=tuple(f for f, c in self.format_checks.items() if c.isChecked()),
            figure=self.figure_check.isChecked(),
            matrix=self.matrix_check.isChecked(),
        )

    def sizeHint(self) -> QtCore.QSize:
        hint = super().sizeHint()
        return QtCore.QSize(max(hint.width(), 560), hint.height())
