"""Blocks, taps, work buffers and products shared by the GEMM kernels (internal).

See :mod:`deconv_gui.core._gemm` for the method.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import blas

from . import threads
from .geometry import ConvGeometry

__all__ = [
    "BLOCK_BYTES",
    "GATHERED_BLOCK_BYTES",
    "KEEP_BYTES",
    "MATRIX_BYTES",
    "POOLED_MATRIX_BYTES",
    "SPLIT_BYTES",
    "Tap",
    "buffer",
    "gathered_tasks",
    "gemm_of",
    "group_weights",
    "product",
    "taps",
    "tasks",
    "zero_columns",
]

#: Target bytes of one block's output (or input, for the adjoint) buffer, of one group
#: where the products run per group: large enough for BLAS to share each product among
#: its threads (and few products: each wakes BLAS's threads), small enough for the caches.
BLOCK_BYTES = 1 << 19
#: With BLAS threads of their own, the gathered forward passes use blocks of this size:
#: half as many products, each of which wakes BLAS's threads (the 224²×3 → 64 7×7 layer's
#: float32 forward 10-15% faster than on ``BLOCK_BYTES``, minima of 300 runs at load 5).
GATHERED_BLOCK_BYTES = 2 * BLOCK_BYTES
#: The forward pass's gathered matrix stays below this many bytes (it is ``f_h f_w``
#: times the block's input): fewer, larger products; each multi-threaded BLAS call costs
#: a wake-up of BLAS's threads, which on a loaded machine took milliseconds.
MATRIX_BYTES = 1 << 23
#: When the kernel threads share the blocks (BLAS on one thread), each block's gathered
#: matrix stays below this many bytes: it is written and read back while it is still in
#: the thread's L2 cache (CPU time, one thread, against ``MATRIX_BYTES``: the 56²×64 3×3
#: stride-1 layer with 2 groups 22 % less, the 56²×128 stride-2 one with 4 groups 9 %, the
#: ungrouped stride-2 layers of ``bench_operator.py`` 3-8 %).
POOLED_MATRIX_BYTES = 1 << 20
#: A pooled pass splits an image whose output has at least this many bytes in two blocks
#: or more (one per thread): below, one thread's block costs less than the handover.
SPLIT_BYTES = 1 << 16
#: Work buffers up to this size are kept per thread for the next call: a fresh multi-
#: megabyte buffer costs a page fault per 4 KiB, which on a loaded machine took longer
#: than the products themselves.
KEEP_BYTES = 1 << 25
_local = threading.local()


@dataclass(frozen=True)
class Tap:
    i: int
    j: int
    phase: tuple[int, int]  # (r, v)
    b: int
    a: int


def taps(geom: ConvGeometry) -> list[Tap]:
    (sh, sw), (pt, pl), (dh, dw) = geom.stride, geom.padding, geom.dilation
    fh, fw = geom.filter_shape[:2]
    taps = []
    for i in range(fh):
        b, r = divmod(dh * i - pt, sh)
        for j in range(fw):
            a, v = divmod(dw * j - pl, sw)
            taps.append(Tap(i, j, (r, v), b, a))
    return taps


def gemm_of(dtype: np.dtype) -> Any:
    return blas.sgemm if dtype == np.float32 else blas.dgemm


def group_weights(
    w: np.ndarray, taps: list[Tap], groups: int, transpose: bool = False
) -> list[list[np.ndarray]]:
    """Per tap and group, ``W[i, j]`` ``(C_in/g, C_out/g)`` (or its transpose) in Fortran
    order, as BLAS takes it."""
    cgo = w.shape[3] // groups
    out = []
    for t in taps:
        per_group = []
        for g in range(groups):
            block = w[t.i, t.j, :, g * cgo : (g + 1) * cgo]
            per_group.append(np.asfortranarray(block.T if transpose else block))
        out.append(per_group)
    return out


def buffer(key: object, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A work array of ``shape`` (not initialised), reusing this thread's buffer ``key``
    when it is large enough."""
    size = int(np.prod(shape))
    cache: dict[object, np.ndarray] = _local.__dict__.setdefault("buffers", {})
    kept = cache.get((key, dtype))
    if kept is None or kept.size < size:
        kept = np.empty(size, dtype)
        if size * kept.itemsize <= KEEP_BYTES:
            cache[(key, dtype)] = kept
    return kept[:size].reshape(shape)


def zero_columns(buf: np.ndarray, start: int, stop: int) -> None:
    """Zero the columns (axis -2) of ``buf`` outside ``start:stop``: its zero border."""
    buf[..., :start, :] = 0
    buf[..., stop:, :] = 0


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray, pooled: bool) -> None:
    """``out = a @ b`` for C-contiguous matrices.

    With BLAS on one thread, blocks run in the pool and numpy's ``matmul`` (which releases
    the GIL) multiplies; otherwise BLAS's threads share the product, through scipy's
    ``gemm`` as in the adjoint (numpy's bundled OpenBLAS kept spinning between the many
    small products of the padding modes' border strips).
    """
    if pooled:
        np.matmul(a, b, out=out)
    else:
        gemm_of(a.dtype)(1.0, b.T, a.T, 0.0, out.T, overwrite_c=1)


def tasks(
    n_rows: int,
    bytes_per_row: int,
    n_images: int,
    matrix_row: int = 0,
    pooled: bool = False,
    block_bytes: int = BLOCK_BYTES,
) -> list[tuple[int, int, int]]:
    """(image, first row, stop row) blocks of about ``block_bytes`` (``bytes_per_row`` a
    row), whose gathered matrix (``matrix_row`` bytes a row) fits in ``MATRIX_BYTES``
    (``POOLED_MATRIX_BYTES`` when ``pooled``), all of about the same size.

    ``pooled`` (the blocks are shared among the kernel threads): an even number of blocks
    per image, at least two from ``SPLIT_BYTES``, so that two threads get the same work.
    """
    step = block_bytes // max(1, bytes_per_row)
    if matrix_row:
        step = min(step, (POOLED_MATRIX_BYTES if pooled else MATRIX_BYTES) // matrix_row)
    n_blocks = -(-n_rows // max(1, min(n_rows, step)))
    if pooled and (n_blocks > 1 or n_rows * bytes_per_row >= SPLIT_BYTES):
        n_blocks += n_blocks % 2
    step = -(-n_rows // n_blocks)
    starts = range(0, n_rows, step)
    return [(n, r0, min(r0 + step, n_rows)) for n in range(n_images) for r0 in starts]


def gathered_tasks(
    xb: np.ndarray, geom: ConvGeometry, row_numbers: int, pooled: bool | None = None
) -> tuple[bool, list[tuple[int, int, int]], int]:
    """``(pooled, tasks, step)`` of a forward pass that gathers each block's matrix
    (``row_numbers`` numbers per output pixel) and multiplies it into the output's rows.

    ``pooled`` (by default when BLAS runs on one thread): the blocks are shared among the
    kernel threads, :data:`BLOCK_BYTES` each (:data:`GATHERED_BLOCK_BYTES` otherwise);
    ``step`` the most rows of a block.
    """
    h_out, w_out, c_out = geom.output_shape
    if pooled is None:
        pooled = threads.blas_threads() == 1
    matrix_row = w_out * row_numbers * xb.itemsize
    block = BLOCK_BYTES if pooled else GATHERED_BLOCK_BYTES
    blocks = tasks(h_out, w_out * c_out * xb.itemsize, xb.shape[0], matrix_row, pooled, block)
    return pooled, blocks, max(t[2] - t[1] for t in blocks)
