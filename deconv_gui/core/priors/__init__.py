"""Reconstructions with a prior: what to put into the null space that ``A⁺`` leaves at zero.

The regularisers and the rules for their weights; the iterations themselves (FISTA,
Richardson–Lucy) are in :mod:`deconv_gui.core.solvers`.

- :mod:`.tv`: total variation, ``argmin ½‖A x − (y − b)‖² + λ TV(x)`` (optionally
  ``x ≥ 0``), with its proximal map in :mod:`.tv_prox`;
- :mod:`.nonneg`: non-negative (Tikhonov) least squares;
- :mod:`.richardson_lucy`: the multiplicative EM iteration for non-negative data;
- :mod:`.choose_reg`: the Tikhonov weight by the discrepancy principle or GCV;
- :mod:`.choose_lam`: the TV weight λ by the discrepancy principle;
- :mod:`.base`: what they share (validation into one operator, the shared docs).
"""

from __future__ import annotations

from ..deprecation import module_aliases
from ..solvers import Reconstruction, SolverReport
from .choose_lam import LamChoice, choose_tv_lam
from .choose_reg import RegChoice, choose_reg
from .nonneg import nonneg_reconstruction
from .richardson_lucy import kl_divergence, richardson_lucy
from .tv import total_variation, tv_reconstruction

__all__ = [
    "LamChoice",
    "RegChoice",
    "choose_reg",
    "choose_tv_lam",
    "kl_divergence",
    "nonneg_reconstruction",
    "richardson_lucy",
    "total_variation",
    "tv_reconstruction",
]

#: The names the merged report and result had before (``old: (new, object)``).
OLD_NAMES = {
    "PriorReport": ("SolverReport", SolverReport),
    "PriorResult": ("Reconstruction", Reconstruction),
}
__getattr__ = module_aliases(__name__, OLD_NAMES)
