"""Reconstructions with a prior: what to put into the null space that ``A⁺`` leaves at zero.

- :mod:`.tv`: total variation, ``argmin ½‖A x − (y − b)‖² + λ TV(x)`` (optionally ``x ≥ 0``);
- :mod:`.nonneg`: non-negative (Tikhonov) least squares;
- :mod:`.richardson_lucy`: the multiplicative EM iteration for non-negative data;
- :mod:`.choose_reg`: the Tikhonov weight by the discrepancy principle or GCV;
- :mod:`.choose_lam`: the TV weight λ by the discrepancy principle;
- :mod:`.base`: what they share (validation into one operator, the solver base, the report).
"""

from __future__ import annotations

from .base import PriorReport, PriorResult
from .choose_lam import LamChoice, choose_tv_lam
from .choose_reg import RegChoice, choose_reg
from .nonneg import nonneg_reconstruction
from .richardson_lucy import kl_divergence, richardson_lucy
from .tv import total_variation, tv_reconstruction

__all__ = [
    "LamChoice",
    "PriorReport",
    "PriorResult",
    "RegChoice",
    "choose_reg",
    "choose_tv_lam",
    "kl_divergence",
    "nonneg_reconstruction",
    "richardson_lucy",
    "total_variation",
    "tv_reconstruction",
]
