"""The main window: controls in a left dock, image panels in the middle, read-out below.

Data flows one way: every edit restarts a 150 ms debounce timer; when it fires the
widgets' values become a frozen :class:`~deconv_gui.core.Params`, which a
:class:`~deconv_gui.gui.runner.PipelineRunner` computes off the GUI thread; the newest
:class:`~deconv_gui.core.Result` is drawn by the :class:`~deconv_gui.gui.panels.grid.PanelGrid`,
one panel per event-loop pass so that the window stays responsive while it draws.
Nothing here does any math.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import numpy as np
from PyQt5 import QtCore, QtGui, QtWidgets, sip

from .. import __version__
from ..core import Params, Result
from ..io import (
    FILE_EXTENSIONS,
    SAMPLES,
    LoadedImage,
    apply_work_size,
    convert_image,
    load_image,
    load_sample,
)
from ..io.session import SESSION_SUFFIX
from .actions import export as export_actions
from .actions import session as session_actions
from .actions.menus import build_menus
from .controls.filter_editor import CUSTOM, FilterEditor
from .controls.geometry import GeometryEditor
from .controls.image import ImageControls
from .controls.recon_options import ReconOptions
from .dialogs.code import CodeDialog, snippet_image_path
from .dialogs.export import ExportDialog
from .insight.menu import install_insight
from .panels.grid import PanelGrid
from .panels.status import MetricsStrip, format_readout
from .runner import PipelineRunner
from .support import settings as stored
from .support.qimage import qimage_to_array

__all__ = ["DEBOUNCE_MS", "MainWindow"]

#: Delay between the last edit and the computation.
DEBOUNCE_MS = 150
_MESSAGE_MS = 12_000  # how long a message stays in the bar above the panels
_SESSION_FILTER = f"Deconvolution sessions (*{SESSION_SUFFIX});;JSON files (*.json);;All files (*)"
_FILE_FILTER = "Images ({});;All files (*)".format(" ".join(f"*{e}" for e in FILE_EXTENSIONS))


class MainWindow(QtWidgets.QMainWindow):
    """The Deconvolution Explorer window.

    Parameters
    ----------
    settings : QSettings, optional
        Where window layout, recent files and last settings live (default: the
        user's settings; tests pass a temporary file).
    restore : bool
        Restore the last session's image and settings, and save them on close (False:
        start on the defaults and leave the stored settings alone).

    Signals
    -------
    resultShown(object)
        After a :class:`~deconv_gui.core.Result` has been drawn in every panel.
    messageShown(str)
        After an error or a notice was shown to the user.
    """

    resultShown = QtCore.pyqtSignal(object)
    messageShown = QtCore.pyqtSignal(str)

    def __init__(self, settings: QtCore.QSettings | None = None, *, restore: bool = True) -> None:
        super().__init__()
        # Qt, not Python's garbage collector, destroys the window: C++ owns it (sip keeps
        # the wrapper alive) and close() schedules deleteLater() in the GUI thread. Left to
        # the collector, the widget tree (pyqtgraph scenes included) was torn down inside
        # a GC pass, in any thread, with the items' weak references already cleared.
        sip.transferto(self, None)
        self.setAttribute(QtCore.Qt.WA_DeleteOnClose)
        self.settings = settings if settings is not None else stored.make_settings()
        self.setWindowTitle("Deconvolution Explorer")
        self.setAcceptDrops(True)
        self.loaded: LoadedImage | None = None
        self.result: Result | None = None
        self.last_message = ""
        self.remember = restore
        self._origin: tuple[str, object] = ("sample", "astronaut")
        self._submitted: dict[int, float] = {}
        self._hover: tuple[str, int, int] | None = None
        self._build_controls()
        self._build_central()
        self._build_status_bar()
        self.actions = build_menus(self)
        self.runner = PipelineRunner(self, hold_busy=True)  # busy until drawn
        self.runner.resultReady.connect(self._on_result)
        self.runner.failed.connect(self._on_failed)
        self.runner.progress.connect(self._on_progress)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.busyChanged.connect(self._on_busy)
        self._debounce = QtCore.QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.compute_now)
        # the result being drawn panel by panel: (request id, result, steps, compute time)
        self._drawing: tuple[int, Result, Iterator[str], float | None] | None = None
        #: GUI-thread seconds spent drawing the latest result (for benchmarks)
        self.draw_seconds = 0.0
        self._draw_timer = QtCore.QTimer(self, singleShot=True, interval=0)
        self._draw_timer.timeout.connect(self._draw_next)
        self._connect_controls()
        #: methods added to the reconstruction options' choice (the Insight panels set these)
        self.extra_methods: tuple[str, ...] = ()
        self.insight = install_insight(
            self
        )  # Insight menu, lost-information panels, click to inspect
        self.resize(1500, 950)
        stored.restore_window(self, restore_last=restore)
        if self.loaded is None:
            self.load_sample("astronaut")

    # ------------------------------------------------------------------------------ building
    def _build_controls(self) -> None:
        self.image_controls = ImageControls()
        self.filter_editor = FilterEditor()
        self.geometry_editor = GeometryEditor()
        self.recon_options = ReconOptions()
        holder = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(holder)
        column.setContentsMargins(4, 4, 4, 4)
        for widget in (
            self.image_controls,
            self.filter_editor,
            self.geometry_editor,
            self.recon_options,
        ):
            # never squeezed below their natural height: the dock scrolls instead
            policy = widget.sizePolicy()
            policy.setVerticalPolicy(QtWidgets.QSizePolicy.Minimum)
            widget.setSizePolicy(policy)
            column.addWidget(widget)
        column.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(holder.sizeHint().width() + 24)
        self.controls_dock = QtWidgets.QDockWidget("Controls", self)
        self.controls_dock.setObjectName("controls_dock")
        self.controls_dock.setWidget(scroll)
        self.controls_dock.setFeatures(
            QtWidgets.QDockWidget.DockWidgetMovable | QtWidgets.QDockWidget.DockWidgetFloatable
        )
        self.controls_dock.toggleViewAction().setText("Show &controls")
        self.addDockWidget(QtCore.Qt.LeftDockWidgetArea, self.controls_dock)

    def _build_central(self) -> None:
        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        column.setContentsMargins(4, 4, 4, 0)
        column.setSpacing(4)
        self.message_bar = QtWidgets.QLabel()
        self.message_bar.setObjectName("messageBar")
        self.message_bar.setWordWrap(True)
        self.message_bar.setVisible(False)
        self.message_bar.setToolTip("Click to dismiss")
        self.message_bar.mousePressEvent = self._hide_message
        self._message_timer = QtCore.QTimer(self, singleShot=True, interval=_MESSAGE_MS)
        self._message_timer.timeout.connect(self._hide_message)
        self.panels = PanelGrid()
        self.panels.hovered.connect(self._on_hover)
        self.metrics = MetricsStrip()
        column.addWidget(self.message_bar)
        column.addWidget(self.panels, 1)
        column.addWidget(self.metrics)
        self.setCentralWidget(central)

    def _build_status_bar(self) -> None:
        self.readout = QtWidgets.QLabel("Move the mouse over a panel to read the values")
        self.readout.setObjectName("readout")
        self.readout.setToolTip(
            "The value at the corresponding pixel of every panel: x = column, y = row of "
            "the input; y[row, col] indexes the forward output"
        )
        self.state_label = QtWidgets.QLabel("starting…")
        self.state_label.setToolTip("What the computation is doing")
        self._open_folder_target: Path | None = None
        self.open_folder_button = QtWidgets.QToolButton()
        self.open_folder_button.setText("Open export folder…")
        self.open_folder_button.setVisible(False)
        self.open_folder_button.clicked.connect(self._open_folder)
        bar = self.statusBar()
        bar.addWidget(self.readout, 1)
        bar.addPermanentWidget(self.open_folder_button)
        bar.addPermanentWidget(self.state_label)

    def _connect_controls(self) -> None:
        self.filter_editor.filterChanged.connect(self.schedule_update)
        self.geometry_editor.geometryChanged.connect(self.schedule_update)
        self.recon_options.optionsChanged.connect(self.schedule_update)
        self.recon_options.cancelRequested.connect(self.cancel)
        self.image_controls.sampleRequested.connect(self.load_sample)
        self.image_controls.openRequested.connect(self.open_dialog)
        self.image_controls.workSizeChanged.connect(self._on_work_size)

    # ------------------------------------------------------------------------------ compute
    def schedule_update(self) -> None:
        """Restart the debounce timer; a running solve is cancelled (it is stale now)."""
        self.runner.cancel()
        self._debounce.start()

    @property
    def forms(self) -> tuple:
        """The controls that edit :class:`Params` fields: each has ``FIELDS``, ``values()``
        and ``set_values(**fields)``, so a new field needs only its widget and the schema."""
        return (self.filter_editor, self.geometry_editor, self.recon_options)

    def current_params(self) -> Params:
        """The widgets' values as a frozen :class:`Params` (ValueError if invalid)."""
        values: dict = {}
        for form in self.forms:
            values.update(form.values())
        values["methods"] = (*values.get("methods", ()), *self.extra_methods)
        source = "" if self.loaded is None else self.loaded.source
        return Params(**values, image_source=source)

    def apply_params(self, params: Params, preset: str = CUSTOM) -> None:
        """Show ``params`` in the forms (``preset``: the filter preset's name to show).

        Raises
        ------
        ValueError
            When a widget cannot show a value (e.g. a filter larger than 7×7).
        """
        values = {f.name: getattr(params, f.name) for f in fields(params)}
        for form in self.forms:
            mine = {name: values[name] for name in form.FIELDS}
            if form is self.filter_editor:
                try:
                    form.set_values(**mine, preset=preset)
                except ValueError:
                    if preset == CUSTOM:
                        raise
                    form.set_values(**mine)  # an unknown preset name: show "custom"
            else:
                form.set_values(**mine)

    def compute_now(self) -> int | None:
        """Validate the current settings and start the computation; returns the request id.

        An invalid geometry is shown in the geometry editor (and the panels keep the
        previous result); None is returned.
        """
        self._debounce.stop()
        if self.loaded is None:
            return None
        try:
            params = self.current_params()
            geometry = params.geometry(self.loaded.pixels.shape)
        except ValueError as exc:
            self.geometry_editor.show_arithmetic(str(exc), error=True)
            self.state_label.setText("invalid settings: previous result kept")
            self.messageShown.emit(str(exc))
            self.last_message = str(exc)
            return None
        self.geometry_editor.show_arithmetic(geometry.describe())
        rid = self.runner.submit(self.loaded.pixels, params)
        self._submitted = {rid: time.perf_counter()}
        return rid

    def cancel(self) -> None:
        """Stop the running computation (the panels keep the previous result)."""
        self._debounce.stop()
        self.runner.cancel()

    def _on_result(self, rid: int, result: Result) -> None:
        """Start drawing ``result``: one panel now, the others in later event-loop passes."""
        started = self._submitted.pop(rid, None)
        wall = None if started is None else time.perf_counter() - started
        self._drawing = (rid, result, self.panels.draw_steps(result), wall)
        self.draw_seconds = 0.0
        self._draw_next()

    def _draw_next(self) -> None:
        """Draw the next panel of the result being drawn; finish when all are drawn.

        Each step is a separate event-loop pass (a zero-delay timer), so input, timers and
        the panels' own paints run in between and the window never freezes for the
        whole result. A newer result replaces the one being drawn.
        """
        if self._drawing is None:
            return
        rid, result, steps, wall = self._drawing
        start = time.perf_counter()
        try:
            finished = next(steps, None) is None
            if finished:
                self._drawing = None
                self._finish_result(result, wall)
                self.runner.release(rid)
        except Exception as exc:  # a drawing bug must not lose the previous state
            self._drawing = None
            self.runner.release(rid)
            self.show_message(f"Could not draw the result: {type(exc).__name__}: {exc}")
            return
        finally:
            self.draw_seconds += time.perf_counter() - start
        if not finished:
            self._draw_timer.start()

    def _finish_result(self, result: Result, wall: float | None) -> None:
        """Every panel shows ``result``: update the read-outs and announce it."""
        self.metrics.show_result(result, wall)
        report = result.solver
        if report is not None:
            limit = self.recon_options.max_iter()
            self.recon_options.set_progress(report.iterations, limit, report.relative_residual)
        self.recon_options.set_report(report.message if report is not None else "")
        self.result = result
        self.state_label.setText("ready")
        if self._hover is not None:
            self._on_hover(*self._hover)
        self.resultShown.emit(result)

    def _on_failed(self, _rid: int, message: str) -> None:
        self.show_message(f"Computation failed (previous result kept): {message}")
        self.state_label.setText("failed")

    def _on_cancelled(self, _rid: int) -> None:
        if not self._debounce.isActive():
            self.state_label.setText("cancelled: previous result kept")
            self.recon_options.set_report("cancelled")

    def _on_progress(self, _rid: int, iteration: int, residual: float) -> None:
        limit = self.recon_options.max_iter()
        self.recon_options.set_progress(iteration, limit, residual)
        self.state_label.setText(f"solving: iteration {iteration}, residual {residual:.1e}")

    def _on_busy(self, busy: bool) -> None:
        self.recon_options.set_busy(busy)
        if busy:
            self.state_label.setText("computing…")

    # ------------------------------------------------------------------------------ images
    def load_sample(self, name: str) -> bool:
        """Load a built-in sample at the current work size."""
        try:
            loaded = load_sample(name, self.image_controls.work_size())
        except ValueError as exc:
            self.show_message(f"Could not load sample: {exc}")
            return False
        self._set_image(loaded, ("sample", name))
        return True

    def load_path(self, path: str | Path) -> bool:
        """Load an image file; on failure show why and keep the previous image."""
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.WaitCursor)
        try:
            loaded = load_image(path, self.image_controls.work_size())
        except ValueError as exc:
            self.show_message(f"Could not open the image (previous image kept): {exc}")
            return False
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        stored.add_recent(self.settings, str(Path(path).resolve()))
        self._set_image(loaded, ("file", str(path)))
        return True

    def load_array(self, raw: np.ndarray, source: str) -> bool:
        """Use in-memory pixels (clipboard, drop); converted like a file."""
        try:
            pixels, note = convert_image(raw)
        except ValueError as exc:
            self.show_message(f"Could not use the image (previous image kept): {exc}")
            return False
        self._set_image_pixels(pixels, source, note)
        self._origin = ("array", (pixels, source, note))
        return True

    def _set_image_pixels(self, pixels: np.ndarray, source: str, note: str) -> None:
        pixels, resized = apply_work_size(pixels, self.image_controls.work_size())
        note += resized
        self._set_image(LoadedImage(pixels, source, note), self._origin)

    def _set_image(self, loaded: LoadedImage, origin: tuple[str, object]) -> None:
        self.loaded = loaded
        self._origin = origin
        shape = "×".join(map(str, loaded.pixels.shape))
        name = loaded.source if loaded.is_sample else Path(loaded.source).name
        self.image_controls.set_info(f"{name}  {shape}\n{loaded.note}")
        self.image_controls.set_current_sample(loaded.source if loaded.is_sample else None)
        self.readout.setText(f"Loaded {name} ({shape}): {loaded.note}")
        self.filter_editor.set_in_channels(loaded.pixels.shape[2])
        self.compute_now()

    def set_work_size(self, size: int | None) -> None:
        """Resize the current image's long side to ``size`` (None: original) and recompute."""
        self.image_controls.set_work_size(size)
        self._on_work_size(size)

    def _on_work_size(self, _size: object) -> None:
        kind, value = self._origin
        if kind == "sample":
            self.load_sample(str(value))
        elif kind == "file":
            self.load_path(str(value))
        elif kind == "array":
            pixels, source, note = value
            self._set_image_pixels(pixels, source, note)

    def open_dialog(self) -> None:
        """File → Open: pick an image file."""
        start = stored.last_directory(self.settings)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open image", start, _FILE_FILTER)
        if path:
            self.load_path(path)

    def paste_image(self) -> bool:
        """Edit → Paste: use the clipboard's image (or an image file path on it)."""
        mime = QtWidgets.QApplication.clipboard().mimeData()
        return self._load_mime(mime, "clipboard")

    def _load_mime(self, mime: QtCore.QMimeData | None, source: str) -> bool:
        if mime is not None and mime.hasUrls():
            for url in mime.urls():
                if url.isLocalFile():
                    path = url.toLocalFile()
                    if path.lower().endswith(SESSION_SUFFIX):
                        return self.open_session(path)
                    return self.load_path(path)
        if mime is not None and mime.hasImage():
            try:
                raw = qimage_to_array(QtGui.QImage(mime.imageData()))
            except ValueError as exc:
                self.show_message(str(exc))
                return False
            return self.load_array(raw, source)
        if mime is not None and mime.hasText() and Path(mime.text().strip()).is_file():
            return self.load_path(mime.text().strip())
        self.show_message(f"The {source} holds no image.", error=False)
        return False

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasImage() or any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        event.acceptProposedAction()
        self._load_mime(event.mimeData(), "dropped image")

    def fill_recent_menu(self) -> None:
        """Rebuild File → Open recent from the settings."""
        menu = self.actions.recent_menu
        menu.clear()
        for path in stored.recent_files(self.settings):
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.load_path(p))
        if menu.isEmpty():
            menu.addAction("(no recent files)").setEnabled(False)

    # ------------------------------------------------------------------------------ view
    def set_layout_mode(self, mode: str) -> None:
        """``"grid"`` or ``"row"``."""
        self.panels.set_layout_mode(mode)

    def set_shared_levels(self, shared: bool) -> None:
        """Toggle the shared levels of the image-sized panels."""
        self.panels.set_shared_levels(shared)

    def set_scaling(self, scaling: str) -> None:
        """``"clip"`` or ``"auto"`` for the reconstructions."""
        self.panels.set_scaling(scaling)

    def fit_view(self) -> None:
        """Zoom every panel to its whole image."""
        self.panels.fit_all()

    def _on_hover(self, panel: str, row: int, col: int) -> None:
        if row < 0 or self.result is None:
            return
        self._hover = (panel, row, col)
        try:
            text = format_readout(self.result, panel, row, col, self.panels.forward_channel)
        except (IndexError, ValueError):
            return
        self.readout.setText(text)

    def show_message(self, text: str, error: bool = True) -> None:
        """Show a message in the bar above the panels and in the status bar."""
        self.last_message = text
        self.message_bar.setProperty("level", "error" if error else "info")
        self.message_bar.style().unpolish(self.message_bar)
        self.message_bar.style().polish(self.message_bar)
        self.message_bar.setText(text.splitlines()[0] if text else "")
        self.message_bar.setToolTip(text + "\n\n(click to dismiss)")
        self.message_bar.setVisible(True)
        self._message_timer.start()
        self.readout.setText(text.splitlines()[0] if text else "")
        self.messageShown.emit(text)

    def _hide_message(self, _event: object = None) -> None:
        self.message_bar.setVisible(False)

    # ------------------------------------------------------------------------------ files
    def export(self) -> None:
        """File → Export…: ask where and what (:class:`ExportDialog`), then :meth:`export_to`."""
        if self.result is None:
            self.show_message("Nothing to export yet: wait until the panels show a result.")
            return
        dialog = self.make_export_dialog()
        if dialog.exec_() != QtWidgets.QDialog.Accepted:
            return
        choices = dialog.choices()
        stored.set_export_choices(self.settings, choices.to_settings())
        self.export_to(
            choices.folder,
            panels=choices.panels,
            formats=choices.formats,
            figure=choices.figure,
        )

    def make_export_dialog(self) -> ExportDialog:
        """The export dialog, filled with the current panels and the remembered choices."""
        return ExportDialog(
            stored.folder_for(self.settings, "export"),
            export_actions.available_panels(self),
            stored.export_choices(self.settings),
            parent=self,
        )

    def export_to(
        self,
        folder: str | Path,
        *,
        panels=None,
        formats=("npy", "tif", "png"),
        figure: bool = True,
        overwrite: bool = False,
    ) -> list[Path] | None:
        """Write the current result into ``folder``; the files written, or None (message shown).

        Parameters
        ----------
        folder : str or Path
            An existing, writable folder.
        panels : iterable of str, optional
            Export panel names (default: every panel of the result), see
            :data:`~deconv_gui.io.export.PANELS`.
        formats : iterable of str
            Among ``"npy"``, ``"tif"`` and ``"png"`` (the PNG is the panel as displayed).
        figure : bool
            Also write ``figure.png`` and ``figure.svg`` (the panels side by side).
        overwrite : bool
            Replace existing files without asking. Otherwise existing files lead to an
            "Overwrite N files?" question, and nothing is written on No.
        """
        return export_actions.export_to(
            self, folder, panels=panels, formats=formats, figure=figure, overwrite=overwrite
        )

    def offer_open_folder(self, folder: Path) -> None:
        """Show the "Open folder" button in the status bar for ``folder``."""
        self._open_folder_target = folder
        self.open_folder_button.setToolTip(f"Open {folder} in the file manager")
        self.open_folder_button.setVisible(True)

    def _open_folder(self) -> None:
        if self._open_folder_target is not None:
            url = QtCore.QUrl.fromLocalFile(str(self._open_folder_target))
            QtGui.QDesktopServices.openUrl(url)

    # ------------------------------------------------------------------------------ sessions
    def save_session_dialog(self) -> None:
        """File → Save Session…: pick a ``*.deconv.json`` file, then :meth:`save_session_to`."""
        start = Path(stored.folder_for(self.settings, "session")) / f"session{SESSION_SUFFIX}"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save session", str(start), _SESSION_FILTER
        )
        if path:
            self.save_session_to(path)

    def save_session_to(self, path: str | Path) -> Path | None:
        """Save image source, filter, geometry, options, work size and view options to ``path``."""
        return session_actions.save_session_to(self, path)

    def open_session_dialog(self) -> None:
        """File → Open Session…: pick a ``*.deconv.json`` file, then :meth:`open_session`."""
        start = stored.folder_for(self.settings, "session")
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open session", start, _SESSION_FILTER
        )
        if path:
            self.open_session(path)

    def open_session(self, path: str | Path) -> bool:
        """Restore a session file; see :func:`.actions.session.open_session_from`."""
        return session_actions.open_session_from(self, path)

    # ------------------------------------------------------------------------------ code
    def copy_as_code(self) -> None:
        """Edit → Copy as code: the NumPy / API / PyTorch scripts of the current set-up."""
        dialog = self.make_code_dialog()
        if dialog is not None:
            dialog.exec_()

    def make_code_dialog(self) -> CodeDialog | None:
        """The "Copy as code" dialog for the current set-up (None, with a message, if invalid)."""
        if self.loaded is None:
            self.show_message("Load an image first.")
            return None
        try:
            params = self.current_params()
            params.geometry(self.loaded.pixels.shape)
        except ValueError as exc:
            self.show_message(f"No code for invalid settings: {exc}")
            return None
        kind, value = self._origin
        source = str(value) if kind == "file" else ""
        dialog = CodeDialog(
            params,
            self.loaded.pixels,
            snippet_image_path(source, self.loaded.pixels.shape),
            stored.folder_for(self.settings, "code"),
            parent=self,
        )
        dialog.folderUsed.connect(lambda f: stored.set_folder_for(self.settings, "code", f))
        return dialog

    def save_panels_png(self, path: str | Path) -> bool:
        """Save a picture of the panels and the metrics strip."""
        ok = self.centralWidget().grab().save(str(path), "PNG")
        if not ok:
            self.show_message(f"Could not write {path}")
        return ok

    def save_screenshot(self, path: str | Path) -> bool:
        """Save a picture of the whole window."""
        return self.grab().save(str(path), "PNG")

    def about(self) -> None:
        """Help → About."""
        QtWidgets.QMessageBox.about(
            self,
            "About Deconvolution Explorer",
            f"<h3>Deconvolution Explorer {__version__}</h3>"
            "<p>Shows, side by side, the forward output <i>y = A x + b</i> of a strided "
            "convolution, the transposed reconstruction <i>Aᵀ(y − b)</i> (what "
            "'deconvolution' layers compute: the adjoint, not an inverse) and the "
            "pseudo-inverse <i>A⁺(y − b)</i> (the minimum-norm image that reproduces "
            "<i>y</i> exactly).</p><p>Samples: " + ", ".join(SAMPLES) + "</p>",
        )

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        # nothing may fire or arrive after this: timers stop, every pool is cancelled
        # and waited for, and results queued by a finished job are dropped
        self._debounce.stop()
        self._message_timer.stop()
        self._draw_timer.stop()
        self._drawing = None
        self.panels.stop_timers()
        self.insight.shutdown()
        self.runner.shutdown()
        if self.remember:
            stored.save_window(self)
        super().closeEvent(event)
