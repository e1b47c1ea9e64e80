"""Drive the real window offscreen and time edits → all panels painted.

For a 512×512 RGB photo it applies 50 edits (stride, padding, a filter tap) twice:
once with the forward output and the transposed reconstruction only, once with the
pseudo-inverse too. For each edit it measures the time from the moment the debounce
fires (``compute_now``) to the moment every panel has been repainted, plus the time
spent drawing on the GUI thread. A 10 ms heartbeat ``QTimer`` records the longest stall
of the event loop. Targets (issue 4): forward + transposed ≤ 100 ms, pinv ≤ 500 ms,
no stall > 50 ms.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--edits 50] [--size 512]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg
from PyQt5 import QtCore, QtWidgets

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.style import apply_style


class Heartbeat:
    """A 10 ms timer; the longest gap between ticks minus 10 ms is the worst stall."""

    def __init__(self) -> None:
        self.timer = QtCore.QTimer(interval=10)
        self.timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.worst = 0.0
        self.gaps: list[float] = []

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = now - self.last - 0.010
        self.gaps.append(gap)
        self.worst = max(self.worst, gap)
        self.last = now

    def start(self) -> None:
        self.last = time.perf_counter()
        self.worst = 0.0
        self.gaps = []
        self.timer.start()


def edits(window: MainWindow, count: int):
    """Yield ``count`` edit callables: padding, stride 2/3, and the centre filter tap."""
    geometry, editor = window.geometry_editor, window.filter_editor
    steps = [
        lambda: geometry.set_values(padding=(0, 0)),
        lambda: geometry.set_values(stride=(3, 3)),
        lambda: geometry.set_values(padding=(2, 2)),
        lambda: geometry.set_values(stride=(2, 2)),
        lambda: editor.set_weight(1, 1, 0, 0.12),
        lambda: geometry.set_values(padding=(1, 1)),
        lambda: editor.set_weight(1, 1, 0, 0.10),
    ]
    for i in range(count):
        yield steps[i % len(steps)]


def run(window: MainWindow, methods: tuple[str, ...], count: int, beat: Heartbeat):
    """Apply ``count`` edits; return latencies and GUI-thread draw+paint times (s), worst stall."""
    window.recon_options.set_values(methods=methods)
    wait_for_result(window)
    draw_times: list[float] = []
    original = window.panels.show_result

    def timed_show(result):
        start = time.perf_counter()
        original(result)
        draw_times.append(time.perf_counter() - start)

    window.panels.show_result = timed_show
    latencies = []
    beat.start()
    try:
        for edit in edits(window, count):
            edit()
            start = time.perf_counter()
            window.compute_now()  # the debounce would fire here
            wait_for_result(window)
            painted = time.perf_counter()
            window.panels.repaint()  # paint every panel now, synchronously
            done = time.perf_counter()
            latencies.append(done - start)
            draw_times[-1] += done - painted  # GUI thread: set images + paint
    finally:
        window.panels.show_result = original
    over = sum(g > 0.050 for g in beat.gaps)
    return latencies, draw_times, (beat.worst, over, len(beat.gaps))


def wait_for_result(window: MainWindow, timeout_ms: int = 60_000) -> None:
    loop = QtCore.QEventLoop()
    window.resultShown.connect(loop.quit)
    QtCore.QTimer.singleShot(timeout_ms, loop.quit)
    if window.runner.busy or window._debounce.isActive():
        loop.exec_()
    window.resultShown.disconnect(loop.quit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    pg.setConfigOptions(imageAxisOrder="row-major")
    apply_style(app)
    with tempfile.TemporaryDirectory() as tmp:
        settings = QtCore.QSettings(os.path.join(tmp, "s.ini"), QtCore.QSettings.IniFormat)
        window = MainWindow(settings, restore=False)
        window.resize(1600, 1000)
        window.show()
        window.set_work_size(args.size)
        wait_for_result(window)
        shape = "×".join(map(str, window.loaded.pixels.shape))
        beat = Heartbeat()
        beat.start()  # noise floor: the event loop with nothing to do for 2 s
        idle = QtCore.QEventLoop()
        QtCore.QTimer.singleShot(2000, idle.quit)
        idle.exec_()
        idle_stall = (beat.worst, sum(g > 0.050 for g in beat.gaps), len(beat.gaps))
        rows = []
        for label, methods, target in (
            ("forward + transposed", ("transposed",), 0.100),
            ("forward + transposed + pinv", ("transposed", "pinv"), 0.500),
        ):
            latencies, draws, stall = run(window, methods, args.edits, beat)
            rows.append((label, latencies, draws, stall, target))
        window.close()

    print(
        f"\nbench_gui: {args.edits} edits on {shape} (astronaut), offscreen, {os.cpu_count()} CPUs"
    )
    print(
        "latency = compute_now (debounce fired) → all panels repainted; "
        "draw = GUI-thread part (set images + paint)"
    )
    header = (
        f"{'mode':30s} {'median':>8s} {'max':>8s} {'draw med':>9s} {'draw max':>9s} "
        f"{'stall max':>10s} {'>50ms':>6s} {'target':>8s}"
    )
    print(header)
    print("-" * len(header))
    for label, latencies, draws, (stall, over, ticks), target in rows:
        ms = lambda v: f"{v * 1000:7.0f}ms"  # noqa: E731
        verdict = "ok" if statistics.median(latencies) <= target else "SLOW"
        print(
            f"{label:30s} {ms(statistics.median(latencies))} {ms(max(latencies))} "
            f"{ms(statistics.median(draws)):>9s} {ms(max(draws)):>9s} {ms(stall):>10s} "
            f"{over:>3d}/{ticks:<4d}"
            f"{target * 1000:5.0f}ms {verdict}"
        )
    stall, over, ticks = idle_stall
    print(
        f"{'idle event loop (2 s, noise)':30s} {'':>8s} {'':>8s} {'':>9s} {'':>9s} "
        f"{stall * 1000:8.0f}ms {over:>3d}/{ticks:<4d}"
    )
    print("stall target: ≤ 50 ms (>50ms: heartbeat gaps over 50 ms / ticks)")


if __name__ == "__main__":
    main()
