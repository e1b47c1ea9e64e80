"""The solvers: the pseudo-inverse (dense SVD, CG/CGLS), FISTA and Richardson–Lucy.

- :mod:`.base`: what every solver shares: :class:`Callbacks` (progress, cancel and
  PyLops' ``on_setup`` / ``on_step`` / ``on_finalize`` hooks), the one
  :class:`SolverReport`, the one :class:`Reconstruction` ``(image, report)``, the
  ``setup`` / ``step`` / ``run`` / ``finalize`` loop of :class:`IterativeSolver`;
- :mod:`.pinv`: :class:`PseudoInverseSolver` (preconditioned CG on ``A Aᵀ``, switching
  to CGLS when ``y`` is outside the range of ``A``);
- :mod:`.pseudo_inverse`: :func:`solve_pinv` (dense where that is fast, else the
  iterative solver) and :func:`make_pinv_solver` for a ready operator;
- :mod:`.dense`: the SVD solve of the explicit matrix;
- :mod:`.preconditioner`: the symbol of ``A Aᵀ`` on the output grid and
  :class:`SymbolPreconditioner`, which inverts it by FFT;
- :mod:`.first_order`: the base of the first-order solvers (relative-change stopping)
  and the bound of ``‖A‖²`` that sets their step;
- :mod:`.fista`: :class:`FistaSolver` (accelerated proximal gradient with restart), which
  the regularisers of :mod:`deconv_gui.core.priors` complete with their proximal map;
- :mod:`.richardson_lucy`: :class:`RichardsonLucySolver`.

:class:`PseudoInverseSolver` knows nothing about convolutions (it takes the operator
and its adjoint as callables); the others take an operator with ``matvec`` and ``rmatvec``.
"""

from __future__ import annotations

from .base import (
    Callbacks,
    CancelCheck,
    IterativeSolver,
    NotConvergedWarning,
    ProgressCallback,
    Reconstruction,
    SolveCancelled,
    SolverReport,
    as_callbacks,
    deliver,
    in_steps,
    is_cancelled,
)
from .first_order import FirstOrderSolver, operator_norm_bound
from .fista import FistaSolver, initial_image
from .pinv import PseudoInverseSolver
from .preconditioner import SymbolPreconditioner, periodic_symbol, stationary_kernel
from .pseudo_inverse import PINV_METHODS, make_pinv_solver, solve_pinv
from .richardson_lucy import RichardsonLucySolver, kl_divergence

__all__ = [
    "PINV_METHODS",
    "Callbacks",
    "CancelCheck",
    "FirstOrderSolver",
    "FistaSolver",
    "IterativeSolver",
    "NotConvergedWarning",
    "ProgressCallback",
    "PseudoInverseSolver",
    "Reconstruction",
    "RichardsonLucySolver",
    "SolveCancelled",
    "SolverReport",
    "SymbolPreconditioner",
    "as_callbacks",
    "deliver",
    "in_steps",
    "initial_image",
    "is_cancelled",
    "kl_divergence",
    "make_pinv_solver",
    "operator_norm_bound",
    "periodic_symbol",
    "solve_pinv",
    "stationary_kernel",
]
