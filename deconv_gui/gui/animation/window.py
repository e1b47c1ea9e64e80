"""The "How it is computed" window: the current set-up's convolution, step by step.

The model (on a crop of a large image) is built by a
:class:`~deconv_gui.gui.runner.JobRunner`; each frame is drawn when it is shown
(:class:`~deconv_gui.io.video.FrameRenderer`), never all frames up front.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtGui, QtWidgets

from ...core.choices import check_choice
from ...io.cells import paper
from ...io.video import FrameRenderer, mp4_available
from ..runner import JobRunner, Priority
from ..state import AppState
from ..support.qthelp import signals_blocked
from ..support.theme import current_theme, follow_theme, theme_style
from .export_path import ask_export_path
from .jobs import MODES, StepsRequest, build_renderer, export_animation, make_request
from .playback import SPEEDS, Playback

__all__ = ["MODES", "SPEEDS", "StepsWindow"]


class StepsWindow(Playback):
    """The animation window (one per main window, shown from View → How it is computed).

    Parameters
    ----------
    state : AppState
        The result on screen (geometry, filter, image).
    selection : callable
        Returns the inspector's selection ``(panel, row, col)`` or None.
    parent : QWidget, optional
        The main window (the animation is a separate top-level window).

    Signals
    -------
    animationReady(object)
        A new :class:`~deconv_gui.gui.animation.jobs.StepsRequest` is shown.
    frameShown(int)
        Frame ``k`` is on screen.
    cropChanged(object)
        The crop animated ``(row, col, height, width)`` and its request, or None.
    exported(str)
        A file was written (its path).
    """

    animationReady = QtCore.Signal(object)
    frameShown = QtCore.Signal(int)
    cropChanged = QtCore.Signal(object)
    exported = QtCore.Signal(str)

    def __init__(self, state: AppState, selection, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent, QtCore.Qt.WindowType.Window)
        self.setObjectName("steps_window")
        self.setWindowTitle("How it is computed")
        self.state = state
        self.selection = selection
        self.request: StepsRequest | None = None
        self.renderer: FrameRenderer | None = None
        self.index = 0
        self.frame: np.ndarray | None = None
        self._pending: StepsRequest | None = None
        self._stale = True
        self.jobs = JobRunner(self, progress_interval=0.1, priority=Priority.BACKGROUND)
        self.jobs.resultReady.connect(self._on_built)
        self.jobs.failed.connect(lambda _rid, msg: self.show_message(msg.splitlines()[0], True))
        self.export_jobs = JobRunner(self, progress_interval=0.1, priority=Priority.BACKGROUND)
        self.export_jobs.resultReady.connect(self._on_exported)
        self.export_jobs.failed.connect(
            lambda _rid, msg: self.show_message(f"Export failed: {msg.splitlines()[0]}", True)
        )
        self.export_jobs.progress.connect(
            lambda _rid, v: self.show_message(f"Exporting… frame {v[0]} of {v[1]}")
        )
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._build()
        state.resultChanged.connect(lambda _result: self.refresh())
        # the frames are drawn 1200 px wide: about 1:1 on a laptop screen
        screen = QtWidgets.QApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1280, 800)
        self.resize(min(1280, room.width() - 40), min(860, room.height() - 60))

    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        column = QtWidgets.QVBoxLayout(self)
        column.addLayout(self._options_row())
        self.header = QtWidgets.QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        column.addWidget(self.header)
        column.addWidget(self._frame_view(), 1)
        column.addLayout(self._playback_row())
        self.hover = QtWidgets.QLabel(" ")
        self.hover.setToolTip("The cell under the mouse: which array, which index, its value")
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        # one line for both: every pixel of height goes to the frame (its numbers were
        # about 7 px tall at 1280×800)
        notes = QtWidgets.QHBoxLayout()
        notes.addWidget(self.hover, 1)
        notes.addWidget(self.message, 1)
        column.addLayout(notes)
        self._shortcuts()

    def _options_row(self) -> QtWidgets.QHBoxLayout:
        """What to show (mode, crop, preconditioned) and the export button."""
        top = QtWidgets.QHBoxLayout()
        self.mode_box = QtWidgets.QComboBox()
        for n, (mode, label, tip) in enumerate(MODES):
            self.mode_box.addItem(label, mode)
            self.mode_box.setItemData(n, tip, QtCore.Qt.ItemDataRole.ToolTipRole)
        self.mode_box.setToolTip("What to watch: the convolution, its transpose (two ways) or "
                                 "the pseudo-inverse solver")  # fmt: skip
        self.mode_box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.crop_box = QtWidgets.QSpinBox()
        self.crop_box.setRange(4, 32)
        self.crop_box.setValue(8)
        self.crop_box.setPrefix("crop ")
        self.crop_box.setSuffix(" px")
        self.crop_box.setToolTip(
            "Side of the crop animated on a large image (around the inspected pixel, or "
            "the centre): small enough to read the numbers and to watch every step. Made "
            "larger where the stride and filter need it for four outputs a side"
        )
        self.crop_box.valueChanged.connect(lambda _v: self.refresh())
        self.precondition_box = QtWidgets.QCheckBox("preconditioned")
        self.precondition_box.setChecked(True)
        self.precondition_box.setToolTip(
            "Pseudo-inverse: use the app's FFT preconditioner (a few iterations, as in the "
            "pinv panel); untick for plain conjugate gradients, whose slower corrections "
            "are easier to follow"
        )
        self.precondition_box.toggled.connect(lambda _on: self.refresh())
        self.precondition_box.setVisible(False)
        self.export_button = QtWidgets.QPushButton("Export…")
        formats = "GIF or MP4" if mp4_available() else 'GIF (MP4: pip install "deconv-gui[mp4]")'
        self.export_button.setToolTip(f"Write every frame as a {formats} file")
        self.export_button.clicked.connect(self.export_dialog)
        for widget in (QtWidgets.QLabel("Show:"), self.mode_box, self.precondition_box,
                       self.crop_box, self.export_button):  # fmt: skip
            top.addWidget(widget, int(widget is self.mode_box))
        return top

    def _frame_view(self) -> pg.GraphicsLayoutWidget:
        """The frame, zoomable to read its numbers, its cells read out on hover."""
        self.graphics = pg.GraphicsLayoutWidget()
        follow_theme(self.graphics, self._follow_theme)
        # drawn smaller than it was rendered: smoothed, its digits stay whole (nearest
        # neighbour dropped strokes of the numbers)
        self.graphics.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        self.graphics.setToolTip("Scroll to zoom into the numbers, drag to pan; double-click "
                                 "or F fits the frame")  # fmt: skip
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.item)
        self.graphics.scene().sigMouseClicked.connect(
            lambda event: event.double() and self.view.autoRange(padding=0.01)
        )
        self.graphics.scene().sigMouseMoved.connect(self._on_hover)
        return self.graphics

    def _follow_theme(self, theme: dict[str, str]) -> None:
        """The view and the frame (its paper: background, texts) in ``theme``'s colours."""
        self.graphics.setBackground(theme["plot_back"])
        if self.renderer is not None:
            self.renderer.paper = paper(theme)
            self.set_index(self.index, force=True)

    # -- what is animated ------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return str(self.mode_box.currentData())

    def set_mode(self, mode: str) -> None:
        """Show ``mode`` (one of :data:`MODES`)."""
        check_choice("mode", mode, (m for m, _, _ in MODES))
        self.mode_box.setCurrentIndex(self.mode_box.findData(mode))

    @property
    def frame_count(self) -> int:
        """Frames of the animation shown: its steps, then the finished result."""
        return 0 if self.renderer is None else len(self.renderer)

    def refresh(self) -> None:
        """Rebuild the animation for the result on screen (off the GUI thread)."""
        self._stale = not self.isVisible()
        result = self.state.result
        if self._stale or result is None:
            return
        try:
            request = make_request(
                result,
                self.mode,
                selection=self.selection(),
                crop_size=self.crop_box.value(),
                preconditioned=self.precondition_box.isChecked(),
            )
        except ValueError as exc:
            self._show_nothing(str(exc))
            return
        if request.crop is not None and max(request.crop[2:]) != self.crop_box.value():
            # the crop may be larger than asked (the stride and filter need room): say so
            with signals_blocked(self.crop_box):
                self.crop_box.setValue(max(request.crop[2:]))
        self._pending = request
        self.precondition_box.setVisible(request.mode == "pinv")
        self.crop_box.setEnabled(request.crop is not None)
        self.show_message("Preparing the steps…")
        self.jobs.submit(lambda cancel, progress: build_renderer(request, cancel, progress))

    def _show_nothing(self, why: str) -> None:
        """No animation for this result: no frames of an earlier one, ``why`` on top."""
        self.jobs.cancel()
        self.pause()
        self.request = self.renderer = None
        self.frame = None
        self.item.clear()
        with signals_blocked(self.slider):
            self.slider.setRange(0, 0)
        self.header.setText(why)
        self.position.setText("")
        self._set_playable(False)
        self.export_button.setEnabled(False)
        self.show_message("Nothing to animate: see above.", True)
        self.cropChanged.emit(None)

    def _on_built(self, _rid: int, renderer: FrameRenderer) -> None:
        keep = self.request is not None and self.request.mode == self._pending.mode  # type: ignore[union-attr]
        self.request, self.renderer = self._pending, renderer
        renderer.paper = paper(current_theme())
        self.pause()
        with signals_blocked(self.slider):
            self.slider.setRange(0, len(renderer) - 1)
        self.header.setText(self._header())
        self.show_message("")
        self._set_playable(True)
        self.export_button.setEnabled(True)
        self.set_index(min(self.index, len(renderer) - 1) if keep else 0, force=True)
        self.view.autoRange(padding=0.01)
        self.cropChanged.emit(self.request)
        self.animationReady.emit(self.request)

    def _header(self) -> str:
        request, anim = self.request, self.renderer.anim  # type: ignore[union-attr]
        text = f"On {request.describe()}."  # type: ignore[union-attr]
        if request.mode in ("scatter", "zero-insertion"):  # type: ignore[union-attr]
            text += (" Scatter and zero insertion are two ways to compute the same Aᵀy "
                     "(the last frame checks it); Aᵀy is not the image.")  # fmt: skip
        if request.mode == "pinv":  # type: ignore[union-attr]
            text += f" {anim.report.message}."  # type: ignore[union-attr]
        return text

    def _on_hover(self, pos: QtCore.QPointF) -> None:
        text = None
        if self.renderer is not None and self.view.sceneBoundingRect().contains(pos):
            point = self.view.mapSceneToView(pos)
            text = self.renderer.describe(self.index, point.x(), point.y())
        self.hover.setText(text or " ")

    # -- playback ---------------------------------------------------------------------------
    def set_index(self, k: int, force: bool = False) -> None:
        """Show frame ``k`` (clamped to the animation)."""
        if self.renderer is None:
            return
        k = int(min(max(k, 0), len(self.renderer) - 1))
        if k == self.index and not force and self.frame is not None:
            return
        self.index = k
        self.frame = self.renderer.render(k)
        self.item.setImage(self.frame, autoLevels=False, levels=(0, 255))
        with signals_blocked(self.slider):
            self.slider.setValue(k)
        last = len(self.renderer) - 1
        unit = "iteration" if self.request is not None and self.request.mode == "pinv" else "step"
        shown = k if unit == "iteration" else k + 1
        total = last - 1 if unit == "iteration" else last
        self.position.setText("result" if k == last else f"{unit} {shown} of {total}")
        self.frameShown.emit(k)

    # -- export ------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        """Ask for a .gif (or .mp4) file and write every frame into it."""
        if self.request is None:
            self.show_message("Nothing to export yet.", True)
            return
        path = ask_export_path(self, self.state.settings)
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> int | None:
        """Write the animation shown into ``path`` (.gif, or .mp4) off the GUI thread."""
        request = self.request
        if request is None:
            return None
        suffix = Path(path).suffix.lower()
        if suffix not in (".gif", ".mp4"):
            self.show_message(f"Export: the file must end in .gif or .mp4, got {path}", True)
            return None
        step_ms = int(1000 / float(self.speed_box.currentData()))
        self.show_message("Exporting…")
        return self.export_jobs.submit(
            lambda cancel, progress: export_animation(request, path, step_ms, cancel, progress)
        )

    def _on_exported(self, _rid: int, value: object) -> None:
        path, count = cast("tuple[str, int]", value)
        self.show_message(f"Wrote {path} ({count} frames).")
        self.exported.emit(str(path))

    # -- messages and life -----------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        theme_style(self.message, "color: {error_message};" if error else "")

    @property
    def message_text(self) -> str:
        return self.message.text()

    def showEvent(self, event: QtGui.QShowEvent | None) -> None:
        super().showEvent(event)
        if self._stale or self.request is None:
            self._stale = False
            self.refresh()
        else:
            self.cropChanged.emit(self.request)

    def hideEvent(self, event: QtGui.QHideEvent | None) -> None:
        self.pause()
        self.cropChanged.emit(None)
        super().hideEvent(event)

    def shutdown(self) -> None:
        """Stop playing and every job (the main window is closing)."""
        self.pause()
        self.jobs.shutdown()
        self.export_jobs.shutdown()
