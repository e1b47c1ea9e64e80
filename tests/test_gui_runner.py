"""The job runner: newest request wins, cancellation, shutdown, a shared pool with priorities."""

from __future__ import annotations

import threading

import pytest

from deconv_gui.core import SolveCancelled
from deconv_gui.gui.runner import JobPool, JobRunner, Priority, app_pool

pytestmark = pytest.mark.gui
TIMEOUT = 10_000  # ms


def _gate():
    """A job that waits for the returned event (or its cancel event), then returns ``value``."""
    release = threading.Event()

    def make(value):
        def job(cancel, progress):
            progress(value)
            while not release.wait(0.005):
                if cancel.is_set():
                    raise SolveCancelled("cancelled")
            return value

        return job

    return release, make


def test_only_the_newest_request_reports_and_older_ones_are_dropped(qtbot):
    runner = JobRunner()
    release, make = _gate()
    results, cancelled = [], []
    runner.resultReady.connect(lambda rid, value: results.append((rid, value)))
    runner.cancelled.connect(cancelled.append)
    first = runner.submit(make("old"))
    second = runner.submit(make("new"))  # cancels the first
    assert runner.busy and runner.latest_id == second > first
    release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=TIMEOUT)
    runner.wait()
    qtbot.wait(20)  # any queued signal of the first request arrives, and is dropped
    assert results == [(second, "new")] and cancelled == []
    runner.shutdown()


def test_a_job_that_returns_after_cancel_reports_cancelled_not_its_value(qtbot):
    runner = JobRunner()
    started = threading.Event()

    def job(cancel, _progress):
        started.set()
        cancel.wait(5)  # ignores the request, returns anyway
        return "late"

    results = []
    runner.resultReady.connect(lambda _rid, value: results.append(value))
    rid = runner.submit(job)
    started.wait(5)
    with qtbot.waitSignal(runner.cancelled, timeout=TIMEOUT) as signal:
        runner.cancel()
    assert signal.args == [rid] and results == [] and not runner.busy
    runner.shutdown()


def test_a_dropped_request_reports_nothing_neither_its_value_nor_its_cancel(qtbot):
    runner = JobRunner(hold_busy=True)
    release, make = _gate()
    reports = []
    runner.resultReady.connect(lambda rid, value: reports.append(("result", rid)))
    runner.cancelled.connect(lambda rid: reports.append(("cancelled", rid)))
    runner.failed.connect(lambda rid, message: reports.append(("failed", rid)))
    runner.submit(make("stale"))
    runner.drop()
    assert not runner.busy  # at once: nothing of the request is waited for
    release.set()
    runner.wait()
    qtbot.wait(20)  # its queued cancel arrives, and is dropped
    assert reports == []
    later = runner.submit(make("next"))  # the runner goes on as before
    qtbot.waitUntil(lambda: reports == [("result", later)], timeout=TIMEOUT)
    runner.shutdown()


def test_errors_become_messages(qtbot):
    runner = JobRunner()

    def bad(_cancel, _progress):
        raise ValueError("stride must be positive")

    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT) as failed:
        runner.submit(bad)
    assert failed.args[1] == "stride must be positive" and not runner.busy

    def bug(_cancel, _progress):
        return 1 / 0

    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT) as failed:
        runner.submit(bug)
    assert failed.args[1].startswith("ZeroDivisionError") and "Traceback" in failed.args[1]
    runner.shutdown()


def test_shutdown_drops_what_arrives_later_and_refuses_new_jobs(qtbot):
    runner = JobRunner()
    reported = []
    runner.resultReady.connect(lambda *args: reported.append(args))
    runner.failed.connect(lambda *args: reported.append(args))
    runner.cancelled.connect(lambda *args: reported.append(args))
    rid = runner.submit(lambda _cancel, _progress: "done")
    runner.wait()  # finished: its signal is queued, not delivered yet
    runner.shutdown()
    assert runner.submit(lambda _c, _p: "never") == rid  # nothing started
    qtbot.wait(50)
    assert reported == [] and runner.dropped == 1


def test_progress_reaches_the_gui_thread_for_the_newest_request(qtbot):
    runner = JobRunner()

    def job(_cancel, progress):
        for k in range(3):
            progress(k / 2)
        return "ok"

    values = []
    runner.progress.connect(lambda _rid, value: values.append(value))
    with qtbot.waitSignal(runner.resultReady, timeout=TIMEOUT):
        runner.submit(job)
    assert values == [0.0, 0.5, 1.0]  # progress_interval=0: every call
    runner.shutdown()


