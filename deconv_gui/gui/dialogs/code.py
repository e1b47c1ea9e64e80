"""Edit → Copy as code: the current set-up as a NumPy, deconv_gui-API or PyTorch script.

The scripts come from :func:`deconv_gui.io.snippets.make_snippet`; this dialog shows
them read-only in a monospace editor, copies one to the clipboard, saves it as ``.py``,
and can save the input image as the ``.npy`` file the scripts load.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from qtpy import QtCore, QtGui, QtWidgets

from ...core import Params, registry
from ...io.files import atomic_write_bytes
from ...io.snippets import PLACEHOLDER_NPY, SNIPPET_METHODS, make_snippet, snippet_image_path
from ...io.snippets.activation import PROJECTION_VARIABLES
from ..state import AppState
from ..support import settings as stored
from ..support.qthelp import nonnull

__all__ = [
    "LANGUAGE_TABS",
    "MAX_INLINE_WEIGHTS",
    "PLACEHOLDER_IMAGE",
    "CodeDialog",
    "code_summary",
    "npy_bytes",
]

#: Tab label and tooltip per snippet language, in tab order.
LANGUAGE_TABS: dict[str, tuple[str, str]] = {
    "numpy": (
        "NumPy",
        "NumPy and SciPy only: conv2d and its adjoint written out in a few lines, the "
        "pseudo-inverse by LSQR over a scipy LinearOperator, and the priors",
    ),
    "api": (
        "deconv_gui API",
        "NumPy with deconv_gui.core: conv2d / conv2d_transpose and the same reconstruction "
        "functions the window calls",
    ),
    "torch": (
        "PyTorch",
        "torch.nn.functional.conv2d / conv_transpose2d (weights HWIO → OIHW, output_padding) "
        "the pseudo-inverse by conjugate gradients (CGLS), and the priors",
    ),
}
#: The image path the scripts use when the image did not come from a usable .npy file.
PLACEHOLDER_IMAGE = PLACEHOLDER_NPY


#: The most weights a script holds as literals (a deep layer's are millions: its script
#: is written by the command line, with the weights in a file beside it).
MAX_INLINE_WEIGHTS = 65_536


def code_summary(params: Params) -> str:
    """One sentence: what the scripts compute for ``params`` (rich text)."""
    parts = ["the forward output y = A x + b", "the transposed Aᵀ(y − b)"]
    act = params.activation
    if act != "none":
        parts = [f"the forward output y = {act}(A x + b)", "the transposed Jᵀ(y − c)"]
    parts += [registry.method(m).summary for m in SNIPPET_METHODS if m in params.methods]
    if act != "none":  # the methods' formulas with J, the layer's local map
        swaps = (("A⁺(y − b)", "J⁺(y − c)"), ("A⁺A", "J⁺J"), ("Aᵀ1", "Jᵀ1"))
        for old, new in swaps:
            parts = [part.replace(old, new) for part in parts]
    rules = [m for m in PROJECTION_VARIABLES if m in params.methods]
    parts += [f"the {registry.method(m).label} of f(x)" for m in rules]
    listed = ", ".join(parts[:-1]) + " and " + parts[-1]
    text = f"Each script computes {listed}, as the window does."
    if act != "none":
        text += (
            " With the activation the methods study J = D A, the layer's local map at the "
            "image (D its slopes), and c = D b."
        )
    if "relu_preimage" in params.methods:
        text += " The ReLU preimage is left out (a convex programme)."
    return text


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` in NumPy's ``.npy`` format (no pickle)."""
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


