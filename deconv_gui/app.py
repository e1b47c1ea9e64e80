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
from typing import Any

from . import __version__
from .cli import COMMANDS, UsageError, _Parser, field_type, shown_default
from .cli import parse_pair as _pair  # noqa: F401 (the old name, kept for callers)
from .cli import positive_pair as _positive
from .cli.model_problem import add_model_options
from .core import params as schema
from .core.memory import keep_freed_memory
from .view.theme import THEME_NAMES
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
    parser.add_argument(
        "--palette",
        choices=("system", *THEME_NAMES),
        default="system",
        help="the window's colours: the desktop's palette (light or dark, followed when it "
        "changes), or a light or dark one whatever the desktop's (default system)",
    )
    return parser


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    study = "with --layer, study that layer on what the model feeds it; without, list its layers"
    add_model_options(parser, study)
    parser.add_argument(
        "--through",
        action="store_true",
        help="with --model and --layer (or a --session of a network built by hand or of a "
        "model's layer): show the "
        "network up to the layer (its local linear map J at the image: f(x₀), Jᵀ, deconvnet, "
        "guided backprop, J⁺, null space) instead of the layer alone",
    )


def _add_geometry_options(parser: argparse.ArgumentParser) -> None:
    defaults = schema.defaults()  # the window's defaults are the schema's, as the CLI's
    # the flags, metavars and help are the schema's (stride and dilation add examples);
    # no argparse default: an option not typed leaves the remembered setting
    for name, tip in (
        ("stride", "stride, e.g. 2 or 2,1"),
        ("padding", schema.rule("padding").help),  # every form the schema reads
        ("dilation", "dilation, e.g. 1 or 2,1"),
        ("groups", schema.rule("groups").help),
        ("layer_kind", schema.rule("layer_kind").help),
    ):
        rule = schema.rule(name)
        parser.add_argument(
            rule.cli or f"--{name}",
            type=field_type(name),
            metavar=rule.metavar or "N|H,W",
            help=f"{tip} (default {shown_default(defaults[name])})",
        )
    parser.add_argument("--flip", action="store_true", help=schema.rule("flip").help)


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
        When ``--screenshot`` cannot be written (:func:`_check_screenshot`).
    """
    from .io import SAMPLES

    if args.image and args.image not in SAMPLES and not Path(args.image).expanduser().exists():
        raise UsageError(f"image not found: {args.image} (not a file or a sample)")
    if args.through and not (args.model and args.layer) and not args.session:
        raise UsageError(
            "--through needs --model and --layer (the network up to that layer), or a "
            "--session of a network built by hand or of a model's layer"
        )
    if args.session and not Path(args.session).expanduser().exists():
        raise UsageError(f"session not found: {args.session}")
    if args.screenshot:
        _check_screenshot(Path(args.screenshot).expanduser())


def _check_screenshot(target: Path) -> None:
    """Refuse, before any window, a ``--screenshot`` that cannot be written: a folder, a
    file that cannot be replaced, or a folder that can be neither made nor written into
    (a missing one is made when the picture is saved, as every command makes its output
    folder).

    Raises
    ------
    OSError
        One line naming the screenshot and the reason (exit 1).
    """
    from .io.files import check_writable_folder

    if target.is_dir():
        raise OSError(f"cannot write the screenshot {target}: it is a folder")
    try:
        check_writable_folder(target.parent)
    except ValueError as exc:
        raise OSError(f"cannot write the screenshot {target}: {exc}") from None
    if target.exists() and not os.access(target, os.W_OK):
        raise OSError(f"cannot write the screenshot {target}: permission denied")


def _display_available() -> bool:
    """False on Linux/BSD with no X11 or Wayland display and no Qt platform chosen.

    Qt's xcb plugin aborts the process when it cannot connect; saying so first is kinder.
    """
    if not sys.platform.startswith(("linux", "freebsd")):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    """Open the window (or run a headless command); returns the exit status."""
    keep_freed_memory()  # every run allocates the same large arrays again: reuse them
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

    from .gui.launch import apply_arguments
    from .gui.main_window import MainWindow
    from .gui.support.excepthook import install_excepthook
    from .gui.support.quit_signals import close_on_quit_signals
    from .gui.support.style import apply_style
    from .gui.support.theme import apply_palette

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
    apply_palette(app, args.palette)
    window: MainWindow | None = None
    previous_hook = install_excepthook(lambda: window)
    try:
        window = MainWindow(restore=args.screenshot is None)
        error = apply_arguments(window, args, wait=bool(args.screenshot))
        if args.screenshot:
            return _screenshot(app, window, Path(args.screenshot), error, args.view, args.size)
        if error:
            window.show_message(error)
        window.show()
        restore_signals = close_on_quit_signals(window, window.close)
        try:
            return int(app.exec())
        finally:
            restore_signals()
    finally:
        if window is not None and args.screenshot:
            # close and destroy it now, in this thread: never later inside a GC pass
            from .gui.support.teardown import delete_now

            delete_now(window)
        sys.excepthook = previous_hook


def _screenshot(app: Any, window: Any, path: Path, *more: Any) -> int:
    """Take the ``--screenshot``: :func:`deconv_gui.gui.launch.take_screenshot`."""
    from .gui.launch import take_screenshot

    return take_screenshot(app, window, path, *more)


if __name__ == "__main__":
    raise SystemExit(main())
