"""A preconditioner for ``J Jᵀ`` of a network prefix, from its last convolution's symbol.

A prefix ends in the chosen conv layer ``C``: ``J = C M`` with ``M`` the chain before it
(masks, switches, convolutions), so ``J Jᵀ = C (M Mᵀ) Cᵀ``. Taking ``M Mᵀ`` as a
multiple of the identity leaves ``C Cᵀ``, stationary on the output grid, inverted by
FFT: ``r ↦ Pᵀ F⁻¹ (K̂ + δ I)⁻¹ F P r`` with ``P`` the zero-padding to a periodic grid
and ``K̂`` the symbol of ``C Cᵀ`` (symmetric positive definite for ``δ > 0``). Its floor is a large
share of the symbol's top, not the single layer's ``10⁻⁶``: ``M Mᵀ`` is far from the
identity (masks, switches, the earlier convolutions), and ``C Cᵀ`` is singular when
``C`` has more outputs than inputs (32 of 16 channels), so the preconditioner only
evens out ``C``'s frequency response instead of inverting it. Measured on the
benchmark's three-conv prefix (conv, ReLU, strided conv, ReLU, max-pool, conv; CG
iterations to a relative residual of 10⁻⁶): at 112², 16 channels, 74 without, 129 with
a floor of 0.01, 52 with 0.1, 46 with 0.3, 52 with 1, 59 with 3; at 112², 8 channels,
70 without, 47 with 0.3; at 224², 16 channels, 71 without, 45 with 0.3, 50 with 1; at
112², 32 channels (a last layer of 64), 125 without, 75 with 0.3.

A prefix that is one convolution, alone or with its activation, has ``M = I``: the
layer's own near-exact preconditioner of ``A Aᵀ`` suits a wide ``A``, but a tall one
(more outputs than inputs: a ResNet stem, 7×7 stride 2, 3 → 16) has a singular ``A Aᵀ``,
and inverting it down to the single layer's ``10⁻⁶`` floor blows up the directions the
ReLU's mask brings back (2145 iterations at 64², plain CG 293). A floor of
:data:`TALL_FLOOR` (0.01) of the top gives 105 (111 at 128²; 125 with 0.1, 159 with
0.3); without the ReLU, 46 instead of 91 with :data:`PREFIX_FLOOR` (56 with 0.001).

Only the full matrix symbol helps: its diagonal alone (each channel on its own) gave 67
iterations for every floor at 112². The set-up inverts the ``C_out × C_out`` matrices
at once (LAPACK, batched) and skips the preconditioner (plain CG) when they would cost
more than :data:`MAX_SETUP_FLOPS` or :data:`MAX_BYTES`.

Any symmetric positive definite preconditioner leaves ``J⁺`` as it is (CG's answer is
the same); a poor one only costs iterations.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.fft

from ..operator import ConvOperator
from ..solvers.base import SolveCancelled, is_cancelled
from ..solvers.preconditioner import (
    SymbolPreconditioner,
    diagonal_symbol,
    periodic_symbol,
    symbol_grid,
)
from .layers import Conv, LeakyReLU

__all__ = [
    "MAX_BYTES",
    "MAX_SETUP_FLOPS",
    "PREFIX_FLOOR",
    "TALL_FLOOR",
    "ActivationPreconditioner",
    "PrefixPreconditioner",
    "prefix_preconditioner",
]

#: The floor of the inverted symbol, as a share of its largest diagonal value.
PREFIX_FLOOR = 0.3
#: The floor for a prefix that is one tall convolution (more outputs than inputs), alone
#: or with its activation: ``M = I`` there, and only ``C Cᵀ``'s null space needs it.
TALL_FLOOR = 0.01
#: The set-up's budget: ``frequencies × C_out³`` (the batched inverses; 56² × 64
#: channels is 5·10⁸, under a second) and the inverse symbol's bytes.
MAX_SETUP_FLOPS = 2e9
MAX_BYTES = 256 * 2**20
#: Frequencies inverted per batch (the cancel check runs between batches).
_BATCH = 512


class PrefixPreconditioner:
    """``r ↦ Pᵀ F⁻¹ (K̂ + δ I)⁻¹ F P r`` for the convolution ``op`` (see the module).

    Parameters
    ----------
    op : ConvOperator
        The prefix's last convolution.
    shift : float
        ``δ``, added to the symbol's diagonal (> 0).
    cancel : callable or threading.Event, optional
        Checked between batches of the set-up.
    """

    def __init__(self, op: ConvOperator, shift: float, cancel: Any = None) -> None:
        self.grid = symbol_grid(op)
        self.output_hw = op.geometry.output_shape[:2]
        symbol = periodic_symbol(op, self.grid)
        c_out = symbol.shape[-1]
        flat = symbol.reshape(-1, c_out, c_out)
        flat[:, np.arange(c_out), np.arange(c_out)] += shift
        for start in range(0, len(flat), _BATCH):
            if is_cancelled(cancel):
                raise SolveCancelled("the preconditioner's set-up was cancelled")
            flat[start : start + _BATCH] = np.linalg.inv(flat[start : start + _BATCH])
        self.inverse = symbol

    def __call__(self, residual: np.ndarray) -> np.ndarray:
        """Apply it to an output-space array ``(H_out, W_out, C_out)``."""
        spectrum = scipy.fft.rfft2(residual, s=self.grid, axes=(0, 1))
        spectrum = np.matmul(self.inverse, spectrum[..., None])[..., 0]
        out = scipy.fft.irfft2(spectrum, s=self.grid, axes=(0, 1))
        h, w = self.output_hw
        return np.ascontiguousarray(out[:h, :w])


def prefix_preconditioner(
    network: Any,
    *,
    reg: float = 0.0,
    floor: float = PREFIX_FLOOR,
    cancel: Any = None,
    states: Any = None,
) -> PrefixPreconditioner | ActivationPreconditioner | None:
    """The symbol preconditioner of the prefix's last convolution; None (plain CG) when
    the prefix does not end in one (a transposed convolution) or its symbol would cost
    more than :data:`MAX_SETUP_FLOPS` or :data:`MAX_BYTES` to invert (many channels).

    A prefix that ends in a convolution and its (leaky) ReLU gets that convolution's,
    scaled by the activation's slopes (:class:`ActivationPreconditioner`, given the
    linearisation's ``states``); for the layer alone (``[Conv, activation]``) the layer's
    own :class:`~deconv_gui.core.solvers.preconditioner.SymbolPreconditioner`.

    Parameters
    ----------
    network : Network
        The prefix (typed loosely: :mod:`.chain` imports this module).
    reg : float
        The solve's Tikhonov weight (added to the floor).
    floor : float
        The floor's share of the symbol's top diagonal value (see the module).
    cancel : callable or threading.Event, optional
        Checked during the set-up.
    states : list, optional
        The linearisation's states, one per layer (the activation's mask is the last).
    """
    layers = network.layers
    last = layers[-1]
    # a Conv layer may hold a transposed conv's operator (a decoder layer with its
    # activation, core.network.single): its A Aᵀ is not the stationary symbol's
    if isinstance(last, Conv):
        if last.op.transposed:
            return None
        if len(layers) == 1 and _tall(last.op):  # J = A exactly, A Aᵀ singular
            return _conv_preconditioner(last.op, reg, TALL_FLOOR, cancel)
        return _conv_preconditioner(last.op, reg, floor, cancel)
    if not (isinstance(last, LeakyReLU) and len(layers) > 1 and isinstance(layers[-2], Conv)):
        return None
    if states is None or layers[-2].op.transposed:
        return None
    op = layers[-2].op
    inner: Any
    if len(layers) == 2 and not _tall(op):  # J = D A exactly: the layer's own (A Aᵀ)⁻¹
        inner = SymbolPreconditioner(op, reg, cancel)
    else:
        inner = _conv_preconditioner(op, reg, TALL_FLOOR if len(layers) == 2 else floor, cancel)
        if inner is None:
            return None
    return ActivationPreconditioner(inner, op, last.gain(states[-1]), reg)


def _tall(op: ConvOperator) -> bool:
    """More outputs than inputs (a 3 → 16 stem at stride 2): ``A Aᵀ`` is singular."""
    return math.prod(op.geometry.output_shape) > math.prod(op.geometry.input_shape)


def _conv_preconditioner(
    op: ConvOperator, reg: float, floor: float, cancel: Any
) -> PrefixPreconditioner | None:
    grid = symbol_grid(op)
    c_out = op.geometry.output_shape[2]
    frequencies = grid[0] * (grid[1] // 2 + 1)
    if frequencies * c_out**3 > MAX_SETUP_FLOPS or frequencies * c_out**2 * 16 > MAX_BYTES:
        return None
    kernel_top = _diagonal_top(op)
    if kernel_top <= 0:
        return None
    return PrefixPreconditioner(op, reg + floor * kernel_top, cancel)


class ActivationPreconditioner:
    """For ``J = D C`` (a convolution ``C`` and its activation's slopes ``D``):
    ``r ↦ S P S r`` on the units the activation passes, ``r / (reg or 1)`` on the others.

    ``P`` approximates ``(C Cᵀ + reg I)⁻¹``; ``S`` is diagonal, ``s = √((k + reg) /
    (g² k + reg))`` with ``g`` a unit's slope and ``k`` its output channel's ``‖w‖²``
    (the diagonal of ``C Cᵀ``), so ``S (J Jᵀ + reg I) S`` has ``C Cᵀ + reg I``'s diagonal:
    with ``reg = 0``, ``S = D⁻¹`` and ``P (C Cᵀ)`` is the preconditioned layer itself,
    however small the leaky slope. A unit whose slope is 0 (a ReLU's) has a zero row in
    ``J``: its block of ``J Jᵀ + reg I`` is ``reg`` times the identity, inverted exactly
    (any value when ``reg = 0``: ``r`` is 0 there for a ``y`` in the range). Symmetric
    positive definite, so ``J⁺`` is what it is without it.

    Parameters
    ----------
    inner : callable
        ``P``, on the conv's output space.
    op : ConvOperator
        The convolution.
    gain : numpy.ndarray
        The activation's slope at each output unit (1, the leaky slope, or 0).
    reg : float
        The solve's Tikhonov weight.
    """

    def __init__(self, inner: Any, op: ConvOperator, gain: np.ndarray, reg: float = 0.0):
        self.inner = inner
        weights = np.asarray(op.weights, dtype=np.float64)
        k = np.sum(weights**2, axis=(0, 1, 2))  # per output channel (the weights' last axis)
        self.alive = gain > 0
        with np.errstate(divide="ignore"):
            scale = np.sqrt((k + reg) / (gain**2 * k + reg))
        self.scale = np.where(self.alive, scale, 0.0)
        self.dead = 1.0 / (reg or 1.0)

    def __call__(self, residual: np.ndarray) -> np.ndarray:
        """Apply it to an output-space array ``(H_out, W_out, C_out)``."""
        out = self.scale * self.inner(self.scale * residual)
        if not self.alive.all():
            out = np.where(self.alive, out, residual * self.dead)
        return out


def _diagonal_top(op: ConvOperator) -> float:
    """The largest diagonal value of the symbol (each output channel's own peak)."""
    return float(diagonal_symbol(op, symbol_grid(op)).max())
