"""What the command line asks of the window: its arguments applied, ``--screenshot`` taken.

:func:`apply_arguments` applies ``--session``, then ``--image/--filter/--stride/...`` and
``--model`` to a :class:`~deconv_gui.gui.main_window.MainWindow`;
:func:`take_screenshot` shows it offscreen, opens the ``--view`` (:func:`open_view`),
waits until everything is computed and saves the PNG. ``deconv_gui.app`` calls them
once the Qt application exists.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io import SAMPLES
from .support.qthelp import make_timer

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["SCREENSHOT_TIMEOUT_MS", "Failure", "apply_arguments", "open_view", "take_screenshot"]

#: ``--screenshot`` gives up (exit 1) when nothing was pictured after this long.
SCREENSHOT_TIMEOUT_MS = 60_000


class Failure(str):
    """The error of a file that exists but cannot be used (a corrupt session, image or
    model file): ``--screenshot`` exits 1 for it, as the headless commands do, and 2 for
    the command line's own mistakes (a missing file, options that do not go together)."""

    __slots__ = ()


def _file_error(path: Path, message: str) -> str:
    """``message`` as a :class:`Failure` when ``path`` exists (it could not be used),
    as it is when the file is not there (a usage error)."""
    try:
        exists = path.is_file()
    except OSError:  # a name the system refuses: the command line's mistake
        exists = False
    return Failure(message) if exists else message


def apply_arguments(window: MainWindow, args: argparse.Namespace, wait: bool = False) -> str | None:
    """Apply ``--session``, then ``--image/--filter/--stride/...``; an error message or None.

    A session that cannot be restored completely (unreadable, invalid, its image
    missing) is an error: the window says why, and ``--screenshot`` exits non-zero.
    Image files load off the GUI thread; with ``wait`` (``--screenshot``), or ``--model``
    (which runs on the image), this waits for them, so their errors are returned too.
    The command line wins over the remembered settings: the image file they restored is
    waited for first (unless ``--image`` or ``--session`` replaces it), and a session's
    image before anything is applied on top of it. What the command line sets up is the
    window's start: no unsaved changes (an image still loading is a new start anyway).
    """
    error = _apply_arguments(window, args, wait)
    window.history.flush()
    window.title.restart()
    return error


def _apply_arguments(window: MainWindow, args: argparse.Namespace, wait: bool) -> str | None:
    _settle_restored_image(window, args)
    if args.session:
        opened = window.open_session(Path(args.session).expanduser())
        if opened and (wait or _given(args, _ON_TOP_OF_SESSION)):
            opened = window.images.loader.wait()  # its image file loads off the GUI thread
        if not opened:  # the app refused a missing file already: this one is there
            return Failure(
                window.last_message.splitlines()[0] if window.last_message else "bad session"
            )
    if args.filter:
        window.filter_editor.set_preset(args.filter)
    if args.stride or args.padding or args.dilation:
        g = window.geometry_editor
        window.geometry_editor.set_values(
            args.stride or g.stride(), args.padding or g.padding(), args.dilation or g.dilation()
        )
    if args.image:
        ok = (
            window.load_sample(args.image)
            if args.image in SAMPLES
            else window.load_path(Path(args.image).expanduser())
        )
        # --model runs the model on this image, in the loader the file's load is still in:
        # starting it now would cancel that load and run the model on the old image
        if ok and (wait or args.model):
            ok = window.images.loader.wait()
        if not ok:
            if args.image in SAMPLES:
                return window.last_message
            return _file_error(Path(args.image).expanduser(), window.last_message)
    if args.layer_kind:
        try:
            window.geometry_editor.set_values(layer_kind=args.layer_kind)
        except ValueError as exc:
            return str(exc)
    if args.flip:
        window.filter_editor.set_flip(True)
    if args.groups:
        try:  # after the image: groups must divide its channel count
            window.filter_editor.set_groups(args.groups)
        except ValueError as exc:
            return str(exc)
    if args.model:
        return _apply_model(window, args, wait)
    if getattr(args, "through", False):  # a session's network: built by hand, or a model's
        window.images.loader.wait()  # a model's layer is the session's once its input is run
        if not window.network.has_network:
            return "--through: the session holds one layer, not a network or a model's layer"
        problem = _through(window)
        if problem:
            return problem
    window.compute_now()
    return None


#: The options applied on top of ``--session``: its image must have arrived first, or
#: the session, shown when it does, would undo them (and an ``--image`` load would
#: replace the session's unseen).
_ON_TOP_OF_SESSION = (
    "filter",
    "stride",
    "padding",
    "dilation",
    "image",
    "layer_kind",
    "flip",
    "groups",
    "model",
    "through",
)


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> bool:
    """Whether any of the options ``names`` is on the command line."""
    return any(getattr(args, name, None) for name in names)


def _settle_restored_image(window: MainWindow, args: argparse.Namespace) -> None:
    """Let the image file the remembered settings restored arrive before the command line
    is applied on it.

    The window restores it off the GUI thread, so it may still be loading: ``--model``
    then found no image to run on (or ran on another), and the remembered image, arriving
    later, made the window what the settings were, not what the command line asked for.
    An ``--image`` or ``--session`` replaces it: their load supersedes it (the newest
    load wins), so nothing is waited for.
    """
    if not window.images.busy or args.image or args.session:
        return
    if _given(args, _ON_TOP_OF_SESSION):
        window.images.loader.wait()