class CodeDialog(QtWidgets.QDialog):
    """Tabs with the scripts, and Copy / Save as .py / Save input as .npy buttons.

    Parameters
    ----------
    params : Params
        The current set-up.
    image : numpy.ndarray
        The image as used (the input panel), ``(H, W, C)``.
    image_path : str
        The ``.npy`` path the scripts load; :data:`PLACEHOLDER_IMAGE` when the image
        is not in such a file yet (the dialog then offers to save it).
    start_folder : str
        Where the save dialogs open.
    parent : QWidget, optional

    Signals
    -------
    folderUsed(str)
        A file was saved into this folder (the window remembers it).
    """

    folderUsed = QtCore.Signal(str)

    def __init__(
        self,
        params: Params,
        image: np.ndarray,
        image_path: str = PLACEHOLDER_IMAGE,
        start_folder: str = "",
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Copy as code")
        self.params = params
        self.image = image
        self.image_path = image_path
        self.start_folder = start_folder or str(Path.home())
        self.editors: dict[str, QtWidgets.QPlainTextEdit] = {}
        self.summary = QtWidgets.QLabel(code_summary(params))
        self.summary.setWordWrap(True)
        self.summary.setToolTip("What every script computes; the window's methods decide")
        self.tabs = self._script_tabs()
        self.path_label = QtWidgets.QLabel()
        self.path_label.setWordWrap(True)
        self.path_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.path_label)
        layout.addLayout(self._button_row())
        self.resize(860, 640)
        self._refresh()

    def _script_tabs(self) -> QtWidgets.QTabWidget:
        """A tab per language of :data:`LANGUAGE_TABS`: its read-only monospace editor
        (in :attr:`editors`), the language's tooltip on the tab."""
        tabs = QtWidgets.QTabWidget()
        font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(max(font.pointSize(), 9))
        for index, (lang, (label, tip)) in enumerate(LANGUAGE_TABS.items()):
            editor = QtWidgets.QPlainTextEdit()
            editor.setReadOnly(True)
            editor.setFont(font)
            editor.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
            editor.setToolTip("Read-only: copy it, or save it as a .py file")
            self.editors[lang] = editor
            tabs.addTab(editor, label)
            tabs.setTabToolTip(index, tip)
        return tabs

    def _button_row(self) -> QtWidgets.QHBoxLayout:
        """Copy, Save as .py…, Save input as .npy… and, apart, Close."""
        self.copy_button = QtWidgets.QPushButton("&Copy")
        self.copy_button.setToolTip("Copy the whole script of the open tab to the clipboard")
        self.copy_button.clicked.connect(self.copy_current)  # type: ignore[arg-type]  # result unused
        self.save_button = QtWidgets.QPushButton("&Save as .py…")
        self.save_button.setToolTip("Write the script of the open tab to a Python file (Ctrl+S)")
        self.save_button.setShortcut(QtGui.QKeySequence.StandardKey.Save)
        self.save_button.clicked.connect(self._save_code_dialog)
        self.input_button = QtWidgets.QPushButton("Save &input as .npy…")
        self.input_button.setToolTip(
            "Save the input panel (the image as used: converted and resized) as the .npy "
            "file the scripts load, and point IMAGE_PATH at it"
        )
        self.input_button.clicked.connect(self._save_input_dialog)
        close = QtWidgets.QPushButton("Close")
        close.setToolTip("Close this dialog (Esc)")
        close.clicked.connect(self.reject)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.input_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        return buttons

    # -- content -------------------------------------------------------------------------
    def _refresh(self) -> None:
        shape = tuple(self.image.shape)
        for lang, editor in self.editors.items():
            editor.setPlainText(make_snippet(lang, self.params, shape, image_path=self.image_path))
        if self.image_path == PLACEHOLDER_IMAGE:
            self.path_label.setText(
                f"The scripts load the image from <b>{PLACEHOLDER_IMAGE}</b>: save the input "
                "with <i>Save input as .npy…</i> (or File → Export, which writes "
                f"{PLACEHOLDER_NPY})."
            )
        else:
            self.path_label.setText(f"The scripts load the image from <b>{self.image_path}</b>.")

    def text(self, language: str | None = None) -> str:
        """The script of ``language`` (default: the open tab)."""
        if language is None:
            language = list(self.editors)[self.tabs.currentIndex()]
        return self.editors[language].toPlainText()

    def select(self, language: str) -> None:
        """Open the tab of ``language`` (one of :data:`LANGUAGE_TABS`)."""
        self.tabs.setCurrentIndex(list(self.editors).index(language))

    # -- actions -------------------------------------------------------------------------
    def copy_current(self) -> str:
        """Put the open tab's script on the clipboard and return it."""
        text = self.text()
        nonnull(QtWidgets.QApplication.clipboard(), "clipboard").setText(text)
        self.copy_button.setText("&Copied ✓")
        return text

    def save_code_to(self, path: str | Path) -> Path | None:
        """Write the open tab's script to ``path`` (``.py`` appended if missing)."""
        path = Path(path)
        if path.suffix != ".py":
            path = path.with_name(path.name + ".py")
        return self._write(path, self.text().encode("utf-8"))

    def save_input_to(self, path: str | Path) -> Path | None:
        """Save the image as ``.npy`` at ``path`` and make the scripts load it."""
        path = Path(path)
        if path.suffix != ".npy":
            path = path.with_name(path.name + ".npy")
        written = self._write(path, npy_bytes(self.image))
        if written is not None:
            self.image_path = str(written.resolve())
            self._refresh()
        return written

    def _write(self, path: Path, data: bytes) -> Path | None:
        try:
            written = atomic_write_bytes(path, data)
        except ValueError as exc:
            QtWidgets.QMessageBox.warning(self, "Could not save", str(exc))
            return None
        self.folderUsed.emit(str(written.resolve().parent))
        self.start_folder = str(written.resolve().parent)
        return written

    def _save_code_dialog(self) -> None:
        lang = list(self.editors)[self.tabs.currentIndex()]
        default = str(Path(self.start_folder) / f"deconv_{lang}.py")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save the script", default, "Python script (*.py)"
        )
        if path:
            self.save_code_to(path)

    def _save_input_dialog(self) -> None:
        default = str(Path(self.start_folder) / PLACEHOLDER_IMAGE)
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save the input image", default, "NumPy array (*.npy)"
        )
        if path:
            self.save_input_to(path)


def code_dialog_for(
    state: AppState, read_params: Callable[[], Params], parent: QtWidgets.QWidget | None = None
) -> CodeDialog | None:
    """The "Copy as code" dialog for the current set-up (None, with a message, if invalid).

    Parameters
    ----------
    state : AppState
        The image, its origin (a file's path goes into the script) and the settings.
    read_params : callable
        The widgets' values as :class:`~deconv_gui.core.Params` (ValueError if invalid).
    parent : QWidget, optional
        The dialog's parent.
    """
    loaded = state.image
    if loaded is None:
        state.notify("Load an image first.")
        return None
    try:
        params = read_params()
        params.geometry(loaded.pixels.shape)
    except ValueError as exc:
        state.notify(f"No code for invalid settings: {exc}")
        return None
    if params.weights.size > MAX_INLINE_WEIGHTS:
        shape = "×".join(map(str, params.weights.shape))
        state.notify(
            f"Copy as code writes the filter into the script, and this one has {shape} = "
            f"{params.weights.size:,} weights: write its script with deconv-gui code --model "
            "MODEL --layer NAME, which keeps the weights in a .npz beside it."
        )
        return None
    dialog = CodeDialog(
        params,
        loaded.pixels,
        # a layer inside a network takes what the layers before it make, not the file
        snippet_image_path(
            state.origin.path if loaded is state.source else "", loaded.pixels.shape
        ),
        stored.folder_for(state.settings, "code"),
        parent=parent,
    )
    dialog.folderUsed.connect(lambda f: stored.set_folder_for(state.settings, "code", f))
    return dialog
