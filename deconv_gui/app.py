"""Application entry point: ``main(argv) -> int``.

``deconv-gui`` opens the window; ``deconv-gui run|info|code …`` runs the headless
commands of :mod:`deconv_gui.cli`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from . import __version__
from .cli import UsageError, _Parser
from .cli import non_negative_pair as _non_negative
from .cli import parse_pair as _pair  # noqa: F401 (the old name, kept for callers)
from .cli import positive_pair as _positive
from .xcb_check import missing_xcb_packages, uses_xcb

__all__ = ["CLI_COMMANDS", "build_parser", "main"]

#: First words of ``argv`` that are handed to the command-line interface.
CLI_COMMANDS: tuple[str, ...] = ("run", "info", "code")
_SCREENSHOT_TIMEOUT_MS = 60_000


def build_parser() -> argparse.ArgumentParser:
    """The window's command-line options."""
    from .core import PRESETS
    from .io import SAMPLES

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
        "--image", metavar="PATH|SAMPLE", help=f"an image file or a sample: {', '.join(SAMPLES)}"
    )
    parser.add_argument("--filter", metavar="PRESET", choices=PRESETS, help=", ".join(PRESETS))
    for name, kind, tip in (
        ("stride", _positive, "stride, e.g. 2 or 2,1 (default 2)"),
        ("padding", _non_negative, "zero padding on each side, e.g. 1 or 1,0 (default 1)"),
        ("dilation", _positive, "dilation, e.g. 1 or 2,1 (default 1)"),
    ):
        parser.add_argument(f"--{name}", type=kind, metavar="N|H,W", help=tip)
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        help="render the window offscreen after the first result, save it as PNG and exit "
        "(remembered settings are not used)",
    )
    return parser


def _apply_arguments(window, args: argparse.Namespace) -> str | None:
    """Apply ``--image/--filter/--stride/...``; returns an error message or None."""
    from .io import SAMPLES

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
        if not ok:
            return window.last_message
    window.compute_now()
    return None


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
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except UsageError as exc:  # the command line's one line, never a traceback
        print(f"deconv-gui: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
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

    import pyqtgraph as pg
    from PyQt5 import QtWidgets

    from .gui.main_window import MainWindow
    from .gui.support.excepthook import install_excepthook
    from .gui.support.style import apply_style

    pg.setConfigOptions(imageAxisOrder="row-major")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    app.setApplicationName("Deconvolution Explorer")
    app.setOrganizationName("deconv-gui")
    apply_style(app)
    window: MainWindow | None = None
    previous_hook = install_excepthook(lambda: window)
    try:
        window = MainWindow(restore=args.screenshot is None)
        error = _apply_arguments(window, args)
        if args.screenshot:
            return _screenshot(app, window, Path(args.screenshot), error)
        if error:
            window.show_message(error)
        window.show()
        return int(app.exec_())
    finally:
        if window is not None and args.screenshot:
            # close and destroy it now, in this thread: never later inside a GC pass
            from .gui.support.teardown import delete_now

            delete_now(window)
        sys.excepthook = previous_hook


def _screenshot(app, window, path: Path, error: str | None) -> int:
    """Show the window offscreen, wait for the first result, save the PNG, return 0."""
    from PyQt5 import QtCore

    if error:
        print(f"deconv-gui: {error}", file=sys.stderr)
        return 2
    status = {"code": 1}

    def save() -> None:
        if status["code"] == 1 and window.result is not None:
            app.processEvents()  # let pending paints run before grabbing
            ok = window.save_screenshot(path)
            status["code"] = 0 if ok else 3
            if not ok:
                print(f"deconv-gui: could not write {path}", file=sys.stderr)
            app.exit(status["code"])

    window.resize(1600, 1000)
    window.show()
    # timers owned by the window: none can fire after it is gone or in a later event loop
    shoot = QtCore.QTimer(window, singleShot=True, interval=50)
    shoot.timeout.connect(save)
    give_up = QtCore.QTimer(window, singleShot=True, interval=_SCREENSHOT_TIMEOUT_MS)
    give_up.timeout.connect(app.quit)
    window.resultShown.connect(shoot.start)
    if window.result is not None:
        shoot.start()
    give_up.start()
    app.exec_()
    shoot.stop()
    give_up.stop()
    window.resultShown.disconnect(shoot.start)
    if status["code"] == 1:
        print("deconv-gui: no result to take a screenshot of (timed out)", file=sys.stderr)
    return status["code"]  # main() closes and deletes the window


if __name__ == "__main__":
    raise SystemExit(main())