def test_runners_sharing_a_pool_run_one_job_at_a_time_higher_priority_first(qtbot):
    live = JobRunner(pool=JobPool(1), priority=Priority.LIVE)
    background = JobRunner(pool=live.pool, priority=Priority.METRICS)
    release, make = _gate()
    order = []
    live.resultReady.connect(lambda _rid, value: order.append(value))
    background.resultReady.connect(lambda _rid, value: order.append(value))
    live.submit(make("blocking"))  # occupies the pool's only thread
    background.submit(lambda _c, _p: "metrics")  # queued first, low priority
    live_second = JobRunner(pool=live.pool, priority=Priority.LIVE)
    live_second.resultReady.connect(lambda _rid, value: order.append(value))
    live_second.submit(lambda _c, _p: "live")  # queued later, normal priority
    release.set()
    qtbot.waitUntil(lambda: len(order) == 3, timeout=TIMEOUT)
    assert order == ["blocking", "live", "metrics"]
    for runner in (background, live_second, live):
        runner.shutdown()


def test_hold_busy_keeps_busy_until_release(qtbot):
    runner = JobRunner(hold_busy=True)
    with qtbot.waitSignal(runner.resultReady, timeout=TIMEOUT) as ready:
        rid = runner.submit(lambda _c, _p: 42)
    assert ready.args == [rid, 42] and runner.busy
    runner.release(rid - 1)
    assert runner.busy
    runner.release(rid)
    assert not runner.busy
    runner.shutdown()


def test_every_runner_shares_the_one_application_pool():
    runners = [JobRunner(), JobRunner(priority=Priority.INSIGHT)]
    assert all(r.pool is app_pool() for r in runners)
    assert app_pool().maxThreadCount() >= 2
    for runner in runners:
        runner.shutdown()


def test_background_jobs_leave_a_thread_for_the_live_pipeline(qtbot):
    pool = JobPool(2)
    release, make = _gate()
    exports = [JobRunner(pool=pool, priority=Priority.BACKGROUND) for _ in range(2)]
    done = []
    for i, runner in enumerate(exports):
        runner.resultReady.connect(lambda _rid, value: done.append(value))
        runner.submit(make(f"export {i}"))
    assert pool.activeThreadCount() == 2  # one runs, the other waits its turn
    live = JobRunner(pool=pool, priority=Priority.LIVE)
    live.resultReady.connect(lambda _rid, value: done.append(value))
    live.submit(lambda _c, _p: "live")
    qtbot.waitUntil(lambda: done == ["live"], timeout=TIMEOUT)  # not behind the exports
    release.set()
    qtbot.waitUntil(lambda: len(done) == 3, timeout=TIMEOUT)
    assert sorted(done[1:]) == ["export 0", "export 1"]
    for runner in (*exports, live):
        runner.shutdown()


def test_a_job_still_waiting_for_a_thread_is_dropped_when_cancelled(qtbot):
    pool = JobPool(1)
    release, make = _gate()
    blocker = JobRunner(pool=pool)
    blocker.submit(make("blocking"))
    waiting = JobRunner(pool=pool)
    ran, cancelled = [], []
    waiting.cancelled.connect(cancelled.append)
    rid = waiting.submit(lambda _c, _p: ran.append(1))
    assert waiting.busy
    waiting.cancel()
    assert cancelled == [rid] and not waiting.busy
    assert waiting.wait(0)  # nothing of its own left to wait for, while the blocker runs
    release.set()
    blocker.shutdown()
    qtbot.wait(20)
    assert ran == []
    waiting.shutdown()


def test_a_runner_deleted_without_shutdown_waits_for_its_running_job(qtbot):
    started, release, ended = threading.Event(), threading.Event(), threading.Event()

    def job(_cancel, _progress):
        started.set()
        release.wait(5)
        ended.set()
        return "late"

    runner = JobRunner()
    runner.submit(job)
    assert started.wait(5)
    seen = []
    runner.destroyed.connect(lambda *_args: seen.append(ended.is_set()))  # after its own
    threading.Timer(0.1, release.set).start()
    runner.deleteLater()  # its window went away: the job still emits on its signals object
    qtbot.waitUntil(lambda: bool(seen), timeout=TIMEOUT)
    assert seen == [True]
    qtbot.wait(20)  # the late result is dropped, nothing crashes