def _apply_model(window: MainWindow, args: argparse.Namespace, wait: bool) -> str | None:
    """``--model`` with ``--layer``: that layer on what the model feeds it; else the list."""
    path = Path(args.model).expanduser()
    if args.layer is None:
        return None if window.models.open_path(path) else _file_error(path, window.last_message)
    ok = window.models.load_layer(path, args.layer, args.scaling)
    if ok and wait:
        ok = window.images.loader.wait()
    if not ok:
        return _file_error(path, window.last_message)
    if getattr(args, "through", False):
        if not wait:  # the layer is chosen once its activation arrives
            window.images.loader.wait()
        return _through(window)
    return None


def _through(window: MainWindow) -> str | None:
    """Study the network up to the layer (``--through``), or say why it cannot be."""
    why = window.network.no_graph
    if why:
        return f"--through: {why}"
    window.network.set_through(True)
    return None


def open_view(window: MainWindow, view: str) -> tuple[Any, Callable[[], bool]]:
    """Open ``--view`` in ``window``; returns the widget to picture and when it is ready."""
    insight = window.insight
    if view == "lost":
        insight.set_panels_visible(True)
        return window, lambda: window.result is not None and window.result.nullspace is not None
    if view == "seed":
        insight.open_seed_example()

        def seeded() -> bool:  # the window holds the question's 7×7×3 image
            return window.result is not None and window.result.image.shape == (7, 7, 3)

        return insight.dialogs["seed"], seeded
    if view == "spectrum":
        dialog = insight.open_spectrum()
        dialog.compute_curve()  # the L-curve too: the picture shows both halves
        return dialog, lambda: not dialog.busy
    if view == "fourier":
        dialog = insight.open_fourier()
        return dialog, lambda: dialog.summary is not None and not dialog.busy
    if view == "check":
        dialog = insight.open_question_deconv()
        return dialog, lambda: not dialog.jobs.busy
    if view == "steps":
        steps = window.steps.open()

        def ready() -> bool:  # a few steps in: the window has moved, the output is filling
            if steps.renderer is None or steps.jobs.busy:
                return False
            if steps.index == 0 and steps.frame_count > 2:
                steps.set_index(min(4, steps.frame_count - 2))
            return True

        return steps, ready
    if view == "code":
        code = window.make_code_dialog()
        if code is not None:
            code.show()  # not exec(): the screenshot's timer keeps running
        return code or window, lambda: True
    return window, lambda: window.network.settled  # the network's panels, when it shows them


class _NotSaved(Exception):
    """Qt could not save the picture: the folders made for it are removed again."""


def _save_picture(window: MainWindow, widget: Any, path: Path) -> int:
    """Save ``widget`` (the window: its own picture) as a PNG, its missing folders made
    first (as every command makes its output folder) and removed again if it is not
    written: 0 saved, 1 not written."""
    from ..io.files import folder_made_for

    try:
        with folder_made_for(path.parent):
            saved = (
                widget.grab().save(str(path), "PNG")
                if widget is not window
                else window.save_screenshot(path)
            )
            if not saved:
                raise _NotSaved
    except (_NotSaved, ValueError) as exc:  # ValueError: the folder could not be made
        reason = f": {exc}" if str(exc) else ""
        print(f"deconv-gui: could not write {path}{reason}", file=sys.stderr)
        return 1
    return 0


def _poll_until_exit(app: Any, window: MainWindow, poll: Any) -> None:
    """Run the event loop, calling ``poll`` every 100 ms, until it exits or times out."""
    # timers owned by the window: none can fire after it is gone or in a later event loop
    ticks = make_timer(window, 100)
    ticks.timeout.connect(poll)
    give_up = make_timer(window, SCREENSHOT_TIMEOUT_MS, single_shot=True)
    give_up.timeout.connect(app.quit)
    ticks.start()
    give_up.start()
    app.exec()
    ticks.stop()
    give_up.stop()


def take_screenshot(
    app: Any,
    window: MainWindow,
    path: Path,
    error: str | None,
    view: str = "main",
    size: tuple[int, int] | None = None,
) -> int:
    """Show the window offscreen, open ``view``, wait until it is computed, save the PNG.

    Returns the exit status: 0 saved, 1 not written or timed out, or ``error`` a
    :class:`Failure` (a file that cannot be used), 2 another ``error`` or settings the
    window finds invalid (printed, at once: nothing would be pictured).
    """
    if error:
        print(f"deconv-gui: {' '.join(error.split())}", file=sys.stderr)  # one line
        return 1 if isinstance(error, Failure) else 2
    status = {"code": -1, "calm": 0}  # -1: no picture taken yet
    target: dict = {}

    def poll() -> None:
        problem = window.live.problem
        if problem and window.live.idle:  # invalid settings: no picture will ever come
            status["code"] = 2
            print(f"deconv-gui: {' '.join(problem.split())}", file=sys.stderr)
            app.exit(2)
            return
        # the layer alone's result, SSIM filled in too; none while the network shows (its
        # hidden panels are not computed): the network's panels are waited for instead
        alone = window.result is None and not window.network.through
        if alone or not window.live.idle:
            status["calm"] = 0
            return
        if not target:  # the first result is on screen: open the view
            widget, ready = open_view(window, view)
            if size is not None:
                widget.resize(*size)
            target.update(widget=widget, ready=ready)
            return
        # three calm polls in a row: nothing queued, every job of the view reported back
        status["calm"] = status["calm"] + 1 if target["ready"]() else 0
        if status["calm"] < 3:
            return
        app.processEvents()  # let pending paints run before grabbing
        status["code"] = _save_picture(window, target["widget"], path)
        app.exit(status["code"])

    window.resize(*(size or (1600, 1000)))
    window.show()
    _poll_until_exit(app, window, poll)
    if status["code"] == -1:
        status["code"] = 1
        print("deconv-gui: nothing to take a screenshot of (timed out)", file=sys.stderr)
    return status["code"]  # main() closes and deletes the window
