"""Application entry point: ``main(argv) -> int``.

``deconv-gui`` opens the window; ``deconv-gui run|info|code|animate|… …`` runs the headless
commands of :mod:`deconv_gui.cli` (:data:`CLI_COMMANDS`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from . import __version__
from .cli import COMMANDS, UsageError, _Parser, field_type, shown_default
from .cli import parse_pair as _pair  # noqa: F401 (the old name, kept for callers)
from .cli import positive_pair as _positive
from .core import params as schema
from .xcb_check import missing_xcb_packages, uses_xcb

__all__ = ["CLI_COMMANDS", "SCREENSHOT_VIEWS", "build_parser", "main"]

#: First words of ``argv`` that are handed to the command-line interface (its commands).
CLI_COMMANDS: tuple[str, ...] = tuple(COMMANDS)
#: What ``--screenshot`` can picture (``--view``).
SCREENSHOT_VIEWS: tuple[str, ...] = (
    "main",
    "seed",
    "lost",
    "spectrum",
    "fourier",
    "check",
    "steps",
    "code",
)
_SCREENSHOT_TIMEOUT_MS = 60_000


def build_parser() -> argparse.ArgumentParser:
    """The window's command-line options."""
    from .core import PRESETS
    from .io import SAMPLES
    from .io.session import SESSION_SUFFIX

    parser = _Parser(
        prog="deconv-gui",
        description=(
            "Deconvolution Explorer: the forward output y = A x + b of a strided convolution "
            "next to the transposed Aᵀ(y − b) and pseudo-inverse A⁺(y − b) reconstructions. "
            f"Headless commands: deconv-gui {{{','.join(CLI_COMMANDS)}}} --help."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help=f"an image file, or a session (*{SESSION_SUFFIX}) to open: what a file manager's "
        "'Open with' passes",
    )
    parser.add_argument(
        "--image", metavar="PATH|SAMPLE", help=f"an image file or a sample: {', '.join(SAMPLES)}"
    )
    parser.add_argument(
        "--session",
        metavar="PATH",
        help=f"open a saved session (*{SESSION_SUFFIX}); --image, --filter, --stride... "
        "given too are applied on top of it",
    )
    parser.add_argument("--filter", metavar="PRESET", choices=PRESETS, help=", ".join(PRESETS))
    _add_model_options(parser)
    _add_geometry_options(parser)
    _add_screenshot_options(parser)
    return parser


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="MODEL",
        help="a model file (.onnx, .pt/.pth, .safetensors, .keras, .h5): with --layer, study "
        "that layer on what the model feeds it; without, list its layers",
    )
    parser.add_argument("--layer", metavar="NAME", help="the layer of --model")
    parser.add_argument(
        "--scaling",
        choices=("unit", "255", "imagenet"),
        default="unit",
        help="how --model expects the image (default unit: floats in [0, 1])",
    )


def _add_geometry_options(parser: argparse.ArgumentParser) -> None:
    defaults = schema.defaults()  # the window's defaults are the schema's, as the CLI's
    for name, tip in (
        ("stride", "stride, e.g. 2 or 2,1"),
        ("padding", "zero padding on each side, e.g. 1 or 1,0"),
        ("dilation", "dilation, e.g. 1 or 2,1"),
    ):
        parser.add_argument(
            f"--{name}",
            type=field_type(name),
            metavar="N|H,W",
            help=f"{tip} (default {shown_default(defaults[name])})",
        )
    parser.add_argument(
        "--groups",
        type=field_type("groups"),
        metavar="G",
        help="PyTorch's groups, e.g. 3 for depthwise on an RGB image (default 1)",
    )
    parser.add_argument(
        "--flip",
        action="store_true",
        help="true convolution: flip the kernel (default: cross-correlation, as PyTorch)",
    )


def _add_screenshot_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        help="render the window offscreen after the first result, save it as PNG and exit "
        "(remembered settings are not used)",
    )
    parser.add_argument(
        "--view",
        choices=SCREENSHOT_VIEWS,
        default="main",
        help="with --screenshot: what to picture: the main window, the question's 7×7×3 "
        "matrices, the lost-information panels, the spectrum/L-curve window, the Fourier view, "
        "check-my-code on the question's deConv, the How it is computed animation or the "
        "Copy-as-code scripts (default main)",
    )
    parser.add_argument(
        "--size",
        type=_window_size,
        metavar="WxH",
        help="with --screenshot: width x height in pixels of what is pictured (default: the "
        "window at 1600x1000, dialogs at their own size)",
    )


def _window_size(text: str) -> tuple[int, int]:
    """``"1280x800"`` as ``(1280, 800)`` (width, height), each from 200 to 8000 pixels."""
    width, height = _positive(text)
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise argparse.ArgumentTypeError(f"size: expected WxH from 200 to 8000, got {text!r}")
    return width, height


