"""One frame per iteration of the pseudo-inverse solver, for animations.

:class:`PinvAnimation` runs :class:`~deconv_gui.core.solvers.PseudoInverseSolver` (the
solver of :func:`~deconv_gui.core.pinv_reconstruction`'s iterative path) one
iteration at a time on ``y = A x`` and keeps every iterate ``x_k``: frame ``k`` shows
``x_k``, ``A x_k`` and the residual ``y − A x_k``. This is what ``A⁺`` does that
``Aᵀ`` does not: it keeps correcting until ``A x = y``.

What the solver guarantees (see :mod:`deconv_gui.core.solvers.pinv`): with
``reg = 0`` and ``y`` in the range of ``A`` (always so here, ``y = A x``), conjugate
gradients on ``A Aᵀ`` minimise the *error* ``‖x_k − A⁺y‖`` over growing Krylov spaces,
so the error never increases; the residual ``‖A x_k − y‖`` usually falls too, but is
not guaranteed to at every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..arguments import frame_index
from ..geometry import ConvGeometry, as_float_array, weights_for
from ..operator import ConvOperator
from ..solvers import (
    CancelCheck,
    ProgressCallback,
    SolveCancelled,
    SolverReport,
    is_cancelled,
    make_pinv_solver,
)

__all__ = ["MAX_PINV_VALUES", "PinvAnimation", "PinvStep"]

#: The most values kept over all iterates (frames × unknowns): about 64 MB of float64.
MAX_PINV_VALUES = 8_000_000


@dataclass(frozen=True)
class PinvStep:
    """One frame of a :class:`PinvAnimation`: the solver after ``index`` iterations.

    Attributes
    ----------
    index : int
        Iterations done (0: the start ``x_0 = 0``).
    iterate : numpy.ndarray
        ``x_k``, ``(H, W, C_in)``.
    forward : numpy.ndarray
        ``A x_k``, ``(H_out, W_out, C_out)``.
    residual : numpy.ndarray
        ``y − A x_k``.
    residual_norm : float
        ``‖A x_k − y‖``.
    relative_residual : float
        ``‖A x_k − y‖ / ‖y‖`` (0 when ``y`` is 0).
    error_norm : float
        ``‖x_k − x̂‖``, the distance to the solver's final answer ``x̂ ≈ A⁺y``.
    phase : str
        ``"start"``, ``"pcg"``, ``"cgls"`` or, for a tall layer, ``"cgls-normal"`` (see
        the solver).
    """

    index: int
    iterate: np.ndarray
    forward: np.ndarray
    residual: np.ndarray
    residual_norm: float
    relative_residual: float
    error_norm: float
    phase: str


class PinvAnimation:
    """The pseudo-inverse solve of ``y = A x``, one frame per iteration.

    Parameters
    ----------
    geometry : ConvGeometry
        Shapes and hyper-parameters of ``A``.
    weights : array_like
        The filter matching ``geometry``.
    image : array_like
        ``x`` ``(H, W, C_in)``; the solver starts from 0 and is given ``y = A x``.
    max_iter : int
        The most iterations (frames after the first).
    reg : float
        Tikhonov weight (0: ``A⁺``), as for :func:`~deconv_gui.core.pinv_reconstruction`.
    rtol : float
        The solver's tolerance.
    preconditioned : bool
        Use the app's FFT preconditioner (True: a few iterations) or plain conjugate
        gradients on ``A Aᵀ`` (slower, so each correction is easier to watch).
    progress, cancel
        As for :func:`~deconv_gui.core.pinv_reconstruction` (checked between iterations).

    Raises
    ------
    ValueError
        Naming ``image``, ``weights``, ``max_iter`` or ``reg``; ``image`` also when the
        iterates would hold more than :data:`MAX_PINV_VALUES` values (animate a crop).
    SolveCancelled
        When ``cancel`` fired.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvGeometry
    >>> from deconv_gui.core.analysis.pinv_steps import PinvAnimation
    >>> geometry = ConvGeometry((6, 6, 1), (2, 2, 1), stride=2)
    >>> anim = PinvAnimation(geometry, np.ones((2, 2, 1)), np.arange(36.0).reshape(6, 6, 1))
    >>> anim.step(0).relative_residual, anim.step(len(anim) - 1).relative_residual < 1e-9
    (1.0, True)
    """

    mode = "pinv"

    def __init__(
        self,
        geometry: ConvGeometry,
        weights: Any,
        image: Any,
        *,
        max_iter: int = 100,
        reg: float = 0.0,
        rtol: float = 1e-10,
        preconditioned: bool = True,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> None:
        w = weights_for(geometry, weights).astype(np.float64)
        x = as_float_array(image, "image").astype(np.float64)
        if x.shape != geometry.input_shape:
            raise ValueError(
                f"image must have shape {geometry.input_shape} (geometry.input_shape), "
                f"got {x.shape}"
            )
        if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
            raise ValueError(f"max_iter must be an int >= 1, got {max_iter!r}")
        if max_iter < 1:
            raise ValueError(f"max_iter must be an int >= 1, got {max_iter!r}")
        if (max_iter + 1) * x.size > MAX_PINV_VALUES:
            raise ValueError(
                f"image: {max_iter + 1} iterates of {x.size:,} values are more than the "
                f"{MAX_PINV_VALUES:,} kept; animate a crop (input_shape {x.shape})"
            )
        self.geometry, self.weights, self.image = geometry, w, x
        self.operator = ConvOperator(geometry, w)
        self.y = self.operator.apply(x)
        solver = make_pinv_solver(
            self.operator, reg=reg, rtol=rtol, preconditioned=bool(preconditioned)
        )
        solver.setup(self.y)
        iterates, phases = [solver.current()], ["start"]
        while not solver.converged and solver.iiter < max_iter:
            if is_cancelled(cancel):
                raise SolveCancelled(f"cancelled after {solver.iiter} iterations")
            solver.step()
            iterates.append(solver.current())
            phases.append(solver.phase)
            if progress is not None:
                progress(solver.iiter, solver.history[-1])
        self.solution, self.report = solver.finalize()
        self.reg = float(reg)
        self.iterates = np.stack(iterates)
        self.phases = tuple(phases)
        y_norm = float(np.linalg.norm(self.y))
        self.residual_norms = np.array(
            [float(np.linalg.norm(self.y - self.operator.apply(it))) for it in self.iterates]
        )
        self.relative_residuals = (
            self.residual_norms / y_norm if y_norm > 0 else np.zeros_like(self.residual_norms)
        )
        self.error_norms = np.array(
            [float(np.linalg.norm(it - self.solution)) for it in self.iterates]
        )

    @property
    def solver_report(self) -> SolverReport:
        """The solver's report at the end."""
        return self.report

    def __len__(self) -> int:
        return len(self.iterates)

    def __iter__(self) -> Iterator[PinvStep]:
        yield from (self.step(k) for k in range(len(self)))

    def step(self, k: int) -> PinvStep:
        """The frame after ``k`` iterations (``0 ≤ k < len(self)``).

        Raises
        ------
        ValueError
            Naming ``k`` when it is out of range.
        """
        k = frame_index(k, len(self))
        iterate = self.iterates[k]
        forward = self.operator.apply(iterate)
        return PinvStep(
            k,
            iterate,
            forward,
            self.y - forward,
            float(self.residual_norms[k]),
            float(self.relative_residuals[k]),
            float(self.error_norms[k]),
            self.phases[k],
        )
