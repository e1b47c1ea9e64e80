"""The window's file and code commands: images, export, sessions, Copy as code, the
question's example (a mixin).

:class:`WindowCommands` gives :class:`~deconv_gui.gui.main_window.MainWindow` its public
methods that read or write files and show the code scripts; each hands the window's
state to what does the work: :class:`~.image.ImageActions`, or the function of
:mod:`.export`, :mod:`.session` or :mod:`deconv_gui.gui.dialogs.code`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..dialogs.code import CodeDialog, code_dialog_for
from ..dialogs.export import ExportDialog
from ..support.teardown import run_once
from . import export as export_actions
from . import session as session_actions

if TYPE_CHECKING:
    from qtpy import QtWidgets

    from ...core import Params
    from ...document import Document
    from ..controls.filter_editor import FilterEditor
    from ..controls.geometry import GeometryEditor
    from ..controls.image import ImageControls
    from ..panels.grid import PanelGrid
    from ..state import AppState
    from .history import EditHistory
    from .image import ImageActions

    _Window = QtWidgets.QMainWindow
else:
    _Window = object

__all__ = ["WindowCommands"]


class WindowCommands(_Window):
    """Images, export, sessions and code of a window with ``state``, ``panels``,
    ``session_form``, ``images``, ``image_controls``, its editors and ``history``."""

    state: AppState
    panels: PanelGrid
    session_form: session_actions.SessionForm
    images: ImageActions
    image_controls: ImageControls
    geometry_editor: GeometryEditor
    filter_editor: FilterEditor
    history: EditHistory

    def current_params(self) -> Params:
        """The window's :class:`Params` (the window defines it)."""
        raise NotImplementedError

    def load_sample(self, name: str) -> bool:
        """Load a built-in sample at the current work size."""
        return self.images.load_sample(name)

    def load_question_example(self) -> None:
        """The forum question's layer and image: 7×7×3, a 3×3×3 filter, stride 2 (one undo step)."""
        with self.history.step("the question's 7×7×3 example"):
            # the question's layer is a Conv2d, whatever kind was studied before
            self.geometry_editor.set_values(
                stride=(2, 2), padding=(0, 0), dilation=(1, 1), layer_kind="conv"
            )
            self.filter_editor.set_groups(1)  # the question's layer sums every channel
            self.filter_editor.set_flip(False)
            self.filter_editor.set_preset("seed_question")
            self.load_sample("seed_toy")

    def load_path(self, path: str | Path) -> bool:
        """Start loading an image file off the GUI thread (see :meth:`ImageActions.load_path`)."""
        return self.images.load_path(path)

    def paste_image(self) -> bool:
        """Edit → Paste: use the clipboard's image (or an image file path on it)."""
        return self.images.paste()

    def set_work_size(self, size: int | None) -> None:
        """Resize the current image's long side to ``size`` (None: original) and recompute."""
        self.image_controls.set_work_size(size)
        self.images.reload()

    def export(self) -> None:
        """File → Export…: ask where and what (:class:`ExportDialog`), then :meth:`export_to`."""
        export_actions.export_with_dialog(self.state, self.panels, parent=self)

    def make_export_dialog(self, *, run: bool = False) -> ExportDialog:
        """The export dialog, filled with the current panels and the remembered choices.

        With ``run`` its Export button writes the files and the dialog stays open,
        showing the error, when that fails or is cancelled.
        """
        return export_actions.make_export_dialog(self.state, self.panels, parent=self, run=run)

    def export_to(
        self,
        folder: str | Path,
        *,
        panels=None,
        formats=("npy", "tif", "png"),
        figure: bool = True,
        overwrite: bool = False,
        matrix: bool = False,
    ) -> list[Path] | None:
        """Write the current result into ``folder``; see :func:`.actions.export.export_to`."""
        return export_actions.export_to(
            self.state,
            self.panels,
            folder,
            names=panels,
            formats=formats,
            figure=figure,
            overwrite=overwrite,
            parent=self,
            matrix=matrix,
        )

    def save_session_to(self, path: str | Path) -> Path | None:
        """Save image source, filter, geometry, options, work size and view options to ``path``."""
        return session_actions.save_session_to(self.session_form, path)

    def open_session(self, path: str | Path) -> bool:
        """Restore a session file; see :func:`.actions.session.open_session_from`."""
        return session_actions.open_session_from(self.session_form, path)

    def restore_model_study(self, document: Document) -> bool:
        """Study the remembered ``document``'s model layer again (see
        :func:`.actions.session.restore_model_study`)."""
        return session_actions.restore_model_study(self.session_form, document)

    def copy_as_code(self) -> None:
        """Edit → Copy as code: the NumPy / API / PyTorch scripts of the current set-up."""
        dialog = self.make_code_dialog()
        if dialog is not None:
            run_once(dialog)

    def make_code_dialog(self) -> CodeDialog | None:
        """The "Copy as code" dialog for the current set-up (None, with a message, if invalid)."""
        return code_dialog_for(self.state, self.current_params, parent=self)
