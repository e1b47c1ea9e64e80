"""Spectra solved by a layer's per-frequency factors (internal to the polyphase solve).

:func:`solve_by_factors` applies ``M(ω)^+`` by the factorised normal equations a few
frequency rows at a time (:class:`SpectrumSolve`); :class:`OutputSolve` gives wide blocks'
``u = G_reg⁻¹ ŷ`` on the output grid (:class:`OutputSolution`, whose image is ``Aᵀ`` of its
inverse transform); :func:`apply_rows` applies a kept ``M(ω)^+`` by multiply-adds. The
pieces are shared among the pool's threads as they come free.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import threads
from .polyphase_normal import Made, NormalFactors

__all__ = [
    "OutputSolution",
    "OutputSolve",
    "SpectrumSolve",
    "apply_rows",
    "each_piece",
    "solve_by_factors",
]

#: Bytes of ``M(ω)^+`` applied at a time.
_CHUNK_BYTES = 2**21


def solve_by_factors(normal: NormalFactors, spectrum: np.ndarray) -> np.ndarray:
    """``M(ω)^+ ŷ`` by the factors, ``spectrum`` ``(…, H', W'', C_out)``."""
    solve = SpectrumSolve(normal.shape)
    each_piece(normal, spectrum, solve)
    return solve.result()


def each_piece(normal: NormalFactors, spectrum: np.ndarray, solve: SpectrumSolve) -> None:
    """``spectrum`` ``(…, H', W'', C_out)`` solved by the factors into ``solve``."""
    solve.start(spectrum)
    step = normal.step(len(solve.flat))
    h_out = spectrum.shape[-3]

    def apply_rows(first: int, last: int) -> None:  # pieces first:last
        for start in range(first * step, min(last * step, h_out), step):
            solve(normal, start, min(start + step, h_out))

    with threads.one_blas_thread():
        threads.share_items(apply_rows, -(-h_out // step))


def apply_rows(rows: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
    """``M(ω)^+ ŷ`` by the rows ``(C_out, H', s_h, W'', s_w, C_in)``: a multiply-add per
    output channel, a few frequency rows at a time in the pool's threads."""
    solved = np.empty((*spectrum.shape[:-3], *rows.shape[1:]), spectrum.dtype)
    step = max(1, _CHUNK_BYTES // max(rows[:, 0].nbytes, 1))

    def apply_rows(first: int, last: int) -> None:  # pieces first:last
        for start in range(first * step, min(last * step, rows.shape[1]), step):
            stop = start + step
            part, out = rows[:, start:stop], solved[..., start:stop, :, :, :, :]
            spec = spectrum[..., start:stop, :, :]
            np.multiply(part[0], spec[..., :, None, :, None, None, 0], out=out)
            for o in range(1, rows.shape[0]):
                out += part[o] * spec[..., :, None, :, None, None, o]

    threads.share_items(apply_rows, -(-rows.shape[1] // step))
    return solved


class SpectrumSolve:
    """``M(ω)^+`` (or ``(Vᵀ M)^+ Vᵀ``) of one spectrum (:meth:`start`), a few frequency
    rows per call, into :meth:`result`."""

    def __init__(self, shape: tuple[int, ...], mixing: np.ndarray | None = None):
        self.shape, self.mixing = shape, mixing

    def start(self, spectrum: np.ndarray) -> None:
        """Take ``spectrum`` ``(…, H', W'', C_out)`` to solve."""
        if self.mixing is not None:
            spectrum = spectrum @ self.mixing.astype(spectrum.real.dtype)
        c_out, sh, n_w, sw, c_in = self.shape
        h_out = spectrum.shape[-3]
        self.lead = spectrum.shape[:-3]
        self.flat: np.ndarray = spectrum.reshape(-1, h_out, n_w, c_out)
        self.out = np.empty((len(self.flat), h_out, sh, n_w, sw, c_in), spectrum.dtype)

    def __call__(
        self, normal: NormalFactors, start: int, stop: int, made: Made | None = None
    ) -> None:
        """Solve the frequency rows ``start:stop`` (``made``: their blocks and adjoints,
        when made)."""
        c_out, sh, n_w, sw, c_in = self.shape
        rhs = self.flat[:, start:stop].reshape(len(self.flat), -1, c_out).transpose(1, 2, 0)
        x = normal.solve(start, stop, rhs.astype(complex), made)  # (f, n, B)
        x = x.reshape(stop - start, n_w, sh, sw, c_in, -1)
        self.out[:, start:stop] = x.transpose(5, 0, 2, 1, 3, 4)

    def fallback(self, normal: NormalFactors) -> None:
        """Solve again where the SVD solved the block (after a solve made with the
        factorisation, before those frequencies were known)."""
        at = normal.fallback_at
        if not len(at):
            return
        c_out, sh, n_w, sw, c_in = self.shape
        rhs = self.flat.reshape(len(self.flat), -1, c_out)[:, at].transpose(1, 2, 0)
        x = normal.fallback_rows.swapaxes(1, 2) @ rhs.astype(complex)  # (f, n, B)
        h, w = np.divmod(at, n_w)
        self.out[:, h, :, w] = x.reshape(len(at), sh, sw, c_in, -1).transpose(0, 4, 1, 2, 3)

    def result(self) -> np.ndarray:
        """The solved spectrum, ``(…, H', s_h, W'', s_w, C_in)``."""
        return self.out.reshape(*self.lead, *self.out.shape[1:])


class OutputSolution(NamedTuple):
    """``M^+ ŷ`` of wide blocks: ``u`` ``(…, H', W'', C_out)`` (complex128, ``M^+ ŷ = M^* u``)
    where ``G`` solved the block, 0 elsewhere, and ``M^+ ŷ`` itself ``(f, n, B)`` at the
    frequencies ``at`` (flat) that the SVD solved."""

    u: np.ndarray
    at: np.ndarray
    solved: np.ndarray


class OutputSolve(SpectrumSolve):
    """``u = V G_reg⁻¹ Vᵀ ŷ`` of one spectrum on the output grid (wide blocks: the image
    is ``Aᵀ`` of its inverse transform), a few frequency rows per call, and ``M^+ ŷ``
    where the SVD solved the block (:class:`OutputSolution`). In complex128: ``u`` grows
    as ``1 / σ²`` where the image grows as ``1 / σ``."""

    def __init__(self, mixing: np.ndarray | None = None):
        super().__init__((), mixing)
        self.at, self.solved = np.zeros(0, int), np.zeros((0, 0, 0), complex)

    def start(self, spectrum: np.ndarray) -> None:
        """Take ``spectrum`` ``(…, H', W'', C_out)`` to solve."""
        self.lead, self.grid = spectrum.shape[:-1], spectrum.shape[-3:-1]
        if self.mixing is not None:
            spectrum = spectrum @ self.mixing.astype(spectrum.real.dtype)
        self.flat = spectrum.reshape(-1, self.grid[0] * self.grid[1], spectrum.shape[-1])
        self.out = np.empty(self.flat.shape, complex)  # (B, H' W'', r)

    def __call__(
        self, normal: NormalFactors, start: int, stop: int, made: Made | None = None
    ) -> None:
        """Solve the frequency rows ``start:stop``."""
        at = slice(start * self.grid[1], stop * self.grid[1])
        rhs = self.flat[:, at].transpose(1, 2, 0)  # (f, r, B), made complex128 by the solve
        self.out[:, at] = normal.solve_outputs(start, stop, rhs).transpose(2, 0, 1)

    def fallback(self, normal: NormalFactors) -> None:
        """``M^+ ŷ`` where the SVD solved the block."""
        self.at = normal.fallback_at
        if len(self.at):
            rhs = self.flat[:, self.at].transpose(1, 2, 0).astype(complex)  # (f, r, B)
            self.out[:, self.at] = 0
            self.solved = normal.fallback_rows.swapaxes(1, 2) @ rhs

    def result(self) -> OutputSolution:  # type: ignore[override]
        """``u`` ``(…, H', W'', C_out)`` and the SVD's solutions."""
        out = self.out if self.mixing is None else self.out @ self.mixing.T
        return OutputSolution(out.reshape(*self.lead, out.shape[-1]), self.at, self.solved)
