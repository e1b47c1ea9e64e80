"""The total-variation weight λ from the data, by the discrepancy principle.

Notes
-----
``x_λ = argmin ½‖A x − (y − b)‖² + λ TV(x)`` and ``r(λ) = ‖A x_λ − (y − b)‖``. For
any convex penalty the residual of the minimiser does not decrease as its weight
grows, so (as for Tikhonov in :mod:`.choose_reg`) Morozov's discrepancy principle
picks the ``λ`` with ``r(λ) = sqrt(m) σ``, the expected norm of Gaussian noise of
standard deviation ``σ`` on the ``m`` measured values. The root is found by Brent's
method on ``log10 λ``; every evaluation is one :func:`~.tv.tv_reconstruction`.

λ has the units of the data (scaling ``y`` by ``c`` scales the minimiser by ``c`` and
the right ``λ`` by ``c``), so the search runs over ``λ = s·10^t`` with
``s = sqrt(‖A‖²) · max|y − b|`` and ``t`` from −8 to 1.

GCV has no closed form for a non-linear method such as TV, so without a noise level
there is no rule here: the Tikhonov ``reg`` of :func:`~.choose_reg.choose_reg` has other
units (a squared norm against ½‖·‖² + λ·TV) and is not a substitute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy.optimize import brentq

from ..keywords import split_options
from ..operator import ConvOperator
from ..solvers import CancelCheck, ProgressCallback, SolveCancelled, deliver, is_cancelled
from ..solvers.first_order import operator_norm_bound
from .base import check_number, check_stopping, prepare, shared_doc
from .tv import DEFAULT_MAX_ITER, DEFAULT_TOL, tv_reconstruction

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import WatchedKeywords

__all__ = ["LamChoice", "choose_tv_lam"]

#: The searched range of ``log10(λ / s)`` (see the module Notes).
_LOG_RANGE = (-8.0, 1.0)


class LamChoice(NamedTuple):
    """The chosen TV weight and how it was found.

    Attributes
    ----------
    lam : float
        The chosen λ.
    residual : float
        ``‖A x_λ − (y − b)‖`` at the chosen λ.
    target : float
        ``sqrt(m) σ``.
    evaluations : int
        TV reconstructions run.
    """

    lam: float
    residual: float
    target: float
    evaluations: int


@shared_doc
def choose_tv_lam(
    y: Any,
    weights: Any,
    bias: Any = None,
    *,
    sigma: float,
    nonneg: bool = False,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    xtol: float = 0.02,
    **options: Unpack[WatchedKeywords],
) -> LamChoice:
    """λ for :func:`~deconv_gui.core.tv_reconstruction` with ``r(λ) = sqrt(m)·sigma``.

    Parameters
    ----------
    %(problem)s
    sigma : float
        The standard deviation of the Gaussian noise per output value (> 0).
    nonneg, max_iter, tol
        As for :func:`~deconv_gui.core.tv_reconstruction` (each evaluation's solve).
    xtol : float
        Accuracy of ``log10 λ`` (> 0): 0.02 is λ within about 5 %.
    progress : callable, optional
        ``progress(evaluation, log-ratio of residual to target)`` after each TV solve.
    %(choice_cancel)s

    Returns
    -------
    LamChoice
        The chosen λ (> 0) and how it was found.

    Raises
    ------
    ValueError
        On bad arguments (naming them), data that are zero, or a ``sigma`` too large
        for any λ in the searched range (the residual of a nearly constant image is
        still below ``sqrt(m)·sigma``).
    %(cancelled)s

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import conv2d, make_filter
    >>> from deconv_gui.core.priors.choose_lam import choose_tv_lam
    >>> rng = np.random.default_rng(0)
    >>> x = np.zeros((16, 16, 1)); x[4:12, 4:12] = 1.0
    >>> w = make_filter("gaussian", size=3, in_channels=1)
    >>> y = conv2d(x, w, padding=1) + 0.05 * rng.standard_normal((16, 16, 1))
    >>> choice = choose_tv_lam(y, w, input_shape=x.shape, padding=1, sigma=0.05)
    >>> bool(choice.lam > 0)
    True
    """
    sigma = check_number(sigma, "sigma", strict=True)
    xtol = check_number(xtol, "xtol", strict=True)
    max_iter, tol = check_stopping(max_iter, tol)
    if not isinstance(nonneg, (bool, np.bool_)):
        raise ValueError(f"nonneg must be True or False, got {nonneg!r}")
    problem, watch, return_report = split_options(options, "choose_tv_lam", "WatchedKeywords")
    progress, cancel = watch.get("progress"), watch.get("cancel")
    op, centred = prepare(y, weights, bias, **problem)
    top = float(np.max(np.abs(centred)))
    if top == 0:
        raise ValueError("y − bias is zero: there is nothing to fit, so no λ to choose")
    norm2 = operator_norm_bound(op)
    if norm2 == 0:
        raise ValueError("weights are all zero: A x = 0 for every image, so no λ to choose")
    scale = float(np.sqrt(norm2)) * top
    target = float(np.sqrt(op.shape[0]) * sigma)
    solve = {"nonneg": bool(nonneg), "max_iter": max_iter, "tol": tol}
    residual = _ResidualCurve(op, centred, scale, target, solve, progress, cancel)
    lo, hi = _LOG_RANGE
    if (flattest := residual(hi)) < target:
        raise ValueError(
            f"sigma is too large: sqrt(m)·sigma = {target:.3g} is above the residual "
            f"{flattest:.3g} of a nearly constant image (λ = {scale * 10.0**hi:.3g}); "
            "no λ fits that noise level"
        )
    if residual(lo) > target:
        t = lo  # even the smallest λ leaves more than the noise level: the least fit
    else:
        t = float(brentq(lambda t: np.log(residual(t) / target), lo, hi, xtol=xtol))
    lam = float(scale * 10.0**t)
    choice = LamChoice(lam, residual(t), target, residual.evaluations)
    return deliver(choice, return_report, plain="lam")


class _ResidualCurve:
    """``r(t) = ‖A x_λ − (y − b)‖`` at ``λ = scale·10^t``: one TV solve for each new
    ``t`` (a ``t`` seen before is not solved again), each reported to ``progress`` as
    the log-ratio of the residual to ``target``; the cancel is checked before each."""

    def __init__(
        self,
        op: ConvOperator,
        centred: np.ndarray,
        scale: float,
        target: float,
        solve: dict[str, Any],
        progress: ProgressCallback | None,
        cancel: CancelCheck | None,
    ) -> None:
        self.op, self.centred, self.scale, self.target = op, centred, scale, target
        self.solve, self.progress, self.cancel = solve, progress, cancel
        self.y_norm = float(np.linalg.norm(centred))
        self.evaluations = 0
        self.seen: dict[float, float] = {}

    def __call__(self, t: float) -> float:
        if t in self.seen:
            return self.seen[t]
        if is_cancelled(self.cancel):
            raise SolveCancelled("choose_tv_lam cancelled")
        solved = tv_reconstruction(
            self.centred, self.op, lam=self.scale * 10.0**t, cancel=self.cancel, **self.solve
        )
        value = float(solved.report.relative_residual) * self.y_norm
        self.evaluations += 1
        self.seen[t] = value
        if self.progress is not None:
            self.progress(self.evaluations, float(np.log(max(value, 1e-300) / self.target)))
        return value
