"""``‖A‖`` of a conv from its filter alone, cheap for many channels.

The norm of a stride-1 conv on the infinite plane is ``sup_ω σ_max(Ŵ(ω))``, ``Ŵ(ω)`` the
``C_in × C_out`` matrix of the filter's Fourier transform (per group); stride, dilation,
cropping and zero padding do not increase it. It is sampled on a ``size × size`` grid.

**Cost.** Forming ``Ŵ(ω)ᴴŴ(ω)`` and its ``eigvalsh`` at every frequency of a 64² grid
costs ``m² n`` and ``m³`` per frequency (``m × n`` the smaller and larger channel counts):
28-46 s for a 64 → 128 layer on a loaded two-core machine. Here:

* a real filter has ``Ŵ(−ω) = conj Ŵ(ω)`` (the same singular values): half the
  frequencies suffice;
* the largest eigenvalue of each ``Ŵ Ŵᴴ`` on a grid half as fine (a quarter of the
  frequencies) comes from :data:`STEPS` Lanczos steps run on all of them at once: each
  step applies ``Ŵᴴ`` then ``Ŵ`` tap by tap, two real matrix products over every frequency
  (BLAS), with full reorthogonalisation. The top Ritz value is a Rayleigh quotient, never
  above the frequency's ``σ_max²`` (exact with ``m`` steps);
* the fine grid's points in the cells of the :data:`REFINED` coarse frequencies with the
  largest Ritz values are solved exactly (``eigvalsh`` of ``Ŵ Ŵᴴ``).

So the result is the fine grid's maximum whenever it lies next to one of those coarse
frequencies (the peak of a smooth symbol: always in the tests, on random 64 → 128 filters
too), else a value a little below it, never above the sampled maximum.

**What callers rely on.** An estimate of ``‖A‖`` to a fraction of a percent: the tall
conv's CGLS scales its normal residual by it and compares ``‖r‖`` with ``ε ‖A‖ ‖x‖``
(:mod:`~deconv_gui.core.solvers.stopping`); neither needs a bound. It is not a guaranteed
upper bound (the grid may miss the peak slightly, the Lanczos values are from below);
step sizes use :func:`~deconv_gui.core.solvers.first_order.operator_norm_bound` instead.
A time-limited solve passes its end as ``deadline``: past it the estimate stops early,
lower (so that stop only gets stricter), rather than overshoot the limit in its set-up.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..operator import ConvOperator
from .base import SolveCancelled, is_cancelled

__all__ = ["filter_norm"]

#: Lanczos steps at most (fewer when the smaller channel count is smaller: then exact).
STEPS = 8
#: Frequencies solved exactly at the end (those with the largest Ritz values).
REFINED = 8
#: Frequencies per batch: bounds the memory of the stacked products (about 32 MiB).
_BATCH_BYTES = 1 << 25


class _Watch:
    """The caller's cancel (raises) and deadline (``time.perf_counter()`` seconds: past
    it, the Lanczos steps stop after two and the exact refinement is skipped)."""

    def __init__(self, cancel: Any, deadline: float | None) -> None:
        self.cancel, self.deadline = cancel, deadline

    def check(self) -> None:
        if is_cancelled(self.cancel):
            raise SolveCancelled("the filter's norm was cancelled")

    def late(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline


def _taps(w: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The taps' offsets and, per group, ``W_t`` oriented ``m × n`` with ``m ≤ n``:
    ``(offsets (T, 2), W (G, T, m, n))``, and ``Wᵀ`` stacked ``(G, T, n, m)``."""
    f_h, f_w, c_in = w.shape[:3]
    per_group = w.reshape(f_h * f_w, c_in, groups, -1).transpose(2, 0, 1, 3)
    if per_group.shape[2] > per_group.shape[3]:  # σ(Ŵ) = σ(Ŵᵀ): the smaller side
        per_group = per_group.transpose(0, 1, 3, 2)
    offsets = np.stack(np.meshgrid(np.arange(f_h), np.arange(f_w), indexing="ij"), -1)
    wide = np.ascontiguousarray(per_group)
    return offsets.reshape(-1, 2), wide, np.ascontiguousarray(wide.transpose(0, 1, 3, 2))


