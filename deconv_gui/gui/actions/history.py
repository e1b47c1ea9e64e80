"""Undo and redo of every edit: the window's document before and after, on a ``QUndoStack``.

The window's state is its :class:`~deconv_gui.document.Document` (the layers with their
:class:`~deconv_gui.core.Params`, filter presets and seeds, the image's origin and work
size) and the image it shows. :class:`EditHistory` does not instrument each widget: it
watches the change signals, and at the end of the event-loop pass in which something
changed it reads the widgets into the document and compares it with the one it last
recorded. A difference becomes one :class:`EditCommand` holding both snapshots, so an
edit and what it causes (an image with fewer channels re-channels the filter) is one
step. Undo and redo show a recorded document again through the same all-or-nothing
path sessions use (:class:`~.document.DocumentSync`), with recording switched off while
they do. A step that cannot be shown again (its image file was deleted) changes
nothing, says why, and leaves the history where it was.

One gesture is one step: while a slider is held down, and for a short while after a
number was typed or stepped, further changes of the same thing (the same key, see
:mod:`deconv_gui.view.edits`) merge into the step on top of the stack.

Memory stays bounded: at most :data:`UNDO_LIMIT` steps, states share the image arrays
(nothing is copied), and when the images the steps hold exceed :data:`IMAGE_BUDGET`
bytes the oldest steps keep only where their image came from and load it again when
they are undone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from qtpy import QtCore, QtGui, QtWidgets

from ...document import Document
from ..support.qthelp import QUndoStack, make_timer
from .document import DocumentSync, error_line
from .edit_command import EditCommand
from .snapshot import Snapshot, drop_old_images, load_again, same_origin

__all__ = [
    "BURST_MS",
    "IMAGE_BUDGET",
    "UNDO_LIMIT",
    "EditCommand",
    "EditHistory",
    "HistoryHooks",
]

#: Steps kept on the stack (the oldest are dropped).
UNDO_LIMIT = 100
#: Bytes of image pixels the steps may hold; beyond, the oldest reload theirs when undone.
IMAGE_BUDGET = 512 * 2**20
#: Changes of the same number less than this many ms apart are one step (a burst of typing).
BURST_MS = 1200


@dataclass(frozen=True)
class HistoryHooks:
    """What the history reads and drives (narrow callbacks instead of the window).

    Attributes
    ----------
    sync : DocumentSync
        Reads the widgets into the document, and shows a document in them (all of it
        or, raising, nothing); its state holds the image, its origin and the messages,
        its filter editor's ``filterChanged`` means "the filter may have changed", its
        image controls show the work size of a step's image.
    compute_now : callable
        Starts the computation of what the forms show.
    changed_signals : tuple of bound signals
        Further signals meaning "the forms may have changed" (the geometry's, the
        options'), so changes made by code are recorded at once, not when computed.
    """

    sync: DocumentSync
    compute_now: Callable[[], object]
    changed_signals: tuple = ()


class EditHistory(QtCore.QObject):
    """Records every edit of the window as an undo step, and undoes and redoes them.

    Parameters
    ----------
    hooks : HistoryHooks
        The state and forms to record, and how to show a recorded state again.
    controls : QWidget, optional
        The widget holding the controls: every control inside is watched (see
        :meth:`watch`); changes made by code are recorded when they are computed.
    parent : QObject, optional
        The Qt parent.

    Attributes
    ----------
    stack : QUndoStack
        The steps (its ``QUndoView`` is the history list).

    Signals
    -------
    settled()
        After what changed was recorded (or found unchanged), undone, redone or forgotten:
        :meth:`capture` is the window's state again.
    """

    settled = QtCore.Signal()

    def __init__(
        self,
        hooks: HistoryHooks,
        controls: QtWidgets.QWidget | None = None,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.hooks = hooks
        self.stack = QUndoStack(self)
        self.stack.setUndoLimit(UNDO_LIMIT)
        self._last: Snapshot | None = None
        self._showing = False
        self._label: str | None = None
        self._held = 0  # sliders held down right now
        self._commit = make_timer(self, 0, single_shot=True)
        self._commit.timeout.connect(self.flush)
        self._group = 0  # a new number ends a burst or a gesture
        self._burst = make_timer(self, BURST_MS, single_shot=True)
        self._burst.timeout.connect(self._new_group)
        #: the stack index whose state the window shows
        self._shown_index = 0
        #: while a failed step is being undone: the index to go back to
        self._failed: int | None = None
        # an image, a filter rewritten at once, anything computed: all may be edits
        hooks.sync.state.imageChanged.connect(self.changed)
        hooks.sync.state.paramsChanged.connect(self.changed)
        hooks.sync.forms.filter_editor.filterChanged.connect(self.changed)
        for signal in hooks.changed_signals:
            signal.connect(self.changed)
        if controls is not None:
            self.watch(controls)

    # -- recording --------------------------------------------------------------------------
    @property
    def burst_ms(self) -> int:
        """Changes of the same number less than this many ms apart merge into one step."""
        return self._burst.interval()

    @burst_ms.setter
    def burst_ms(self, ms: int) -> None:
        self._burst.setInterval(int(ms))

    @property
    def showing(self) -> bool:
        """True while undo or redo puts a recorded state back (nothing is recorded then)."""
        return self._showing

    def capture(self) -> Snapshot | None:
        """The window's state now (None while the forms hold invalid settings).

        The document's image records the work size the image was loaded at (the combo
        may run ahead of an image still loading: the step is the image's arrival).
        """
        hooks = self.hooks
        try:
            document = hooks.sync.read()
        except ValueError:
            return None
        # the image as loaded: a layer's input inside a network is the document's to make
        return Snapshot(hooks.sync.state.source, hooks.sync.state.origin, document.copy())

    def reset(self) -> None:
        """Forget every step; the state now is where undo stops."""
        self._commit.stop()
        self._new_group()
        self.stack.clear()
        self._shown_index = 0
        self._last = self.capture()
        self.settled.emit()

    def changed(self, *_args: object) -> None:
        """Something may have changed: record it at the end of this event-loop pass."""
        if not self._showing:
            self._commit.start()

    def flush(self) -> None:
        """Record what changed since the last step now (as one step), if anything did."""
        self._commit.stop()
        if self._showing:
            return
        self._record()
        self.settled.emit()

    def _record(self) -> None:
        now = self.capture()
        if now is None:
            return
        before = self._last
        first_image = before is not None and before.image is None and now.image is not None
        if before is None or (first_image and not self.stack.count()):
            self._last = now  # the first image arrived: that is the start, not a step
            return
        if before == now:
            self._last = now  # the same state (e.g. a sample picked again): nothing to undo
            return
        command = EditCommand(self, before, now)
        if self._label is not None:
            command.setText(self._label)
            command.key = None
        command.group = self._group if command.key is not None else None
        self._last = now
        self.stack.push(command)
        self._shown_index = self.stack.index()
        if command.key is None:
            self._new_group()
        elif not self._held:
            self._burst.start()  # the same number changed again soon: the same step
        self._bound_images()

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Everything changed inside the block is one step called ``label``.

        >>> with history.step("open session a.deconv.json"):  # doctest: +SKIP
        ...     open_session_from(form, path)
        """
        self.flush()
        self._label = label
        try:
            yield
        finally:
            self.flush()
            self._label = None

    def end_burst(self) -> None:
        """The next change starts a new step even if it changes the same number."""
        self.flush()
        self._new_group()

    def _new_group(self) -> None:
        self._burst.stop()
        self._group += 1

    def watch(self, widget: QtWidgets.QWidget) -> None:
        """Record the edits of every control inside ``widget``; a slider drag is one step.

        Ctrl+Z and Ctrl+Shift+Z in a spin box or a number box undo the window's steps,
        not the box's text.
        """
        for child in widget.findChildren(QtWidgets.QWidget):
            if isinstance(child, QtWidgets.QLineEdit):
                child.installEventFilter(self)  # committed by its owner (optionsChanged)
            elif isinstance(child, QtWidgets.QAbstractSpinBox):
                child.installEventFilter(self)
                signal = getattr(child, "valueChanged", None)
                if signal is not None:
                    signal.connect(self.changed)
            elif isinstance(child, QtWidgets.QComboBox):
                child.currentIndexChanged.connect(self.changed)
            elif isinstance(child, QtWidgets.QAbstractButton) and child.isCheckable():
                child.toggled.connect(self.changed)
            elif isinstance(child, QtWidgets.QAbstractSlider) and not isinstance(
                child, QtWidgets.QScrollBar
            ):
                child.valueChanged.connect(self.changed)
                child.sliderPressed.connect(self._on_slider_pressed)
                child.sliderReleased.connect(self._on_slider_released)

    def eventFilter(self, watched: QtCore.QObject | None, event: QtCore.QEvent | None) -> bool:
        if (
            isinstance(event, QtGui.QKeyEvent)
            and (event.type() == QtCore.QEvent.Type.ShortcutOverride)
            and (
                event.matches(QtGui.QKeySequence.StandardKey.Undo)
                or event.matches(QtGui.QKeySequence.StandardKey.Redo)
                or (
                    event.key() == QtCore.Qt.Key.Key_Z
                    and event.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier
                )
            )
        ):
            event.ignore()  # not the box's own text undo: the window's shortcut
            return True
        return super().eventFilter(watched, event)

    def _on_slider_pressed(self) -> None:
        self.end_burst()  # what changed before the drag is a step of its own
        self._held += 1

    def _on_slider_released(self) -> None:
        self.flush()  # the drag's last positions still merge
        self._held = max(0, self._held - 1)
        self._new_group()

    # -- undo and redo ----------------------------------------------------------------------
    def undo(self) -> None:
        """Record a pending change, then undo the newest step."""
        self.end_burst()
        self.stack.undo()
        self._return_to_shown()

    def redo(self) -> None:
        """Record a pending change (which ends the redo steps), then redo."""
        self.end_burst()
        self.stack.redo()
        self._return_to_shown()

    def show(self, snapshot: Snapshot, index: int | None = None) -> None:
        """Put ``snapshot`` back into the window, all or nothing, without recording it.

        ``index`` is the stack index whose state it is. A snapshot that cannot be shown
        (its image file was deleted, a widget refuses a value) changes nothing: the
        status bar says why, and the history goes back to the step the window shows.
        """
        if self._failed is not None:  # a step of this move failed: the rest is skipped
            return
        hooks = self.hooks
        self._showing = True
        self._new_group()  # nothing merges into a step across an undo
        # called by QUndoStack from C++: nothing may escape (and the window stays whole)
        try:
            self._show(snapshot)
        except Exception as exc:  # e.g. its image file was deleted since
            self._failed = self._shown_index
            hooks.sync.state.notify(f"Could not go back to that step: {error_line(exc)}")
            QtCore.QTimer.singleShot(0, self._return_to_shown)  # after QUndoStack's move
        else:
            if index is not None:
                self._shown_index = index
        finally:
            self._showing = False
            self._commit.stop()
            self._last = self.capture() or self._last
        hooks.compute_now()
        self.settled.emit()

    def _return_to_shown(self) -> None:
        """After a step failed: the stack's index back to the step the window shows."""
        index, self._failed = self._failed, None
        if index is None or index == self.stack.index():
            return
        self._failed = index  # the commands undone or redone now show nothing
        try:
            self.stack.setIndex(index)
        finally:
            self._failed = None

    def _shows_image_of(self, snapshot: Snapshot) -> bool:
        """Whether the window shows ``snapshot``'s image now."""
        state = self.hooks.sync.state
        if snapshot.image is not None:
            return snapshot.image is state.source
        shown_size = state.document.image.work_size
        return same_origin(snapshot.origin, state.origin) and snapshot.work_size == shown_size

    def _show(self, snapshot: Snapshot) -> None:
        """Show ``snapshot``: its image, then its layers (the display choices stay)."""
        hooks, state = self.hooks, self.hooks.sync.state
        image, origin, document = state.source, state.origin, state.document.copy()
        new_image = not self._shows_image_of(snapshot)
        loaded = None
        if new_image:  # loading is what fails most: before anything changes
            loaded = snapshot.image if snapshot.image is not None else load_again(snapshot)
        wanted = Document(**{**snapshot.document.values(), "display": document.display})
        try:
            if snapshot.work_size != hooks.sync.forms.image_controls.work_size():
                hooks.sync.forms.image_controls.set_work_size(snapshot.work_size)
            if loaded is not None:
                state.set_image(loaded, snapshot.origin)
            hooks.sync.show(wanted)
        except Exception:
            hooks.sync.forms.image_controls.set_work_size(document.image.work_size)
            if image is not None and state.source is not image:
                state.set_image(image, origin)
            hooks.sync.show(document)  # raises, chained, if even that fails
            raise

    # -- memory -----------------------------------------------------------------------------
    def _bound_images(self) -> None:
        """Drop the oldest steps' images (they reload from their origin) past the budget."""
        commands = [self.stack.command(i) for i in range(self.stack.count())]
        drop_old_images(commands, self.hooks.sync.state.source, IMAGE_BUDGET)