def _resolve_path(args: argparse.Namespace) -> None:
    """Turn the positional ``PATH`` into ``args.session`` or ``args.image``.

    Raises
    ------
    UsageError
        When it names the same thing as ``--session`` or ``--image`` also given, or
        neither an existing file nor a sample (a mistyped command says so).
    """
    from .io import SAMPLES
    from .io.session import SESSION_SUFFIX

    path = args.path
    if not path:
        return
    if path not in SAMPLES and not Path(path).expanduser().exists():
        if not Path(path).suffix:  # a word, not a file name: a mistyped command
            raise UsageError(
                f"unknown command or file: {path} (commands: {', '.join(CLI_COMMANDS)}; "
                f"an image or a session file to open; or a sample: {', '.join(SAMPLES)})"
            )
        raise UsageError(f"file not found: {path}")
    if str(path).lower().endswith(SESSION_SUFFIX):
        if args.session:
            raise UsageError(f"give the session once: {path} or --session {args.session}")
        args.session = path
    else:
        if args.image:
            raise UsageError(f"give the image once: {path} or --image {args.image}")
        args.image = path


def _check_files(args: argparse.Namespace) -> None:
    """Before any window: the files named must exist, the screenshot's folder too.

    Raises
    ------
    UsageError
        For a missing ``--image`` (not a sample) or ``--session``.
    OSError
        When ``--screenshot`` cannot be written (a missing or read-only folder).
    """
    from .io import SAMPLES

    if args.image and args.image not in SAMPLES and not Path(args.image).expanduser().exists():
        raise UsageError(f"image not found: {args.image} (not a file or a sample)")
    if args.session and not Path(args.session).expanduser().exists():
        raise UsageError(f"session not found: {args.session}")
    if args.screenshot:
        target = Path(args.screenshot).expanduser()
        folder = target.parent
        if target.is_dir():
            raise OSError(f"cannot write the screenshot {target}: it is a folder")
        if not folder.is_dir():
            raise OSError(f"cannot write the screenshot {target}: no folder {folder}")
        if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
            raise OSError(f"cannot write the screenshot {target}: permission denied")


def _apply_arguments(window, args: argparse.Namespace, wait: bool = False) -> str | None:
    """Apply ``--session``, then ``--image/--filter/--stride/...``; an error message or None.

    A session that cannot be restored completely (unreadable, invalid, its image
    missing) is an error: the window says why, and ``--screenshot`` exits non-zero.
    Image files load off the GUI thread; with ``wait`` (``--screenshot``) this waits for
    them, so their errors are returned too.
    """
    from .io import SAMPLES

    if args.session:
        opened = window.open_session(Path(args.session).expanduser())
        if opened and wait:  # its image file loads off the GUI thread
            opened = window.images.loader.wait()
        if not opened:
            return window.last_message.splitlines()[0] if window.last_message else "bad session"
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
        if ok and wait:
            ok = window.images.loader.wait()
        if not ok:
            return window.last_message
    if args.flip:
        window.filter_editor.set_flip(True)
    if args.groups:
        try:  # after the image: groups must divide its channel count
            window.filter_editor.set_groups(args.groups)
        except ValueError as exc:
            return str(exc)
    if args.model:
        return _apply_model(window, args, wait)
    window.compute_now()
    return None


def _apply_model(window, args: argparse.Namespace, wait: bool) -> str | None:
    """``--model`` with ``--layer``: that layer on what the model feeds it; else the list."""
    path = Path(args.model).expanduser()
    if args.layer is None:
        return None if window.models.open_path(path) else window.last_message
    ok = window.models.load_layer(path, args.layer, args.scaling)
    if ok and wait:
        ok = window.images.loader.wait()
    return None if ok else window.last_message


