"""The pseudo-inverse of real layers (56²×64 → 128, 3×3, stride 2; …): pairs, residual, cost.

Run: ``python benchmarks/bench_real_layers_pinv.py [--rtol 1e-6] [--max-iter 40]
[--dtype float32 float64] [--repeat 3] [--threads N] [--clock wall|cpu] [--kappa]
[--priors] [--transposed]``.

Random He-initialised weights (the layer as trained networks start), an image of
uniform noise, ``y = A x``; ``pinv_reconstruction`` with ``rtol`` and ``max_iter``
(one iteration = one forward + one adjoint). For every layer and dtype it prints the
preconditioner (its kind, and the cells per axis of the cell symbol), the pairs (CG
iterations), the relative residual ``‖A x̂ − y‖/‖y‖`` of the returned image, the
preconditioner's set-up, the whole solve (set-up included), one forward+adjoint pair, and
one application of the preconditioner in pairs (``M/pair``), the pairs plus the
preconditioner's set-up and applications counted in pairs (``pairs+M``), the whole solve
in pairs (``solve / pair``: everything it costs, the solver's own vector updates and its
final residual too), and the same for another solve through the layer (``again``: its
preconditioner kept).
Times are the minimum of ``--repeat`` runs, pairs timed between them; ``--clock cpu``
counts this process's CPU time (steadier on a shared machine, with ``--threads 1``).

``--kappa`` adds the extreme eigenvalues of ``A Aᵀ`` without a preconditioner, with the
diagonal symbol and with the preconditioner the solve uses, as the Ritz values of CG's
Lanczos matrix (from inside the spectrum: lower bounds of the condition number, tight
at the ends CG resolves), next to the symbol's estimate
(:func:`~deconv_gui.core.solvers.condition.estimate_condition`, squared). ``--priors``
adds Tikhonov (``reg`` 1e-2), non-negative least squares and TV (20 iterations each) on
the first layer; ``--transposed`` each layer's ConvTranspose2d (small map → big map,
``output_padding = stride − 1``) solved with and without the conv's symbol
preconditioner (CG on the normal equations). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np

from deconv_gui.core import ConvOperator, pinv_reconstruction
from deconv_gui.core.priors import nonneg_reconstruction, tv_reconstruction
from deconv_gui.core.solvers import make_pinv_solver
from deconv_gui.core.solvers import preconditioner as precond
from deconv_gui.core.solvers.condition import estimate_condition
from deconv_gui.core.threads import set_num_threads
from deconv_gui.core.transposed import ConvTransposeOperator

LAYERS = (
    ("56²×64 → 128, 3×3, stride 2", (56, 56, 64), (3, 3, 64, 128), 2, 1),
    ("56²×64 → 128, 3×3, stride 2, 'same'", (56, 56, 64), (3, 3, 64, 128), 2, "same"),
    ("28²×128 → 256, 3×3, stride 2", (28, 28, 128), (3, 3, 128, 256), 2, 1),
    ("56²×64 → 64, 3×3, stride 1", (56, 56, 64), (3, 3, 64, 64), 1, 1),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--max-iter", type=int, default=40)
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--only-first", action="store_true", help="the first two layers only")
    parser.add_argument("--kappa", action="store_true")
    parser.add_argument("--priors", action="store_true")
    parser.add_argument(
        "--transposed",
        action="store_true",
        help="also each layer's ConvTranspose2d (the decoder's upsampling), with and without "
        "the conv's symbol preconditioner",
    )
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.threads is not None:
        set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    rng = np.random.default_rng(0)
    _warm_up(rng)
    header = f"{'layer':38s} {'dtype':7s} {'preconditioner':15s} {'pairs':>5s} {'residual':>9s}"
    columns = f"{'set-up s':>8s} {'M/pair':>7s} {'pairs+M':>7s} {'solve s':>8s} {'pair s':>7s}"
    columns += f" {'in pairs':>8s} {'again':>8s}"
    print(f"{header} {columns}")
    for name, shape, filt, stride, padding in LAYERS[:2] if args.only_first else LAYERS:
        for dtype in args.dtype:
            fan_in = filt[0] * filt[1] * filt[2]
            w = (rng.standard_normal(filt) * np.sqrt(2.0 / fan_in)).astype(dtype)
            x = rng.random(shape).astype(dtype)
            op = ConvOperator.from_weights(w, input_shape=shape, stride=stride, padding=padding)
            y = op.apply(x)
            _row(name, dtype, op, y, args, clock)
            if args.kappa and dtype == args.dtype[0]:
                _kappa(op, y, args)
            if args.priors and name == LAYERS[0][0] and dtype == args.dtype[0]:
                _priors(op, y)
            if args.transposed and isinstance(padding, int) and dtype == args.dtype[0]:
                _transposed(w, shape, stride, padding, args, rng)


def _warm_up(rng: np.random.Generator) -> None:
    """One small solve: imports and the libraries' first calls stay out of the timings."""
    w = rng.standard_normal((3, 3, 8, 16))
    op = ConvOperator.from_weights(w, input_shape=(16, 16, 8), stride=2, padding=1)
    pinv_reconstruction(op.apply(rng.random((16, 16, 8))), op, method="iterative")