def _apply(stack: np.ndarray, phases: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Σ_t phases[t] (stack[t] @ v)`` for every frequency (the columns of ``v``): one
    real matrix product on ``v``'s real and imaginary parts side by side."""
    taps, rows, cols = stack.shape
    freq = v.shape[1]
    product = stack.reshape(taps * rows, cols) @ np.ascontiguousarray(v).view(np.float64)
    product = product.view(np.complex128).reshape(taps, rows, freq)
    return np.einsum("tf,trf->rf", phases, product)


def _lanczos_top(
    wide: np.ndarray, tall: np.ndarray, phases: np.ndarray, steps: int, watch: _Watch
) -> np.ndarray:
    """The top Ritz value of ``Ŵ Ŵᴴ`` after ``steps`` Lanczos steps (at least two when
    late), per frequency."""
    m, freq = wide.shape[1], phases.shape[1]
    rng = np.random.default_rng(0)
    q = rng.standard_normal((m, freq)) + 1j * rng.standard_normal((m, freq))
    q /= np.linalg.norm(q, axis=0)
    basis = np.zeros((steps, m, freq), np.complex128)
    diagonal, off = np.zeros((freq, steps)), np.zeros((freq, steps))
    for j in range(steps):
        watch.check()
        if j >= 2 and watch.late():
            steps = j
            break
        basis[j] = q
        z = _apply(wide, phases, _apply(tall, phases.conj(), q))
        diagonal[:, j] = np.einsum("mf,mf->f", q.conj(), z).real
        for _ in range(2):  # full reorthogonalisation, twice is enough
            z -= np.einsum(
                "jf,jmf->mf", np.einsum("jmf,mf->jf", basis[: j + 1].conj(), z), basis[: j + 1]
            )
        norm = np.linalg.norm(z, axis=0)
        off[:, j] = norm
        # an exhausted Krylov space: the zero vector adds only zero Ritz values (Ŵ Ŵᴴ ⪰ 0)
        q = z / np.where(norm > 1e-12 * np.maximum(diagonal[:, j], 1e-300), norm, np.inf)
    tridiagonal = np.zeros((freq, steps, steps))
    i = np.arange(steps)
    tridiagonal[:, i, i] = diagonal[:, :steps]
    tridiagonal[:, i[:-1], i[1:]] = tridiagonal[:, i[1:], i[:-1]] = off[:, : steps - 1]
    return np.linalg.eigvalsh(tridiagonal)[:, -1]


def _batch_tops(
    wide: np.ndarray, tall: np.ndarray, phases: np.ndarray, steps: int, watch: _Watch
) -> np.ndarray:
    """The largest top Ritz value over the groups, per frequency of ``phases``."""
    groups = zip(wide, tall, strict=True)
    return np.max([_lanczos_top(w, t, phases, steps, watch) for w, t in groups], axis=0)


def _phases(
    offsets: np.ndarray, k_h: np.ndarray, k_w: np.ndarray, grid: tuple[int, int]
) -> np.ndarray:
    """``e^{−iω·t}`` of every tap ``t`` (rows) at the frequencies ``2π (k_h, k_w) / grid``."""
    omega = np.stack([np.ravel(k_h) / grid[0], np.ravel(k_w) / grid[1]])
    return np.exp(-2j * np.pi * (offsets @ omega))


def _coarse_tops(
    offsets: np.ndarray, wide: np.ndarray, tall: np.ndarray, coarse: tuple[int, int], watch: _Watch
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top Ritz values on the half of the ``coarse`` grid, with their ``(k_h, k_w)``."""
    rows, cols = np.meshgrid(np.arange(coarse[0]), np.arange(coarse[1] // 2 + 1), indexing="ij")
    k_h, k_w = rows.ravel(), cols.ravel()
    phases = _phases(offsets, k_h, k_w, coarse)
    m, n = wide.shape[2:]
    steps = min(m, STEPS)
    batch = max(1, _BATCH_BYTES // (16 * wide.shape[1] * max(n, steps * m)))
    tops = np.concatenate(
        [
            _batch_tops(wide, tall, phases[:, start : start + batch], steps, watch)
            for start in range(0, phases.shape[1], batch)
        ]
    )
    return tops, k_h, k_w


def filter_norm(
    op: ConvOperator, size: int = 64, cancel: Any = None, deadline: float | None = None
) -> float:
    """``‖A‖`` of a conv estimated from its filter alone: the largest singular value of
    the filter's (each group's) Fourier transform on a ``size × size`` grid (at least 4
    taps' worth, rounded up to even), i.e. the norm of its stride-1 conv on the infinite
    plane (which stride, dilation, cropping and zero padding do not increase; the sampled
    grid may miss the peak slightly). An estimate, not a bound (see the module's notes);
    ``cancel`` is checked between Lanczos steps. Past ``deadline`` (a
    ``time.perf_counter()`` value, None: none) the Lanczos steps stop after two and the
    value is their Ritz value, a little below (a time-limited solve's stopping rule is
    then a little stricter, never looser).

    Examples
    --------
    >>> from deconv_gui.core import ConvOperator
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 1, 2)), input_shape=(8, 8, 1))
    >>> round(filter_norm(op), 6)  # 9 taps of 1 in each of 2 channels: 9 √2
    12.727922
    """
    w = np.asarray(op.weights, np.float64)
    coarse = ((max(size, 4 * w.shape[0]) + 1) // 2, (max(size, 4 * w.shape[1]) + 1) // 2)
    fine = (2 * coarse[0], 2 * coarse[1])
    offsets, wide, tall = _taps(w, op.geometry.groups)
    watch = _Watch(cancel, deadline)
    tops, k_h, k_w = _coarse_tops(offsets, wide, tall, coarse, watch)
    best = float(np.sqrt(max(float(tops.max()), 0.0)))
    if watch.late():
        return best
    # the fine grid's points in the cells of the coarse frequencies with the largest values
    top = np.argsort(tops)[-REFINED:]
    near = np.arange(-1, 2)
    f_h = (2 * k_h[top, None, None] + near[:, None]) % fine[0]
    f_w = (2 * k_w[top, None, None] + near) % fine[1]
    points = np.unique(np.stack(np.broadcast_arrays(f_h, f_w), -1).reshape(-1, 2), axis=0)
    phases = _phases(offsets, points[:, 0], points[:, 1], fine)
    batch = max(1, _BATCH_BYTES // (16 * wide[0].size))
    for start in range(0, phases.shape[1], batch):
        watch.check()
        spectra = np.einsum("tf,gtmn->fgmn", phases[:, start : start + batch], wide)
        gram = spectra @ np.conj(spectra.swapaxes(-1, -2))
        best = max(best, float(np.sqrt(max(float(np.linalg.eigvalsh(gram).max()), 0.0))))
    return best
