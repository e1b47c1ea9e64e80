"""Solvers for the pseudo-inverse: the iterative solver and its FFT preconditioner.

- :mod:`.base`: what every solver shares: progress, cancel, :class:`SolverReport`, the
  ``setup`` / ``step`` / ``run`` / ``finalize`` loop;
- :mod:`.pinv`: :class:`PseudoInverseSolver` (preconditioned CG on ``A Aᵀ``, switching
  to CGLS when ``y`` is outside the range of ``A``);
- :mod:`.preconditioner`: the symbol of ``A Aᵀ`` on the output grid and
  :class:`SymbolPreconditioner`, which inverts it by FFT.

The solver itself knows nothing about convolutions (it takes the operator and its
adjoint as callables); :func:`~deconv_gui.core.make_pinv_solver` builds one for a
:class:`~deconv_gui.core.ConvOperator`.
"""

from __future__ import annotations

from .base import (
    CancelCheck,
    IterativeSolver,
    NotConvergedWarning,
    ProgressCallback,
    SolveCancelled,
    SolverReport,
    deliver,
    is_cancelled,
)
from .pinv import PseudoInverseSolver
from .preconditioner import SymbolPreconditioner, periodic_symbol, stationary_kernel

__all__ = [
    "CancelCheck",
    "IterativeSolver",
    "NotConvergedWarning",
    "ProgressCallback",
    "PseudoInverseSolver",
    "SolveCancelled",
    "SolverReport",
    "SymbolPreconditioner",
    "deliver",
    "is_cancelled",
    "periodic_symbol",
    "stationary_kernel",
]
