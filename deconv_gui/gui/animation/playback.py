"""The "How it is computed" window's playback: the buttons, the slider, the speed and keys.

:class:`Playback` is the base of :class:`~deconv_gui.gui.animation.window.StepsWindow`,
which shows a frame (``set_index``); this part steps, plays and pauses through them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy import QtCore, QtGui, QtWidgets

from ..support.qthelp import nonnull
from ..support.theme import follow_theme, readable_icon

if TYPE_CHECKING:
    import pyqtgraph as pg

__all__ = ["SPEEDS", "Playback"]

#: Steps per second offered by the speed box.
SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
_PIXMAP = QtWidgets.QStyle.StandardPixmap
_ICON = "standardPixmap"


class Playback(QtWidgets.QWidget):
    """Step, play and pause through the frames of a window that shows them by index."""

    index: int
    timer: QtCore.QTimer
    view: pg.ViewBox
    if TYPE_CHECKING:

        @property
        def frame_count(self) -> int: ...

        def set_index(self, k: int, force: bool = False) -> None: ...

    def _icon(self, pixmap: QtWidgets.QStyle.StandardPixmap) -> QtGui.QIcon:
        return readable_icon(nonnull(self.style()).standardIcon(pixmap))

    def _set_icon(self, button: QtWidgets.QToolButton, icon: QtWidgets.QStyle.StandardPixmap):
        button.setProperty(_ICON, int(icon))  # drawn again when the palette changes
        button.setIcon(self._icon(icon))

    def _redraw_icons(self) -> None:
        for button in self.findChildren(QtWidgets.QToolButton):
            if button.property(_ICON) is not None:
                button.setIcon(self._icon(_PIXMAP(button.property(_ICON))))

    def _button(self, icon: QtWidgets.QStyle.StandardPixmap, tip: str, slot):
        button = QtWidgets.QToolButton()
        self._set_icon(button, icon)
        button.setToolTip(tip)
        button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # Space and the arrows stay shortcuts
        button.clicked.connect(slot)
        return button

    def _playback_row(self) -> QtWidgets.QHBoxLayout:
        style = _PIXMAP  # the buttons' standard icons
        row = QtWidgets.QHBoxLayout()
        follow_theme(self, lambda _theme: self._redraw_icons())
        self.first_button = self._button(style.SP_MediaSkipBackward, "First step (Home)",
                                         lambda: self.set_index(0))  # fmt: skip
        self.back_button = self._button(style.SP_MediaSeekBackward, "Step back (Left)",
                                        self.step_back)  # fmt: skip
        self.play_button = self._button(style.SP_MediaPlay, "Play / pause (Space)",
                                        self.toggle_play)  # fmt: skip
        self.forward_button = self._button(style.SP_MediaSeekForward, "Step forward (Right)",
                                           self.step_forward)  # fmt: skip
        self.last_button = self._button(style.SP_MediaSkipForward, "The result (End)",
                                        lambda: self.set_index(self.frame_count - 1))  # fmt: skip
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setToolTip("Drag to any step; the last position is the finished result")
        self.slider.valueChanged.connect(self.set_index)
        self.position = QtWidgets.QLabel()
        self.position.setMinimumWidth(110)
        self.speed_box = QtWidgets.QComboBox()
        for speed in SPEEDS:
            self.speed_box.addItem(f"{speed:g} steps/s", speed)
        self.speed_box.setCurrentIndex(SPEEDS.index(2.0))
        self.speed_box.setToolTip("Playing speed")
        self.speed_box.currentIndexChanged.connect(lambda _i: self._apply_speed())
        for widget in (self.first_button, self.back_button, self.play_button,
                       self.forward_button, self.last_button):  # fmt: skip
            row.addWidget(widget)
        row.addWidget(self.slider, 1)
        row.addWidget(self.position)
        row.addWidget(self.speed_box)
        return row

    def _set_playable(self, playable: bool) -> None:
        """Enable the playback controls, or grey them out while there is nothing to play."""
        for widget in (self.first_button, self.back_button, self.play_button,
                       self.forward_button, self.last_button, self.slider):  # fmt: skip
            widget.setEnabled(playable)

    def _shortcuts(self) -> None:
        keys = (
            (QtCore.Qt.Key.Key_Space, self.toggle_play, "Play / pause"),
            (QtCore.Qt.Key.Key_Left, self.step_back, "Step back"),
            (QtCore.Qt.Key.Key_Right, self.step_forward, "Step forward"),
            (QtCore.Qt.Key.Key_Home, lambda: self.set_index(0), "First step"),
            (QtCore.Qt.Key.Key_End, lambda: self.set_index(self.frame_count - 1), "Last step"),
            (QtCore.Qt.Key.Key_F, lambda: self.view.autoRange(padding=0.01), "Fit the frame"),
        )
        self.shortcuts = []
        for key, slot, what in keys:
            shortcut = QtWidgets.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.setWhatsThis(what)  # listed under the window's title
            shortcut.activated.connect(slot)
            self.shortcuts.append(shortcut)

    def step_forward(self) -> None:
        self.set_index(self.index + 1)

    def step_back(self) -> None:
        self.set_index(self.index - 1)

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def toggle_play(self) -> None:
        """Play from the current step (from the start when at the end), or pause."""
        if self.playing:
            self.pause()
            return
        if self.renderer is None:
            return
        if self.index >= self.frame_count - 1:
            self.set_index(0)
        self._apply_speed()
        self.timer.start()
        self._set_icon(self.play_button, _PIXMAP.SP_MediaPause)

    def pause(self) -> None:
        self.timer.stop()
        self._set_icon(self.play_button, _PIXMAP.SP_MediaPlay)

    def _apply_speed(self) -> None:
        self.timer.setInterval(int(1000 / float(self.speed_box.currentData())))

    def _tick(self) -> None:
        if self.index >= self.frame_count - 1:
            self.pause()
            return
        self.step_forward()
