"""Reconstructions of the image from the forward output: transposed, normalised, pseudo-inverse.

Notes
-----
``A`` is the linear part of the strided convolution, ``y − b`` the centred output.

* :func:`transposed_reconstruction` is ``Aᵀ(y − b)``, what a "deconvolution"
  (transposed convolution) layer computes; :func:`normalized_transposed_reconstruction`
  divides it by the coverage ``Aᵀ1``.
* :func:`pinv_reconstruction` is ``A⁺(y − b)`` (through
  :func:`~deconv_gui.core.solvers.solve_pinv`): when a dense solve is fast
  (:func:`~deconv_gui.core.solvers.dense.dense_is_fast`, well under a second) by the SVD
  of the explicit matrix cut at the data's precision and ``rtol``
  (:mod:`~deconv_gui.core.solvers.dense`), else by
  :class:`~deconv_gui.core.solvers.PseudoInverseSolver`: preconditioned CG on the
  small output-grid system ``A Aᵀ z = y − b`` with ``x = Aᵀ z``, preconditioned by
  the FFT of the stationary symbol of ``A Aᵀ``
  (:class:`~deconv_gui.core.solvers.preconditioner.SymbolPreconditioner`), switching to
  CGLS when ``y`` is outside the range of ``A``. The solvers module explains why this
  gives the minimum-norm solution and what the report's numbers mean. Everything is
  computed in float64 and returned in the dtype of ``y``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .deprecation import module_aliases
from .geometry import centred_output
from .keywords import pinv_options, split_options, takes_geometry
from .operator import as_operator
from .solvers import (
    Reconstruction,
    deliver,
    make_pinv_solver,
    solve_pinv,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .keywords import PinvSolveKeywords, ProblemKeywords
    from .operator import ConvOperator

__all__ = [
    "coverage_map",
    "make_pinv_solver",
    "normalized_transposed_reconstruction",
    "pinv_reconstruction",
    "solve_pinv",
    "transposed_reconstruction",
]


@takes_geometry
def transposed_reconstruction(
    y: Any,
    weights: Any,
    bias: Any = None,
    **problem: Unpack[ProblemKeywords],
) -> np.ndarray:
    """``Aᵀ(y − b)``: what a "deconvolution" (transposed convolution) layer computes.

    Parameters
    ----------
    y : array_like
        The forward output ``(H_out, W_out, C_out)``.
    weights : array_like or ConvOperator
        The filter ``(f_h, f_w, C_in, C_out)`` (or 3-D), or a ready
        :class:`~deconv_gui.core.ConvOperator` (then the geometry arguments may be
        left out; see :func:`~deconv_gui.core.as_operator`).
    bias : float or array_like, optional
        Scalar or ``(C_out,)``, subtracted from ``y`` first.
    %(input_shape)s
    %(geometry)s

    Returns
    -------
    numpy.ndarray
        An array of ``input_shape`` in the dtype of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import transposed_reconstruction
    >>> x_t = transposed_reconstruction(np.ones((3, 3, 1)), np.ones((3, 3, 1)),
    ...                                 input_shape=(7, 7, 1), stride=2)
    >>> x_t[:, :, 0].astype(int)
    array([[1, 1, 2, 1, 2, 1, 1],
           [1, 1, 2, 1, 2, 1, 1],
           [2, 2, 4, 2, 4, 2, 2],
           [1, 1, 2, 1, 2, 1, 1],
           [2, 2, 4, 2, 4, 2, 2],
           [1, 1, 2, 1, 2, 1, 1],
           [1, 1, 2, 1, 2, 1, 1]])
    """
    op = as_operator(weights, **problem)
    centred = centred_output(y, op.geometry, bias)
    return _finite_adjoint(op, centred)


def _finite_adjoint(op: ConvOperator, centred: np.ndarray) -> np.ndarray:
    """``Aᵀ centred``, or a ValueError naming ``y`` when that overflows its dtype (data of
    1e308 gave ``inf`` and NumPy's overflow warnings)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = op.apply_adjoint(centred)
        if np.isfinite(out).all():
            return out
        peak = np.float64(np.abs(centred).max())
        gain = np.float64(np.abs(op.weights).reshape(-1, op.weights.shape[-1]).sum(axis=0).max())
    raise ValueError(
        f"y: y − b up to {peak:.3g} with a filter gain Σ|w| up to {gain:.3g} overflows "
        f"Aᵀ(y − b) in {out.dtype}; rescale the data or the filter"
    )


@takes_geometry
def coverage_map(
    weights: Any,
    **problem: Unpack[ProblemKeywords],
) -> np.ndarray:
    """``Aᵀ1``: the sum of the weights that touch each input pixel (the coverage map).

    ``weights`` is a filter or a :class:`~deconv_gui.core.ConvOperator`, as for
    :func:`transposed_reconstruction`; the result has ``input_shape`` and the
    weights' dtype (the operator's).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import coverage_map
    >>> coverage_map(np.ones((2, 2, 1)), input_shape=(4, 4, 1), stride=2)[:, :, 0]
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.]])
    """
    op = as_operator(weights, **problem)
    return op.apply_adjoint(np.ones(op.geometry.output_shape, dtype=op.dtype))


@takes_geometry
def normalized_transposed_reconstruction(
    y: Any,
    weights: Any,
    bias: Any = None,
    **problem: Unpack[ProblemKeywords],
) -> np.ndarray:
    """``Aᵀ(y − b) ⊘ Aᵀ1``, with 0 where the coverage is (numerically) zero.

    Arguments as for :func:`transposed_reconstruction`.

    Notes
    -----
    Dividing by the coverage map removes the checkerboard that a transposed
    convolution paints when the kernel size is not a multiple of the stride.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import normalized_transposed_reconstruction
    >>> x_n = normalized_transposed_reconstruction(
    ...     np.ones((3, 3, 1)), np.ones((3, 3, 1)), input_shape=(7, 7, 1), stride=2)
    >>> bool(np.allclose(x_n, 1.0))
    True
    """
    op = as_operator(weights, **problem)
    centred = centred_output(y, op.geometry, bias)
    adjoint = _finite_adjoint(op, centred)
    cover = coverage_map(op).astype(adjoint.dtype, copy=False)
    scale = np.abs(cover).max() if cover.size else 0.0
    nonzero = np.abs(cover) > 1e-12 * max(scale, 1e-300)
    out = np.zeros_like(adjoint)
    np.divide(adjoint, cover, out=out, where=nonzero)
    return out


@takes_geometry
def pinv_reconstruction(
    y: Any,
    weights: Any,
    bias: Any = None,
    **options: Unpack[PinvSolveKeywords],
) -> Reconstruction:
    """The minimum-norm least-squares image ``A⁺(y − b)``, or Tikhonov when ``reg > 0``.

    Parameters
    ----------
    y, weights, bias, input_shape, stride, padding, dilation, padding_mode, groups, flip
        As for :func:`transposed_reconstruction` (``weights`` may be a
        :class:`~deconv_gui.core.ConvOperator`).
    reg : float
        Tikhonov weight (>= 0): argmin ‖A x − (y − b)‖² + reg ‖x‖².
    rtol : float
        Relative tolerance of the iterative solve (see
        :mod:`deconv_gui.core.solvers` for the exact stopping rules).
    max_iter : int, optional
        Iteration limit (one iteration costs one forward and one adjoint); default 300,
        or up to 3 times the number of equations plus the rank bound ``min(m, n)`` (CG,
        then CGLS when ``y`` is outside the range; at most 3000) for small problems,
        whose ill-conditioned cases need more
        (:func:`~deconv_gui.core.solvers.pseudo_inverse.default_iterations`).
    %(monitor)s
    %(report)s
    method : {"auto", "dense", "fourier", "iterative"}
        ``"auto"``: a dense SVD solve where it is fast (``m n min(m, n)`` up to
        :data:`~deconv_gui.core.solvers.dense.PINV_DENSE_COST`, about a second at most);
        else, for a periodic
        layer (circular padding, an output grid that tiles the input), the exact
        per-frequency solve (:mod:`~deconv_gui.core.solvers.polyphase`: float32 ``y``
        transformed in single precision, the factorised blocks of the last few layers
        kept for the next image); else iterative (it can be cancelled). The others
        force one path (dense refuses more than ``DENSE_COLUMN_LIMIT`` unknowns, fourier
        a layer that is not periodic). The
        dense solve drops singular values below ``max(ε max(m, n), rtol) σ_max`` (ε of
        the coarser of the filter's and ``y``'s dtype), the per-frequency one the same
        rule for each block, so the paths solve the same problem: on noiseless data all
        give ``A⁺A x`` with ``‖A⁺A x‖ ≤ ‖x‖``.
    time_limit : float, optional
        Seconds after which the iterative solve stops as at its iteration limit (None:
        no limit). A solve that stops short says why in ``report.message``: its
        estimated condition number ``κ(A)`` and, when large, Tikhonov (``reg > 0``).

    Returns
    -------
    Reconstruction
        ``image`` (of ``input_shape``, in the dtype of ``y``) and the solve's
        :class:`~deconv_gui.core.SolverReport` (``report.converged`` says whether
        ``rtol`` was met).

    Raises
    ------
    ValueError
        On bad arguments (the message names the argument).
    SolveCancelled
        When ``cancel`` fired during the iterative solve.

    Warns
    -----
    NotConvergedWarning
        Only with the deprecated ``return_report=False``, when the iteration limit
        stopped the solve before ``rtol``.

    Examples
    --------
    The seed question: 9 equations cannot pin down 147 unknowns, but ``A⁺`` gives the
    minimum-norm image that reproduces the output exactly.

    >>> import numpy as np
    >>> from deconv_gui.core import conv2d, make_filter, pinv_reconstruction
    >>> x, w = np.random.default_rng(0).random((7, 7, 3)), make_filter("seed_question")
    >>> y = conv2d(x, w, stride=2)
    >>> x_pinv = pinv_reconstruction(y, w, input_shape=x.shape, stride=2).image
    >>> bool(np.allclose(conv2d(x_pinv, w, stride=2), y))
    True
    >>> bool(np.linalg.norm(x_pinv) < np.linalg.norm(x))
    True
    """
    declared = "PinvSolveKeywords"
    problem, monitor, return_report = split_options(options, "pinv_reconstruction", declared)
    op = as_operator(weights, **problem)
    return deliver(solve_pinv(op, y, bias, **pinv_options(options), **monitor), return_report)


#: The name the one result type had here before (``old: (new, object)``).
OLD_NAMES = {"PinvResult": ("Reconstruction", Reconstruction)}
__getattr__ = module_aliases(__name__, OLD_NAMES)
