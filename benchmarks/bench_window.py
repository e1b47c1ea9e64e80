"""Time the main window's start: construction, first paint, first result, teardown.

Builds the window offscreen as the GUI tests do (a temporary settings file, nothing
restored) ``--runs`` times after one warm-up, and prints the median and the spread of

* ``construct``: ``MainWindow(...)`` returns (the sample image's first solve is started);
* ``first paint``: ``show()`` and one pass of the event loop after it, from the start;
* ``first result``: the first result drawn in every panel and the window idle, from the
  start;
* ``teardown``: closing and deleting the window.

With ``--screenshot N`` it also times ``python -m deconv_gui --screenshot`` (a fresh
process each time: Python, Qt and the imports included) ``N`` times, and with
``--profile`` it prints the functions that take most of one construction (cProfile,
cumulative). Note the machine's load beside the figures: on a shared machine they vary
by tens of percent.

Usage::

    PYTHONPATH=. python benchmarks/bench_window.py [--runs 7] [--screenshot 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg
from qtpy import QtCore, QtWidgets

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.style import apply_style
from deconv_gui.gui.support.teardown import delete_now

_TIMEOUT = 60.0  # seconds for the first result


def make_window(folder: str) -> MainWindow:
    """A window on fresh settings in ``folder``, as the GUI tests make it."""
    path = os.path.join(folder, "settings.ini")
    settings = QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat)
    return MainWindow(settings, restore=False)


def one_start(folder: str) -> dict[str, float]:
    """Seconds to construct, to first paint, to first result, and to tear down."""
    app = QtWidgets.QApplication.instance()
    start = time.perf_counter()
    window = make_window(folder)
    times = {"construct": time.perf_counter() - start}
    window.show()
    app.processEvents()
    times["first paint"] = time.perf_counter() - start
    while window.result is None or not window.live.idle:
        if time.perf_counter() - start > _TIMEOUT:
            raise RuntimeError("no result within the timeout")
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
    times["first result"] = time.perf_counter() - start
    start = time.perf_counter()
    delete_now(window)
    times["teardown"] = time.perf_counter() - start
    return times


def screenshot_seconds(runs: int) -> list[float]:
    """Wall seconds of ``python -m deconv_gui --screenshot`` (a fresh process each)."""
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=folder)
        env["XDG_CONFIG_HOME"] = os.path.join(folder, "config")  # never the user's settings
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "deconv_gui", "--screenshot", str(Path(folder, "s.png"))],
                env=env,
                check=True,
                capture_output=True,
            )
            seconds.append(time.perf_counter() - start)
    return seconds


def _row(name: str, values: list[float]) -> str:
    median, low, high = (1000 * v for v in (statistics.median(values), min(values), max(values)))
    return f"{name:<14} median {median:7.1f} ms   min {low:7.1f}   max {high:7.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed starts (after a warm-up)")
    parser.add_argument(
        "--screenshot", type=int, default=0, metavar="N", help="time N --screenshot runs"
    )
    parser.add_argument("--profile", action="store_true", help="profile one construction")
    args = parser.parse_args(argv)
    QtCore.qInstallMessageHandler(lambda *_: None)  # the offscreen plugin's notes
    pg.setConfigOptions(imageAxisOrder="row-major")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    apply_style(app)
    with tempfile.TemporaryDirectory() as folder:
        one_start(folder)  # warm-up: first imports, fonts, caches
        runs = [one_start(folder) for _ in range(args.runs)]
        print(f"window start, offscreen, {args.runs} runs (load {os.getloadavg()[0]:.2f}):")
        for name in runs[0]:
            print(_row(name, [run[name] for run in runs]))
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            window = make_window(folder)
            profile.disable()
            delete_now(window)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    if args.screenshot:
        print(_row("--screenshot", screenshot_seconds(args.screenshot)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