def _least(run: Callable[[], object], repeat: int, clock: Callable[[], float]) -> float:
    times = []
    for _ in range(repeat):
        start = clock()
        run()
        times.append(clock() - start)
    return min(times)


def _row(name, dtype, op, y, args, clock) -> None:
    z = np.random.default_rng(1).random(op.geometry.output_shape)
    pairs, setups, applies, solves, again = [], [], [], [], []
    clear = getattr(precond, "clear_preconditioner_cache", lambda: None)  # older versions
    pre = precond.SymbolPreconditioner(op)
    for _ in range(args.repeat):  # interleaved: a busy spell slows all of them alike
        pairs.append(_least(lambda: op.apply(op.apply_adjoint(z)), 3, clock))
        setups.append(_least(lambda: precond.SymbolPreconditioner(op), 1, clock))
        applies.append(_least(lambda: pre(z), 3, clock))
        clear()  # the first solve through this layer: the set-up included
        start = clock()
        solved = pinv_reconstruction(y, op, rtol=args.rtol, max_iter=args.max_iter)
        solves.append(clock() - start)
        start = clock()  # another image through the same layer: the set-up kept
        pinv_reconstruction(y, op, rtol=args.rtol, max_iter=args.max_iter)
        again.append(clock() - start)
    cells = getattr(pre, "cells", None)  # None: versions before the cell symbol
    kind = f"cells {cells.cells[0]}×{cells.cells[1]}" if cells else pre.kind
    if cells is not None and cells.single:
        kind += " f32"
    x_hat = solved.image.astype(np.float64)
    residual = np.linalg.norm(op.apply(x_hat) - y) / np.linalg.norm(y)
    pair, solve = min(pairs), min(solves)
    report = solved.report
    # the pairs, and the preconditioner's set-up and its applications counted in pairs
    with_m = report.iterations + (min(setups) + report.iterations * min(applies)) / pair
    print(
        f"{name:38s} {dtype:7s} {kind:15s} {report.iterations:5d} {residual:9.1e} "
        f"{min(setups):8.3f} {min(applies) / pair:7.2f} {with_m:7.1f} {solve:8.3f} "
        f"{pair:7.4f} {solve / pair:8.1f} {min(again) / pair:8.1f}  {report.method}"
        f"{'' if report.converged else ' NOT converged'}",
        flush=True,
    )


