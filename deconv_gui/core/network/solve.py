"""``J⁺`` of a network prefix: preconditioned CG on ``J Jᵀ``, its limits, and why it stopped.

The solve is :class:`~deconv_gui.core.solvers.PseudoInverseSolver` (Craig's method:
``x = Jᵀz``, so the answer is the minimum-norm one with any symmetric positive definite
preconditioner) with two preconditioners in turn. The symbol of the last convolution
(:mod:`.precondition`) costs a few FFTs and is enough for an easy prefix (~50 iterations
on the benchmark's); the exact diagonal blocks of ``J Jᵀ`` (:mod:`.block_jacobi`) follow
the ReLU masks, but cost as many products with ``J Jᵀ`` as they have probes; a small
output (at most :data:`~.dense_gram.DENSE_UNITS` units, deep in a network) takes the whole
``J Jᵀ`` instead (:mod:`.dense_gram`), one product per unit, when that costs at most
:data:`~.dense_gram.DENSE_SHARE` times the blocks. So the solve runs the symbol for as
many iterations as the next preconditioner costs and builds it only if it has not
converged by then, going on from where it is: at worst twice the cost of the better
choice made in advance (the ski-rental rule), and no guess of how hard the prefix is.
Unless the symbol's pace (below) says it will be done within fewer iterations than that
set-up costs: then it goes on alone, up to :data:`_OVERRUN` times the set-up's cost (a
squeeze-excitation prefix at 128², 512 probes, converged alone at 615 iterations; built at
512 it took 543 iterations and twice the time).
From the 20th iteration it also builds it as soon as the symbol's pace (the fall of the
smallest residual over the second half of the iterations so far) says it would need more
iterations than the set-up costs: ResNet prefixes past a block need thousands. That
holds for a conv with its activation too, whose symbol scaled by the slopes
(:class:`~.precondition.ActivationPreconditioner`) is nearly exact without Tikhonov but
not with it (a leaky ReLU of slope 0.01 at 256², reg 10⁻²: 33 iterations with the symbol
throughout, 22 with the switch; without reg, at rtol 10⁻¹⁰ on a small layer, 28 and 42).

``J x₀`` is in the range of ``J`` by construction; :func:`run_prefix
<deconv_gui.core.network.run_prefix>` says so (``consistent``) and the solver stays on
CG through the plateaus of its residual (the error still falls).

A solve that stops short (the iteration limit or ``time_limit``) returns its last iterate
and says why in the report's message, with what to change.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..solvers import (
    Callbacks,
    CancelCheck,
    IterativeSolver,
    ProgressCallback,
    PseudoInverseSolver,
    SolverReport,
)
from .block_jacobi import BlockJacobi, probe_count, probe_patch
from .dense_gram import DenseGram, dense_pays
from .smooth import first_order

__all__ = ["PREFIX_MAX_ITER", "solve_prefix_pinv", "stop_words"]

#: The iteration limit of a prefix's ``J⁺`` when the caller gives none.
PREFIX_MAX_ITER = 3000
#: The iterations of the symbol's solve before its pace predicts anything.
_PACE_STEPS = 20
#: The symbol goes on alone while its pace says it will be done within the set-up's cost,
#: up to this many times that cost.
_OVERRUN = 2
#: With a time limit, a set-up takes at most this share of the time left.
_SETUP_SHARE = 0.5


class _PrefixCallbacks(Callbacks):
    """Progress and cancel, the time limit, and the switch to the block preconditioner.

    ``options`` are the next preconditioners, best first, as ``(set-up cost in products,
    builder)``: the first one's cost times the pace decides when to switch; with a time
    limit the first whose set-up takes at most :data:`_SETUP_SHARE` of the time left (at
    the iterations' pace) is built, so some is left for it to pay off.
    """

    def __init__(
        self,
        lin: Any,
        reg: float,
        options: list[tuple[int, Any]],
        time_limit: float | None,
        progress: ProgressCallback | None,
        cancel: CancelCheck | None,
    ) -> None:
        super().__init__(progress, cancel)
        self.lin, self.reg, self.options = lin, reg, options
        self.switch_at, self.builder = options[0]
        self.seconds = time_limit
        self.start = time.perf_counter()
        self.end = None if not time_limit else self.start + float(time_limit)
        self.expired = False
        self.switched_at: int | None = None
        self.unfit = False

    def on_step(self, solver: IterativeSolver) -> None:
        super().on_step(solver)
        if solver.converged:
            return
        now = time.perf_counter()
        if self.end is not None and now >= self.end:
            solver.stopped = self.expired = True
            return
        if self.switched_at is not None or not self.switch_at:
            return
        if isinstance(solver, PseudoInverseSolver) and (
            solver.iiter >= _OVERRUN * self.switch_at or _hopeless(solver, self.switch_at)
        ):
            fitting = [option for option in self.options if self._fits(option[0], solver, now)]
            if not fitting:
                self.unfit = True  # the symbol's iterations are worth more than no answer
                return
            self.builder = fitting[0][1]
            solver.restart(self.builder(self.lin, self.reg, self.cancel))
            self.switched_at = solver.iiter

    def _fits(self, cost: int, solver: PseudoInverseSolver, now: float) -> bool:
        """Whether ``cost`` products, at the pace of the iterations so far (a product with
        ``J Jᵀ`` each, and the preconditioner), take at most :data:`_SETUP_SHARE` of the
        time left: a set-up that takes it all leaves the residual where it was (a 4×4
        patch's 2048 products at 128², 30 s at load 6: 7·10⁻² where a pixel's 800 left
        2·10⁻³)."""
        if self.end is None or solver.iiter < 1:
            return True
        return cost * (now - self.start) / solver.iiter <= _SETUP_SHARE * (self.end - now)


def _hopeless(solver: PseudoInverseSolver, cost: int) -> bool:
    """Whether the symbol's solve, at the pace of its second half so far, would take more
    iterations to reach ``rtol`` than the next preconditioner's set-up ``cost``: build it.

    The pace is the fall of the smallest residual from the first half's to now (CG on
    ``J Jᵀ`` minimises the error, not the residual, which wanders); no fall is no pace.
    """
    k = solver.iiter
    if k < _PACE_STEPS or solver.phase != "pcg":
        return False
    before, now = min(solver.history[: k // 2]), min(solver.history)
    if not now > solver.rtol:
        return False
    if not now < before:
        return True
    pace = np.log(before / now) / (k - k // 2)
    return bool(np.log(now / solver.rtol) / pace > cost)


def solve_prefix_pinv(
    lin: Any,
    signal: Any,
    *,
    reg: float = 0.0,
    rtol: float = 1e-8,
    max_iter: int | None = None,
    time_limit: float | None = None,
    consistent: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    preconditioner: Any = "auto",
) -> tuple[np.ndarray, SolverReport]:
    """``J⁺ signal`` (Tikhonov when ``reg > 0``) and its report; see the module.

    Parameters
    ----------
    lin : Linearization
        ``J`` at the image (typed loosely: :mod:`.chain`'s ``pinv`` calls this).
    signal : array_like
        Output-shaped.
    reg, rtol : float
        Tikhonov weight and relative tolerance.
    max_iter : int, optional
        Iteration limit (None: :data:`PREFIX_MAX_ITER`).
    time_limit : float, optional
        Seconds after which the solve stops as at the iteration limit (None or 0: none).
    consistent : bool
        ``signal`` is ``J x₀`` for a known ``x₀`` (see the module).
    progress, cancel
        ``progress(iteration, relative residual)``; the cancel check (between iterations
        and the set-up's batches).
    preconditioner : "auto", None or callable
        ``"auto"``: the symbol, then the blocks or the whole ``J Jᵀ`` (see the module);
        None: plain CG; a callable on output-space arrays: that one throughout.

    Examples
    --------
    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.network import Conv, Network, ReLU
    >>> w = np.random.default_rng(0).standard_normal((3, 3, 1, 2))
    >>> op = ConvOperator.from_weights(w, input_shape=(8, 8, 1), stride=2, padding=1)
    >>> net = Network([Conv(op), ReLU()])
    >>> x0 = np.random.default_rng(1).random((8, 8, 1))
    >>> lin = net.linearize(x0)
    >>> x, report = solve_prefix_pinv(lin, lin.apply(x0), consistent=True)
    >>> bool(np.allclose(lin.apply(x), lin.apply(x0))), report.converged
    (True, True)
    """
    if max_iter is not None and (isinstance(max_iter, bool) or int(max_iter) < 1):
        raise ValueError(f"max_iter must be an int >= 1 or None, got {max_iter!r}")
    if time_limit is not None and not (np.isfinite(time_limit) and time_limit >= 0):
        raise ValueError(f"time_limit must be a number of seconds >= 0 or None, got {time_limit!r}")
    options: list[tuple[int, Any]] = [(0, BlockJacobi)]
    if isinstance(preconditioner, str):
        if preconditioner != "auto":
            raise ValueError(
                f"preconditioner must be 'auto', None or a callable, got {preconditioner!r}"
            )
        from .precondition import prefix_preconditioner

        preconditioner = prefix_preconditioner(
            lin.network, reg=reg, cancel=cancel, states=lin.states
        )
        options = _options(lin)
    callbacks = _PrefixCallbacks(lin, reg, options, time_limit, progress, cancel)
    solver = PseudoInverseSolver(
        lin.apply,
        lin.apply_adjoint,
        preconditioner=preconditioner,
        reg=reg,
        rtol=rtol,
        consistent=consistent and reg == 0,
        callbacks=callbacks,
    )
    limit = PREFIX_MAX_ITER if max_iter is None else int(max_iter)
    x, report = solver.solve(np.asarray(signal, dtype=np.float64), limit)
    return x, _explained(report, callbacks)


def _options(lin: Any) -> list[tuple[int, Any]]:
    """The next preconditioners, best first, with their set-up costs (see
    :class:`_PrefixCallbacks`): the whole ``J Jᵀ`` when it pays, else the blocks of the
    patches :func:`~.block_jacobi.probe_patch` chooses, then of single pixels (cost 0: the
    blocks would not fit in memory)."""
    patch = probe_patch(lin)
    cost = probe_count(lin, patch)
    if dense_pays(lin, cost):
        return [(math.prod(lin.output_shape), DenseGram)]
    options: list[tuple[int, Any]] = [(cost, functools.partial(BlockJacobi, patch=patch))]
    if patch > 1:
        options.append((probe_count(lin), BlockJacobi))
    return options


def _explained(report: SolverReport, callbacks: _PrefixCallbacks) -> SolverReport:
    """The report with the preconditioners used and, when it stopped short, why."""
    method = report.method
    if callbacks.switched_at is not None:
        label = getattr(callbacks.builder, "func", callbacks.builder).label
        then = f"then {label} from iteration {callbacks.switched_at}"
        method = f"{method} (symbol, {then})"
    message = report.message.replace(report.method, method, 1)
    if report.converged:
        return replace(report, message=message)
    if callbacks.expired:
        message = message.replace(
            f"stopped at the iteration limit ({report.iterations})",
            f"stopped at the time limit ({callbacks.seconds:g} s, {report.iterations} iterations)",
        )
    why = "its ReLU masks and pooling switches"
    if first_order(callbacks.lin.network.layers):
        why = "its activations' slopes, gates, ReLU masks and pooling switches"
    advice = f"J at this image is ill-conditioned ({why}): raise "
    advice += (
        "the limit or loosen rtol"
        if callbacks.reg
        else ("the limit, loosen rtol, or set reg > 0 for a Tikhonov J⁺, which converges fast")
    )
    if callbacks.unfit:
        label = getattr(callbacks.builder, "func", callbacks.builder).label
        advice += (
            f"; {label} ({callbacks.switch_at} products with J Jᵀ) would have taken more "
            "than half the time left, so the symbol went on alone"
        )
    return replace(report, message=f"{message}; {advice}")


def stop_words(report: SolverReport, rtol: float | None = None) -> str:
    """How a ``J⁺`` solve ended, in a few words (a status line; the message has the rest).

    >>> from deconv_gui.core.solvers import SolverReport
    >>> stop_words(SolverReport("pcg", 412, 8e-9, True))
    'J⁺ converged: 412 iterations, relative residual 8e-09'
    >>> stop_words(SolverReport("pcg", 900, 3e-6, False, message="stopped at the time limit"), 1e-8)
    'J⁺ stopped by its time limit before rtol 1e-08: 900 iterations, relative residual 3e-06'
    """
    done = f"{report.iterations} iterations, relative residual {report.relative_residual:.0e}"
    if report.converged:
        return f"J⁺ converged: {done}"
    limit = "time limit" if "at the time limit" in report.message else "iteration limit"
    before = "" if rtol is None else f" before rtol {rtol:.0e}"
    return f"J⁺ stopped by its {limit}{before}: {done}"
