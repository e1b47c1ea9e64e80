"""Solvers for the pseudo-inverse: the iterative solver and its FFT preconditioner.

- :mod:`.pinv`: :class:`PseudoInverseSolver` (preconditioned CG on ``A Aᵀ``, switching
  to CGLS when ``y`` is outside the range of ``A``), its report, progress and cancel;
- :mod:`.preconditioner`: the symbol of ``A Aᵀ`` on the output grid and
  :class:`SymbolPreconditioner`, which inverts it by FFT.

The solver itself knows nothing about convolutions (it takes the operator and its
adjoint as callables); :func:`~deconv_gui.core.make_pinv_solver` builds one for a
:class:`~deconv_gui.core.ConvOperator`.
"""

from __future__ import annotations

from .pinv import (
    CancelCheck,
    IterativeSolver,
    NotConvergedWarning,
    ProgressCallback,
    PseudoInverseSolver,
    SolveCancelled,
    SolverReport,
    is_cancelled,
)
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
    "is_cancelled",
    "periodic_symbol",
    "stationary_kernel",
]
