"""Richardson–Lucy deconvolution for non-negative filters and data (early stopping as prior).

The iteration itself is :class:`~deconv_gui.core.solvers.richardson_lucy.RichardsonLucySolver`
(its module explains the method); this is the convenience function that validates the
arguments into one operator and the centred data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..keywords import split_options
from ..solvers import Reconstruction
from ..solvers.richardson_lucy import RichardsonLucySolver, kl_divergence
from .base import check_count, deliver, prepare, shared_doc

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import SolveKeywords

__all__ = ["RichardsonLucySolver", "kl_divergence", "richardson_lucy"]

DEFAULT_N_ITER = 50


@shared_doc
def richardson_lucy(
    y: Any,
    weights: Any,
    bias: Any = None,
    *,
    n_iter: int = DEFAULT_N_ITER,
    **options: Unpack[SolveKeywords],
) -> Reconstruction:
    """Richardson–Lucy deconvolution: ``n_iter`` steps of ``x ← x ⊙ Aᵀ(y ⊘ A x) ⊘ Aᵀ1``.

    The weights and the data ``y − b`` must be non-negative.

    Parameters
    ----------
    %(problem)s
    n_iter : int
        Number of iterations (>= 1); fewer iterations regularise more.
    %(monitor)s
    %(report)s

    The report's ``objective`` is ``KL(y − b ‖ A x)``.

    Returns
    -------
    Reconstruction
        ``image`` (non-negative, of ``input_shape``, in the dtype of ``y``) and the
        solve's :class:`~deconv_gui.core.SolverReport` (its ``objective`` is
        ``KL(y − b ‖ A x)``).

    Raises
    ------
    ValueError
        On bad arguments, negative weights or negative data ``y − b`` (the message
        names the argument).
    %(cancelled)s

    Examples
    --------
    %(example_problem)s
    >>> from deconv_gui.core import richardson_lucy
    >>> richardson_lucy(y, w, input_shape=x.shape, stride=2, padding=1, n_iter=20).image.shape
    (16, 16, 1)
    """
    n_iter = check_count(n_iter, "n_iter")
    problem, monitor, return_report = split_options(options, "richardson_lucy")
    op, centred = prepare(y, weights, bias, **problem)
    if np.any(op.weights < 0):
        raise ValueError(
            "weights must be non-negative for Richardson–Lucy (a blur or averaging filter), "
            f"got a minimum of {float(op.weights.min()):g}"
        )
    if centred.size and float(centred.min()) < 0:
        what = "y − bias" if bias is not None else "y"
        raise ValueError(
            f"y must be non-negative data for Richardson–Lucy ({what} has a minimum of "
            f"{float(centred.min()):g}); clip it or use a least-squares method"
        )
    solver = RichardsonLucySolver(op, **monitor)
    return deliver(solver.solve(centred, n_iter), return_report, centred.dtype)
