"""The frequencies of a per-frequency solve that the normal equations cannot solve
exactly (rank-deficient or ill-conditioned blocks: a filter's zeros, the cut): their SVD.

:func:`~deconv_gui.core.solvers.polyphase_normal.normal_factors` finds them while it
factorises (the Cholesky factor of ``G`` fails, or its condition bound is too large) and
hands them here at the end, where what is kept is decided against the exact ``σ_max``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import lapack
from .base import CancelCheck, SolveCancelled, is_cancelled
from .periodic import BlockRows

__all__ = ["batched_svd", "svd_fall_back"]

#: Frequencies per batched SVD (of those that fall back to it): the cancel check runs
#: between batches.
_SVD_BATCH = 8192


def svd_fall_back(
    blocks: BlockRows,
    weight: np.ndarray,
    pieces: list[tuple[int, dict[str, Any]]],
    reg_cutoff: tuple[float, float],
    cancel: CancelCheck | None,
) -> tuple[int, tuple[np.ndarray, np.ndarray] | None]:
    """The rank over all frequencies (``weight``: :func:`.periodic.mirror_weight`), and
    the SVD of the frequencies not solved through ``G`` (``pieces``: each piece's
    ``safe`` mask and unsafe ``blocks``), cut against the exact ``σ_max``: their flat
    indices and their rows ``(M^+)ᵀ`` (None: every frequency was solved through ``G``)."""
    (reg, cutoff), (c_out, sh, n_w, sw, c_in) = reg_cutoff, blocks.shape
    k = min(c_out, sh * sw * c_in)
    rank = 0
    where, stack = [], []
    for start, piece in pieces:
        safe = piece["safe"]
        rank += k * int((safe.reshape(-1, n_w) * weight).sum())
        where.append(np.flatnonzero(~safe) + start * n_w)
        stack.append(piece["blocks"])
    at = np.concatenate(where)
    if not len(at):
        return rank, None
    lower = max((p["lower"] for _, p in pieces), default=0.0)
    upper = max((p["upper"] for _, p in pieces), default=0.0)
    u, s, vh = batched_svd(np.concatenate(stack), cancel)
    top = max(lower, float(s.max()))
    upper = max(upper, float(s.max()))
    if ((s > cutoff * top) != (s > cutoff * upper)).any():  # the exact σ_max decides
        top = max(float(s.max()), _largest(blocks, pieces, top))
    keep = s > cutoff * top if top > 0 else np.zeros(s.shape, bool)
    gain = np.where(keep, s / np.where(keep, s * s + reg, 1.0), 0.0)
    # (M^+)ᵀ = conj(U diag(gain) Vᴴ) by one batched product: 0.13 s for the 131k blocks of
    # a 1 MP stride-2 layer, against 0.5 s for the einsum
    rows = np.conjugate(np.matmul(u * gain[:, None, :], vh))
    return rank + int((keep.sum(axis=1) * weight[at % n_w]).sum()), (at, rows)


def _largest(blocks: BlockRows, pieces: list[tuple[int, dict[str, Any]]], above: float) -> float:
    """The exact ``σ_max`` over the frequencies solved through ``G`` whose bound
    ``√tr(G)`` exceeds ``above``."""
    c_out, sh, n_w, sw, c_in = blocks.shape
    top = 0.0
    for start, piece in pieces:
        candidates = piece["safe"] & (np.sqrt(piece["trace"]) > above)
        if not candidates.any():
            continue
        stop = start + len(piece["trace"]) // n_w
        m = blocks(start, stop).transpose(0, 3, 1, 2, 4, 5)  # (k, W'', C_out, s_h, s_w, C_in)
        m = m.reshape(-1, c_out, sh * sw * c_in)[candidates]
        top = max(top, float(lapack.svd(m, compute_uv=False)[:, 0].max()))
    return top


def batched_svd(
    blocks: np.ndarray, cancel: CancelCheck | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The thin SVD of every block ``(…, C_out, n)``, in batches of frequencies with a
    cancel check between."""
    flat = blocks.reshape(-1, *blocks.shape[-2:])
    m = min(flat.shape[-2:])
    u = np.empty((len(flat), flat.shape[1], m), complex)
    s = np.empty((len(flat), m))
    vh = np.empty((len(flat), m, flat.shape[2]), complex)
    for start in range(0, len(flat), _SVD_BATCH):
        if is_cancelled(cancel):
            raise SolveCancelled("the per-frequency factorisation was cancelled")
        part = slice(start, start + _SVD_BATCH)
        u[part], s[part], vh[part] = lapack.svd(flat[part], full_matrices=False)
    lead = blocks.shape[:-2]
    return u.reshape(*lead, *u.shape[1:]), s.reshape(*lead, m), vh.reshape(*lead, *vh.shape[1:])
