"""Dense factorisations never run two at a time, and the exact rank is bounded by cost.

A segfault inside numpy's SVD was once seen when the window's exact-rank job and other
dense work ran at the same time under heavy load. Here many threads call every dense
entry point together, and a wrapped ``numpy.linalg`` counts how many calls overlap.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deconv_gui.core import ConvGeometry, ConvOperator, lapack, make_filter, rank_info
from deconv_gui.core.analysis.rank import exact_rank_feasible
from deconv_gui.core.solvers.dense import DENSE_SOLVE_COST, dense_solve


class _Overlap:
    """Wraps numpy.linalg functions; records the most calls inside them at once."""

    def __init__(self, monkeypatch) -> None:
        self.inside = 0
        self.most = 0
        self.calls = 0
        self._count = threading.Lock()
        for name in ("svd", "eigh", "eigvalsh", "solve", "pinv"):
            monkeypatch.setattr(np.linalg, name, self._wrap(getattr(np.linalg, name)))

    def _wrap(self, func):
        def wrapped(*args, **kwargs):
            with self._count:
                self.inside += 1
                self.calls += 1
                self.most = max(self.most, self.inside)
            try:
                threading.Event().wait(0.002)  # widen the window in which calls could overlap
                return func(*args, **kwargs)
            finally:
                with self._count:
                    self.inside -= 1

        return wrapped


def test_dense_factorisations_never_overlap(monkeypatch):
    overlap = _Overlap(monkeypatch)
    rng = np.random.default_rng(0)
    w = make_filter("random", in_channels=1, seed=3)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for k in range(4):
                size = 6 + (seed + k) % 5
                op = ConvOperator(ConvGeometry((size, size, 1), w.shape, stride=1), w)
                rank_info(op)  # exact SVD (the cache is keyed by the filter: vary it)
                matrix = rng.standard_normal((12, 20))
                dense_solve(matrix, rng.standard_normal(12))
                lapack.eigh(np.eye(3)[None].repeat(4, 0))
                lapack.solve(np.eye(4) * 2.0, np.ones(4))
                lapack.pinv(np.ones((2, 3, 3)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert overlap.calls >= 6 * 4 * 3
    assert overlap.most == 1


def test_the_lock_is_held_inside_each_factorisation(monkeypatch):
    held = []
    real = np.linalg.svd

    def svd(*args, **kwargs):
        # another thread cannot take the lock while we are inside
        held.append(not _free_elsewhere())
        return real(*args, **kwargs)

    monkeypatch.setattr(np.linalg, "svd", svd)
    dense_solve(np.eye(3), np.ones(3))
    assert held == [True]


def _free_elsewhere() -> bool:
    result = []

    def probe():
        got = lapack.LAPACK_LOCK.acquire(blocking=False)
        if got:
            lapack.LAPACK_LOCK.release()
        result.append(got)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return result[0]


@pytest.mark.parametrize(
    ("shape", "stride"),
    [((7, 7, 3), 2), ((16, 16, 1), 2), ((20, 20, 1), 1), ((48, 48, 1), 1), ((48, 48, 3), 2)],
)
def test_exact_rank_is_bounded_by_the_svd_cost(shape, stride):
    geometry = ConvGeometry(shape, (3, 3, shape[2], 1), stride=stride, padding=1)
    m, n = geometry.n_equations, geometry.n_unknowns
    cheap = m * n * min(m, n) <= DENSE_SOLVE_COST
    assert exact_rank_feasible(geometry, max_cost=DENSE_SOLVE_COST) == (
        cheap and exact_rank_feasible(geometry)
    )
    w = make_filter("gaussian", in_channels=shape[2])
    info = rank_info(ConvOperator(geometry, w), max_cost=DENSE_SOLVE_COST)
    assert info.exact == exact_rank_feasible(geometry, max_cost=DENSE_SOLVE_COST)
    if info.exact:  # against numpy's own rank of the dense matrix
        assert info.rank == np.linalg.matrix_rank(ConvOperator(geometry, w).to_dense(np.float64))
    else:
        assert info.rank is None and info.rank_upper == min(m, n)
