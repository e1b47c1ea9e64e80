"""What the stride throws away: the null-space split of an image, and the Tikhonov curve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..geometry import as_float_array, centred_output
from ..keywords import pinv_options, split_options, takes_geometry
from ..norms import relative_norm
from ..operator import as_operator
from ..solvers import (
    CancelCheck,
    ProgressCallback,
    SolveCancelled,
    SolverReport,
    is_cancelled,
    solve_pinv,
)
from .metrics import reconstruction_metrics

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import ProblemKeywords, SplitKeywords

__all__ = [
    "ComponentSplit",
    "TikhonovCurve",
    "nullspace_component",
    "recoverable_component",
    "split_components",
    "tikhonov_curve",
]


class ComponentSplit(NamedTuple):
    """An image split into the part ``A`` sees and the part it cannot see.

    Attributes
    ----------
    recoverable : numpy.ndarray
        ``A⁺ A x``, the orthogonal projection of ``x`` onto the row space of ``A``.
    lost : numpy.ndarray
        ``x − A⁺ A x``, the projection onto the null space: no method can recover it.
    report : SolverReport
        The pseudo-inverse solve that produced the split (dense or iterative).
    recoverable_fraction, lost_fraction : float
        ``‖A⁺Ax‖ / ‖x‖`` and ``‖x − A⁺Ax‖ / ‖x‖`` (0 for a zero image). The two parts
        are orthogonal, so the squares of the fractions add up to 1.
    """

    recoverable: np.ndarray
    lost: np.ndarray
    report: SolverReport
    recoverable_fraction: float
    lost_fraction: float


def _as_single_image(x: Any) -> np.ndarray:
    arr = as_float_array(x, "x")
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
    if arr.ndim != 3:
        raise ValueError(f"x must have shape (H, W, C_in) or (H, W), got shape {arr.shape}")
    return arr


@takes_geometry
def split_components(
    x: Any,
    weights: Any,
    **options: Unpack[SplitKeywords],
) -> ComponentSplit:
    """Split ``x`` into its recoverable part ``A⁺Ax`` and its null-space part.

    Parameters
    ----------
    x : array_like
        Image ``(H, W, C_in)`` (or ``(H, W)`` for one channel).
    %(weights)s
    %(geometry)s
        The bias plays no part: ``A⁺(y − b) = A⁺ A x``.
    rtol, max_iter, method, time_limit, callbacks, progress, cancel
        As for :func:`pinv_reconstruction` (dense for tiny problems, matrix-free
        otherwise).

    Returns
    -------
    ComponentSplit
        Both parts in the dtype of ``x`` (computed in float64), with the solve's report.

    Raises
    ------
    ValueError
        On invalid arguments.
    SolveCancelled
        When ``cancel`` fires during the solve.

    Notes
    -----
    :math:`P = A^+ A` is the orthogonal projector onto the row space
    :math:`\\mathrm{range}(A^T)`, so :math:`x = Px + (I - P)x` with
    :math:`A (I - P) x = 0` and :math:`(I - P)x \\perp \\mathrm{range}(A^T)`. If the
    window already has ``A⁺(y − b)`` for a noise-free ``y``, that *is* ``A⁺Ax`` and
    the lost part is simply ``x`` minus it; this function does the solve itself.
    The iterative solve starts from zero and so stays in the row space; its accuracy
    follows ``rtol`` (see ``report``).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import make_filter, split_components
    >>> x = np.random.default_rng(0).random((7, 7, 3))
    >>> split = split_components(x, make_filter("seed_question"), stride=2)
    >>> bool(np.allclose(split.recoverable + split.lost, x))
    True
    >>> round(split.recoverable_fraction**2 + split.lost_fraction**2, 12)
    1.0
    """
    problem, monitor, _ = split_options(options, "split_components", "SplitKeywords")
    image = _as_single_image(x)
    h, w, c = image.shape
    problem["input_shape"] = (h, w, c)  # x's (SplitKeywords has none)
    op = as_operator(weights, **problem)
    y = op.apply(image.astype(np.float64, copy=False))
    solved = solve_pinv(op, y, **pinv_options(options), **monitor)
    return split_from_recoverable(image, solved.image, solved.report)


def split_from_recoverable(
    x: np.ndarray, recoverable: np.ndarray, report: SolverReport
) -> ComponentSplit:
    """Complete the split of ``x`` from its already solved recoverable part ``A⁺Ax``.

    The lost part is ``x − A⁺Ax`` and the fractions are the norms relative to
    ``‖x‖`` (0 for a zero image); computed in float64, returned in ``x``'s dtype.
    """
    x64 = np.asarray(x, dtype=np.float64)
    recoverable64 = np.asarray(recoverable, dtype=np.float64)
    lost = x64 - recoverable64
    norm = float(np.linalg.norm(x64))
    fraction = (lambda part: float(np.linalg.norm(part)) / norm) if norm > 0 else (lambda _: 0.0)
    return ComponentSplit(
        recoverable64.astype(x.dtype, copy=False),
        lost.astype(x.dtype, copy=False),
        report,
        fraction(recoverable64),
        fraction(lost),
    )


def nullspace_component(x: Any, weights: Any, **options: Any) -> np.ndarray:
    """``x − A⁺ A x``: the part of the image that no reconstruction method can recover.

    Parameters and errors are those of :func:`split_components`; returns an array of
    the shape and dtype of ``x`` (``(H, W)`` input gives ``(H, W, 1)``).
    """
    return split_components(x, weights, **options).lost


def recoverable_component(x: Any, weights: Any, **options: Any) -> np.ndarray:
    """``A⁺ A x``: the part of the image the forward output determines.

    Parameters and errors are those of :func:`split_components`.
    """
    return split_components(x, weights, **options).recoverable


class TikhonovCurve(NamedTuple):
    """Residual and solution norms (and quality) of the Tikhonov solutions, one per reg.

    Attributes
    ----------
    regs : numpy.ndarray
        The regularisation weights, in the order given.
    residual_norms : numpy.ndarray
        ``‖A x_λ − (y − b)‖`` (the L-curve's horizontal axis).
    relative_residuals : numpy.ndarray
        The same divided by ``‖y − b‖``
        (:func:`~deconv_gui.core.norms.relative_norm`).
    solution_norms : numpy.ndarray
        ``‖x_λ‖`` (the L-curve's vertical axis).
    psnr, ssim : numpy.ndarray or None
        Against ``reference`` (NaN where undefined); None without a reference.
    reports : tuple of SolverReport
        One per solve.
    """

    regs: np.ndarray
    residual_norms: np.ndarray
    relative_residuals: np.ndarray
    solution_norms: np.ndarray
    psnr: np.ndarray | None
    ssim: np.ndarray | None
    reports: tuple[SolverReport, ...]


def _validate_regs(regs: Any) -> np.ndarray:
    try:
        values = np.asarray(regs, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"regs must be a sequence of numbers >= 0, got {regs!r}") from None
    if values.size == 0:
        raise ValueError("regs must hold at least one value")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"regs must be finite numbers >= 0, got {values.tolist()}")
    return values


@takes_geometry
def tikhonov_curve(
    y: Any,
    weights: Any,
    bias: Any,
    regs: Sequence[float],
    *,
    reference: Any = None,
    rtol: float = 1e-8,
    max_iter: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    **problem: Unpack[ProblemKeywords],
) -> TikhonovCurve:
    """Solve ``argmin ‖A x − (y − b)‖² + λ‖x‖²`` for each ``λ`` in ``regs``.

    Parameters
    ----------
    y, weights, bias, input_shape, stride, padding, dilation, padding_mode, groups, flip
        As for :func:`pinv_reconstruction`.
    regs : sequence of float
        Regularisation weights (>= 0; 0 is the pseudo-inverse), typically log-spaced.
    reference : array_like, optional
        The true image ``input_shape``; when given, PSNR and SSIM are computed.
    rtol, max_iter
        Passed to each solve.
    progress : callable, optional
        ``progress(done, fraction)`` after each reg value: ``done`` solves finished,
        ``fraction = done / len(regs)``.
    cancel : callable or threading.Event, optional
        Checked before each reg value and passed into each solve.

    Returns
    -------
    TikhonovCurve

    Raises
    ------
    ValueError
        On invalid arguments.
    SolveCancelled
        When ``cancel`` fires; nothing partial is returned.

    Notes
    -----
    For exact solves, :math:`\\|x_\\lambda\\|` decreases and
    :math:`\\|A x_\\lambda - y\\|` increases with :math:`\\lambda`; plotted on log axes
    they draw the L-curve, whose corner is a classic choice of :math:`\\lambda`.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import conv2d, make_filter, tikhonov_curve
    >>> x, w = np.random.default_rng(0).random((16, 16, 1)), make_filter("box", in_channels=1)
    >>> y = conv2d(x, w, stride=2)
    >>> curve = tikhonov_curve(y, w, None, [0.0, 0.1, 1.0], input_shape=x.shape, stride=2)
    >>> bool(np.all(np.diff(curve.solution_norms) < 0))  # smaller images as reg grows
    True
    >>> bool(np.all(np.diff(curve.residual_norms) > 0))  # that reproduce y less well
    True
    """
    values = _validate_regs(regs)
    op = as_operator(weights, **problem)
    geom = op.geometry
    target = as_float_array(y, "y").astype(np.float64, copy=False)
    centred = centred_output(target, geom, bias)
    ref = None
    if reference is not None:
        ref = as_float_array(reference, "reference").astype(np.float64, copy=False)
        if ref.shape != geom.input_shape:
            raise ValueError(
                f"reference must have shape input_shape {geom.input_shape}, got {ref.shape}"
            )
    scale = float(np.linalg.norm(centred))
    count = values.size
    residuals, solutions = np.zeros(count), np.zeros(count)
    psnr, ssim = np.full(count, np.nan), np.full(count, np.nan)
    reports: list[SolverReport] = []
    for k, reg in enumerate(values):
        if is_cancelled(cancel):
            raise SolveCancelled("Tikhonov curve cancelled")
        solved = solve_pinv(
            op, centred, reg=float(reg), rtol=rtol, max_iter=max_iter, cancel=cancel
        )
        estimate = np.asarray(solved.image, dtype=np.float64)
        residuals[k] = np.linalg.norm(op.apply(estimate) - centred)
        solutions[k] = np.linalg.norm(estimate)
        reports.append(solved.report)
        if ref is not None:
            scores = reconstruction_metrics(ref, estimate)
            psnr[k] = np.nan if scores["psnr"] is None else scores["psnr"]
            ssim[k] = np.nan if scores["ssim"] is None else scores["ssim"]
        if progress is not None:
            progress(k + 1, (k + 1) / count)
    relative = np.array([relative_norm(r, scale) for r in residuals])
    if ref is None:
        return TikhonovCurve(values, residuals, relative, solutions, None, None, tuple(reports))
    return TikhonovCurve(values, residuals, relative, solutions, psnr, ssim, tuple(reports))