def _kappa(op: ConvOperator, y: np.ndarray, args) -> None:
    """Extreme Ritz values of (M) A Aᵀ from the CG coefficients, and the symbol's κ²."""
    rhs = y.astype(np.float64)
    choices = [("none", None), ("the solve's", precond.SymbolPreconditioner(op))]
    saved = precond.FULL_SYMBOL_COST, precond.affordable_cells
    try:  # the diagonal symbol as before the cell symbol: no full symbol, no cells
        precond.FULL_SYMBOL_COST, precond.affordable_cells = 0, (lambda *_: 0)
        choices.insert(1, ("diagonal symbol", precond.SymbolPreconditioner(op)))
    finally:
        precond.FULL_SYMBOL_COST, precond.affordable_cells = saved
    for label, pre in choices:
        low, high, steps = _ritz(op, rhs, pre, args.rtol, 400)
        spread = f"({low:.3g} … {high:.3g}, {steps} steps)"
        print(f"  κ(M A Aᵀ), M {label:16s} ≥ {high / low:8.1f}  {spread}")
    print(f"  κ(A Aᵀ) of the symbol's estimate   {estimate_condition(op).kappa ** 2:8.1f}")


def _ritz(op, rhs, pre, rtol, limit) -> tuple[float, float, int]:
    """PCG on A Aᵀ z = y; the extreme eigenvalues of its Lanczos tridiagonal matrix."""
    z, r = np.zeros_like(rhs), rhs.copy()
    u = pre(r) if pre is not None else r.copy()
    p, rho, norm = u.copy(), float(np.vdot(r, u)), np.linalg.norm(rhs)
    alphas, betas = [], []
    for _ in range(limit):
        q = op.apply(op.apply_adjoint(p))
        alpha = rho / float(np.vdot(p, q))
        z += alpha * p
        r -= alpha * q
        alphas.append(alpha)
        if np.linalg.norm(r) <= rtol * norm:
            break
        u = pre(r) if pre is not None else r.copy()
        rho_new = float(np.vdot(r, u))
        betas.append(rho_new / rho)
        rho = rho_new
        p = u + betas[-1] * p
    k = len(alphas)
    diagonal = [1 / alphas[i] + (betas[i - 1] / alphas[i - 1] if i else 0.0) for i in range(k)]
    off = [np.sqrt(betas[i]) / alphas[i] for i in range(k - 1)]
    values = np.linalg.eigvalsh(np.diag(diagonal) + np.diag(off, 1) + np.diag(off, -1))
    return float(values[0]), float(values[-1]), k


def _transposed(w, shape, stride, padding, args, rng) -> None:
    """The layer's transpose as the layer under study: the small map → the big one."""
    h_out, w_out = ((n + 2 * padding - 3) // stride + 1 for n in shape[:2])
    small = (h_out, w_out, w.shape[3])
    op = ConvTransposeOperator.from_weights(
        w, input_shape=small, stride=stride, padding=padding, output_padding=stride - 1
    )
    y = op.apply(rng.random(small).astype(w.dtype))
    for flag in (False, True):
        start = time.perf_counter()
        solver = make_pinv_solver(op, rtol=args.rtol, preconditioned=flag)
        _, report = solver.solve(y.astype(np.float64), args.max_iter)
        seconds = time.perf_counter() - start
        label = f"  transposed, {'preconditioned' if flag else 'plain CG'}"
        print(
            f"{label:62s} {report.iterations:5d} {report.relative_residual:9.1e} "
            f"{'':8s} {seconds:8.2f}  {report.method} converged={report.converged}"
        )


def _priors(op: ConvOperator, y: np.ndarray) -> None:
    """Tikhonov, non-negative least squares and TV on the same layer: they run, in seconds."""
    runs = (
        ("Tikhonov reg 1e-2", lambda: pinv_reconstruction(y, op, reg=1e-2, rtol=1e-6)),
        ("nonneg, 20 iterations", lambda: nonneg_reconstruction(y, op, max_iter=20)),
        ("TV λ 1e-3, 20 iterations", lambda: tv_reconstruction(y, op, lam=1e-3, max_iter=20)),
    )
    for label, run in runs:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a 20-iteration prior is not converged
            solved = run()
        residual = np.linalg.norm(op.apply(solved.image) - y) / np.linalg.norm(y)
        pairs = solved.report.iterations
        print(
            f"  {label:36s} {pairs:5d} pairs, residual {residual:8.1e}, "
            f"{time.perf_counter() - start:6.2f} s  {solved.report.method}"
        )


if __name__ == "__main__":
    main()
