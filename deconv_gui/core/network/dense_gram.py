"""The whole of ``J Jᵀ`` as the preconditioner of a prefix with a small output.

Deep in a network the output is small (8×8×32 past a ResNet's first block on a 64²
image) and ``J`` is at its worst: the ReLU masks and the max-pool's switches compound, so
``κ(J)`` reaches 10⁴ and CG on ``J Jᵀ`` loses its orthogonality; it needs far more
iterations than ``J Jᵀ`` has rows (3334 on 512 rows at 32², dense arithmetic, block-Jacobi
preconditioned; 3000 and 1.8·10⁻⁴ short at 64²). There ``J Jᵀ`` itself is cheaper:
``m`` products with ``J Jᵀ`` (its columns, by unit impulses in batches), one Cholesky
factorisation of ``J Jᵀ + (reg + δ) I``, and PCG with it converges in a few iterations.

``δ`` is :data:`~.block_jacobi.BLOCK_FLOOR` times the largest diagonal value: ``J Jᵀ`` is
singular when ``J`` has fewer independent rows than units (masked units, a bottleneck),
and the shift keeps the factor positive definite. The preconditioner is symmetric
positive definite, so ``J⁺`` is the same minimum-norm answer (``x = Jᵀz``), and only
the speed depends on it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.linalg

from ..solvers.base import SolveCancelled, is_cancelled
from .block_jacobi import BLOCK_FLOOR, probe_batch

__all__ = ["DENSE_SHARE", "DENSE_UNITS", "DenseGram", "dense_pays"]

#: At most this many output units (the matrix's bytes ``8 m²``: 32 MB; its factorisation
#: well under a second).
DENSE_UNITS = 2048
#: The whole matrix instead of the blocks when it costs at most this many times the blocks'
#: probes (they still leave thousands of iterations where it leaves a few).
DENSE_SHARE = 4


def dense_pays(lin: Any, blocks: int) -> bool:
    """Whether to build :class:`DenseGram` rather than the blocks, whose probes cost
    ``blocks`` products (0: there are none).

    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.network import Conv, Network
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 1, 2)), input_shape=(8, 8, 1), stride=2)
    >>> dense_pays(Network([Conv(op)]).linearize(np.zeros((8, 8, 1))), 8)
    True
    """
    units = math.prod(lin.output_shape)
    return units <= DENSE_UNITS and (blocks == 0 or units <= DENSE_SHARE * blocks)


class DenseGram:
    """``r ↦ (J Jᵀ + (reg + δ) I)⁻¹ r`` from the whole matrix (see the module).

    Parameters
    ----------
    lin : Linearization
        ``J`` at the image (typed loosely: :mod:`.chain` calls this module).
    reg : float
        The solve's Tikhonov weight.
    cancel : callable or threading.Event, optional
        Checked between batches of columns (:class:`SolveCancelled`).

    Examples
    --------
    On a small output it is ``(J Jᵀ)⁻¹`` up to its shift: one application solves.

    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.network import Conv, MaxPool, Network, ReLU
    >>> rng = np.random.default_rng(0)
    >>> op = ConvOperator.from_weights(rng.standard_normal((3, 3, 2, 3)), input_shape=(6, 6, 2))
    >>> lin = Network([Conv(op), ReLU(), MaxPool(2)]).linearize(rng.random((6, 6, 2)))
    >>> r = lin.apply(rng.standard_normal((6, 6, 2)))
    >>> bool(np.allclose(lin.apply(lin.apply_adjoint(DenseGram(lin)(r))), r, atol=1e-6))
    True
    """

    label = "the whole J Jᵀ"

    def __init__(self, lin: Any, reg: float = 0.0, cancel: Any = None) -> None:
        gram = _gram(lin, cancel)
        gram += gram.T
        gram *= 0.5
        top = float(np.diagonal(gram).max(initial=0.0))
        for share in (BLOCK_FLOOR, 1e-4):  # the second if rounding left it indefinite
            shifted = gram + (reg + (share * top if top > 0 else 1.0)) * np.eye(len(gram))
            try:
                self.factor = scipy.linalg.cho_factor(shifted, check_finite=False)
                break
            except np.linalg.LinAlgError:
                continue
        else:
            raise np.linalg.LinAlgError("J Jᵀ is not positive semi-definite")

    def __call__(self, residual: np.ndarray) -> np.ndarray:
        """Apply it to an output-space array ``(H_out, W_out, C_out)``."""
        flat = scipy.linalg.cho_solve(self.factor, residual.ravel(), check_finite=False)
        return flat.reshape(residual.shape)


def _gram(lin: Any, cancel: Any) -> np.ndarray:
    """``J Jᵀ`` ``(m, m)``, a batch of columns at a time."""
    units = math.prod(lin.output_shape)
    batch = probe_batch(lin, units)
    gram = np.empty((units, units))
    for start in range(0, units, batch):
        if is_cancelled(cancel):
            raise SolveCancelled("the preconditioner's set-up was cancelled")
        count = min(batch, units - start)
        probes = np.zeros((count, units))
        probes[np.arange(count), start + np.arange(count)] = 1.0
        columns = lin.apply(lin.apply_adjoint(probes.reshape(count, *lin.output_shape)))
        gram[:, start : start + count] = columns.reshape(count, units).T
    return gram