def _display_available() -> bool:
    """False on Linux/BSD with no X11 or Wayland display and no Qt platform chosen.

    Qt's xcb plugin aborts the process when it cannot connect; saying so first is kinder.
    """
    if not sys.platform.startswith(("linux", "freebsd")):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    """Open the window (or run a headless command); returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in CLI_COMMANDS:
        from . import cli

        return int(cli.main(args_list) or 0)
    try:
        args = build_parser().parse_args([str(a) for a in args_list])
        _resolve_path(args)
        _check_files(args)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except UsageError as exc:  # the command line's one line, never a traceback
        print(f"deconv-gui: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except OSError as exc:  # valid arguments, an output that cannot be written
        print(f"deconv-gui: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed
    elif not _display_available():
        print(
            "deconv-gui: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set). "
            "Use --screenshot PATH to render offscreen, or the headless commands "
            f"{', '.join(CLI_COMMANDS)}.",
            file=sys.stderr,
        )
        return 2
    if uses_xcb():
        missing = missing_xcb_packages()
        if missing:  # Qt would abort (exit 134) inside QApplication
            print(
                "deconv-gui: Qt's X11 (xcb) plugin needs system libraries that are missing; "
                f"install them, e.g. on Debian/Ubuntu: sudo apt install {' '.join(missing)} "
                "(or render offscreen with --screenshot PATH)",
                file=sys.stderr,
            )
            return 1
    from .gui.support.qt_messages import install_message_filter

    restore_messages = install_message_filter()  # before Qt starts: it warns while starting
    try:
        return _run_window(args)
    finally:
        restore_messages()


def _run_window(args: argparse.Namespace) -> int:
    """Make the application and the window; show it, or take the screenshot."""
    import pyqtgraph as pg
    from qtpy import QtWidgets

    from .gui.main_window import MainWindow
    from .gui.support.excepthook import install_excepthook
    from .gui.support.style import apply_style

    pg.setConfigOptions(imageAxisOrder="row-major")
    existing = QtWidgets.QApplication.instance()
    app = (
        existing
        if isinstance(existing, QtWidgets.QApplication)
        else QtWidgets.QApplication([sys.argv[0]])
    )
    app.setApplicationName("Deconvolution Explorer")
    app.setOrganizationName("deconv-gui")
    apply_style(app)
    window: MainWindow | None = None
    previous_hook = install_excepthook(lambda: window)
    try:
        window = MainWindow(restore=args.screenshot is None)
        error = _apply_arguments(window, args, wait=bool(args.screenshot))
        if args.screenshot:
            return _screenshot(app, window, Path(args.screenshot), error, args.view, args.size)
        if error:
            window.show_message(error)
        window.show()
        return int(app.exec())
    finally:
        if window is not None and args.screenshot:
            # close and destroy it now, in this thread: never later inside a GC pass
            from .gui.support.teardown import delete_now

            delete_now(window)
        sys.excepthook = previous_hook


def _open_view(window, view: str):
    """Open ``--view`` in ``window``; returns the widget to picture and when it is ready."""
    insight = window.insight
    if view == "lost":
        insight.set_panels_visible(True)
        return window, lambda: window.result.nullspace is not None
    if view == "seed":
        insight.open_seed_example()
        return insight.dialogs["seed"], lambda: window.result.image.shape == (7, 7, 3)
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
        code.show()  # not exec(): the screenshot's timer keeps running
        return code, lambda: True
    return window, lambda: True


def _screenshot(app, window, path: Path, error: str | None, view: str = "main", size=None) -> int:
    """Show the window offscreen, open ``view``, wait until it is computed, save the PNG."""

    from .gui.support.qthelp import make_timer

    if error:
        print(f"deconv-gui: {' '.join(error.split())}", file=sys.stderr)  # one line
        return 2
    status = {"code": -1, "calm": 0}  # -1: no picture taken yet
    target: dict = {}

    def poll() -> None:
        if window.result is None or not window.live.idle:  # SSIM filled in too
            status["calm"] = 0
            return
        if not target:  # the first result is on screen: open the view
            widget, ready = _open_view(window, view)
            if size is not None:
                widget.resize(*size)
            target.update(widget=widget, ready=ready)
            return
        # three calm polls in a row: nothing queued, every job of the view reported back
        status["calm"] = status["calm"] + 1 if target["ready"]() else 0
        if status["calm"] < 3:
            return
        app.processEvents()  # let pending paints run before grabbing
        widget = target["widget"]
        ok = (
            widget.grab().save(str(path), "PNG")
            if widget is not window
            else (window.save_screenshot(path))
        )
        status["code"] = 0 if ok else 1
        if not ok:
            print(f"deconv-gui: could not write {path}", file=sys.stderr)
        app.exit(status["code"])

    window.resize(*(size or (1600, 1000)))
    window.show()
    # timers owned by the window: none can fire after it is gone or in a later event loop
    ticks = make_timer(window, 100)
    ticks.timeout.connect(poll)
    give_up = make_timer(window, _SCREENSHOT_TIMEOUT_MS, single_shot=True)
    give_up.timeout.connect(app.quit)
    ticks.start()
    give_up.start()
    app.exec()
    ticks.stop()
    give_up.stop()
    if status["code"] == -1:
        status["code"] = 1
        print("deconv-gui: nothing to take a screenshot of (timed out)", file=sys.stderr)
    return status["code"]  # main() closes and deletes the window


if __name__ == "__main__":
    raise SystemExit(main())
