"""The one kernel-thread setting: its pool, its validation, and results that do not depend on it."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deconv_gui.core import conv2d, conv2d_transpose, threads
from deconv_gui.core.priors.tv_prox import TVProx


@pytest.fixture
def kernel_threads():
    """Set the kernel threads (BLAS untouched) for one test; restored afterwards."""
    old = threads.get_num_threads()
    yield lambda n: threads.set_num_threads(n, blas=False)
    threads.set_num_threads(old, blas=False)


def test_default_is_the_cpu_count():
    import os

    assert threads.get_num_threads() == max(1, os.cpu_count() or 1)


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True, None])
def test_set_num_threads_names_a_bad_value(bad):
    old = threads.get_num_threads()
    with pytest.raises(ValueError, match=r"^n must be an int"):
        threads.set_num_threads(bad, blas=False)
    assert threads.get_num_threads() == old  # nothing changed


def test_set_num_threads_returns_the_previous_setting(kernel_threads):
    old = threads.get_num_threads()
    assert kernel_threads(3) == old
    assert threads.get_num_threads() == 3
    assert kernel_threads(1) == 3


@pytest.mark.parametrize("n_threads", [1, 2, 5])
@pytest.mark.parametrize("n_items", [0, 1, 2, 7, 23])
def test_map_chunks_covers_each_item_once_in_order(kernel_threads, n_threads, n_items):
    kernel_threads(n_threads)
    parts = threads.map_chunks(lambda a, b: list(range(a, b)), n_items)
    assert [i for part in parts for i in part] == list(range(n_items))
    assert len(parts) <= max(1, n_threads)


def test_map_chunks_uses_the_pool_and_reraises_after_every_chunk(kernel_threads):
    kernel_threads(4)
    names, finished = set(), []
    lock = threading.Lock()

    def chunk(a, b):
        with lock:
            names.add(threading.current_thread().name)
        if a == 0:
            raise RuntimeError("first chunk failed")
        threading.Event().wait(0.02)
        with lock:
            finished.append(a)

    with pytest.raises(RuntimeError, match="first chunk failed"):
        threads.map_chunks(chunk, 8)
    assert len(finished) == 3  # the other chunks ran to the end before the raise
    assert any(name.startswith("deconv") for name in names)


def test_nested_calls_run_inline_and_never_wait_on_the_pool(kernel_threads):
    kernel_threads(2)

    def inner(a, b):
        return sum(range(a, b))

    def outer(a, b):
        return sum(threads.map_chunks(inner, 100)) + b - a

    result = []
    worker = threading.Thread(target=lambda: result.append(threads.map_chunks(outer, 6)))
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "nested map_chunks deadlocked"
    assert sum(result[0]) == len(result[0]) * 4950 + 6


@pytest.mark.parametrize(
    ("shape", "filt", "kw"),
    [
        ((300, 260, 3), (3, 3, 3, 2), {"stride": 1, "padding": 1}),  # the plane kernels
        ((300, 260, 3), (3, 3, 3, 4), {"stride": 2, "padding": 1, "padding_mode": "reflect"}),
        ((300, 260, 16), (3, 3, 1, 16), {"stride": 1, "padding": 1, "groups": 16}),  # depthwise
        ((40, 36, 32), (3, 3, 32, 48), {"stride": 2, "padding": 1}),  # the GEMM kernels
    ],
)
def test_results_do_not_depend_on_the_number_of_threads(kernel_threads, shape, filt, kw):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(filt).astype(np.float32)
    results = []
    for n in (1, 2, 3):
        kernel_threads(n)
        y = conv2d(x, w, **kw)
        results.append((y, conv2d_transpose(y, w, input_shape=x.shape, **kw)))
    for y, back in results[1:]:
        assert np.array_equal(y, results[0][0])
        assert np.array_equal(back, results[0][1])


def test_tv_prox_has_one_band_per_thread(kernel_threads):
    rng = np.random.default_rng(1)
    v = rng.standard_normal((256, 256, 3))
    outs = []
    for n, bands in ((1, 1), (2, 2), (3, 3)):
        kernel_threads(n)
        prox = TVProx(v.shape, v.dtype, mu=0.1, nonneg=False)
        assert len(prox.bands) == bands
        outs.append(prox(v, np.empty_like(v), target=0.0))
    for out in outs[1:]:
        np.testing.assert_allclose(out, outs[0], rtol=0, atol=1e-12)


def test_a_pool_shut_down_meanwhile_runs_the_chunks_inline(kernel_threads, monkeypatch):
    """set_num_threads from another thread may retire the pool a call is about to use."""
    from concurrent.futures import ThreadPoolExecutor

    kernel_threads(3)
    retired = ThreadPoolExecutor(max_workers=1)
    retired.shutdown()
    monkeypatch.setattr(threads, "_executor", lambda: retired)
    parts = threads.map_chunks(lambda a, b: list(range(a, b)), 10)
    assert [i for part in parts for i in part] == list(range(10))


@pytest.mark.parametrize("n_threads", [1, 2, 5])
@pytest.mark.parametrize("n_items", [0, 1, 2, 7, 23])
def test_share_items_runs_each_item_once(kernel_threads, n_threads, n_items):
    kernel_threads(n_threads)
    done, names = [], set()

    def item(a, b):
        names.add(threading.current_thread().name)
        done.extend(range(a, b))

    threads.share_items(item, n_items)
    assert sorted(done) == list(range(n_items))
    if n_threads == 1:
        assert names <= {threading.current_thread().name}


def test_share_items_does_not_wait_for_a_busy_pool(kernel_threads):
    """With every pool thread busy elsewhere, the caller runs all the items and returns."""
    kernel_threads(2)
    release = threading.Event()
    busy = [threads._executor().submit(release.wait, 20) for _ in range(2)]
    try:
        done = []
        threads.share_items(lambda a, b: done.append((a, threading.current_thread().name)), 6)
        assert sorted(i for i, _ in done) == list(range(6))
        assert {name for _, name in done} == {threading.current_thread().name}
        assert not release.is_set()
    finally:
        release.set()
        for future in busy:
            future.result()


def test_share_items_reraises_and_stops_handing_out(kernel_threads):
    kernel_threads(2)
    started = []

    def item(a, b):
        started.append(a)
        if a == 1:
            raise RuntimeError("item 1 failed")
        threading.Event().wait(0.01)

    with pytest.raises(RuntimeError, match="item 1 failed"):
        threads.share_items(item, 50)
    assert len(started) < 50  # the items not started when it failed never ran
