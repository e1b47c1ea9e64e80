"""The per-frequency (polyphase) pseudo-inverse against the iterative solver at 1 MP.

Run: ``python benchmarks/bench_polyphase.py [--size 1024] [--repeat 5] [--periodic-only]
[--mixing-only]``.

For astronaut resized to ``size²`` RGB, circular padding 1 with a 3×3 filter (periodic:
the output tiles the input), stride 1 and 2, the default Gaussian and a seeded random
filter (one output channel), in float32 and float64, it prints the seconds of one
forward + adjoint pair and, in seconds and pairs (wall time over one pair, the minimum
of ``--repeat`` runs):

* ``auto``: ``pinv_reconstruction`` as a user calls it (its automatic choice, named),
  *cold* (the per-frequency factorisation cache emptied first: the first solve with a
  layer) and *warm* (another image with the same layer), with its relative residual
  ``‖A x − y‖ / ‖y‖``;
* ``iterative``: ``method="iterative"`` (symbol-preconditioned CG), its iterations and
  residual, and how far its image is from the automatic one.

Beside each count of pairs, ``CPU``: the same ratio of process CPU times (all threads), less
sensitive to other programs taking the cores than the wall time.

Against a checkout without the factorisation cache (an older main) every solve is cold;
the warm column then repeats the cold one. The load average is printed before and after:
the machine may be shared, hence the minima.

Freed buffers are kept for reuse as the app and the commands keep them
(:func:`deconv_gui.core.memory.keep_freed_memory`); ``--system-malloc`` leaves glibc's
defaults, as a library that imports the core has them.

Then (unless ``--periodic-only``) the zero-padding stride-1 Gaussian (not periodic: the
iterative solve), without a time limit and with ``time_limit=2`` (``--time-limit``):
seconds, iterations, residual, converged, and the condition number the report names
when it stops short.

Last (unless ``--no-mixing``; alone with ``--mixing-only``), layers whose output channels
mix the same inputs (groups 1, 3 → 3 and 3 → 8), stride 1 and 2, float32 and float64,
with three filters: ``random`` (seeded, uniform), ``gaussian mix`` (the Gaussian blur times
a seeded random 3 × C_out channel mixing: regular blocks, small at high frequencies) and
``gaussian preset`` (``make_filter("gaussian", out_channels=C_out)``: the same blur for
every output, so every block has rank 1). For each, one pair, the automatic solve cold and
warm in seconds and pairs (CPU ratio beside) and the relative residual of the normal
equations ``‖Aᵀ(A x − y)‖ / ‖Aᵀ y‖`` (0 to rounding for ``A⁺ y``). The factors of
every layer here fit the cache (one layer of up to 256 MiB is kept beside the small ones).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from skimage import data, transform

from deconv_gui.core import ConvOperator, make_filter, pinv_reconstruction
from deconv_gui.core.memory import keep_freed_memory
from deconv_gui.core.solvers import polyphase
from deconv_gui.core.solvers.condition import estimate_condition


def _image(size: int) -> np.ndarray:
    image = transform.resize(data.astronaut(), (size, size), anti_aliasing=True)
    return image.astype(np.float32)


def _best(run: Callable[[], Any], repeat: int, before: Callable[[], None] = lambda: None):
    """The least wall and process CPU times of ``repeat`` runs (``before`` untimed), and
    the last result."""
    wall, cpu, result = np.inf, np.inf, None
    for _ in range(repeat):
        before()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, result


def _clear() -> None:
    clear = getattr(polyphase, "clear_factor_cache", None)  # absent before the cache
    if clear is not None:
        clear()


def _row(label: str, op: ConvOperator, x: np.ndarray, repeat: int, max_iter: int) -> None:
    y = op.apply(x)
    pair, pair_cpu, _ = _best(lambda: op.apply_adjoint(op.apply(x)), max(repeat, 5))
    cold, cold_cpu, auto = _best(lambda: pinv_reconstruction(y, op), repeat, _clear)
    warm, warm_cpu, _ = _best(lambda: pinv_reconstruction(y, op), repeat)
    t_iter, iter_cpu, iterative = _best(
        lambda: pinv_reconstruction(y, op, method="iterative", max_iter=max_iter), 2
    )
    gap = np.linalg.norm(iterative.image - auto.image) / np.linalg.norm(auto.image)
    print(
        f"{label:<24} pair {pair * 1e3:5.1f} ms | auto ({auto.report.method}) cold "
        f"{cold:5.3f} s = {cold / pair:4.1f} pairs (CPU {cold_cpu / pair_cpu:4.1f}), warm "
        f"{warm:5.3f} s = {warm / pair:4.1f} (CPU {warm_cpu / pair_cpu:4.1f}), residual "
        f"{auto.report.relative_residual:.1e} | iterative {t_iter:5.3f} s = "
        f"{t_iter / pair:5.1f} pairs (CPU {iter_cpu / pair_cpu:5.1f}), "
        f"{iterative.report.iterations:3d} it, residual "
        f"{iterative.report.relative_residual:.1e} | gap {gap:.1e}"
    )


def _mixing_row(label: str, op: ConvOperator, x: np.ndarray, repeat: int) -> None:
    y = op.apply(x)
    pair, pair_cpu, _ = _best(lambda: op.apply_adjoint(op.apply(x)), max(repeat, 5))
    cold, cold_cpu, auto = _best(lambda: pinv_reconstruction(y, op), repeat, _clear)
    warm, warm_cpu, _ = _best(lambda: pinv_reconstruction(y, op), repeat)
    image = auto.image.astype(np.float64)
    y64 = y.astype(np.float64)
    normal = op.apply_adjoint(op.apply(image) - y64)
    residual = np.linalg.norm(normal) / np.linalg.norm(op.apply_adjoint(y64))
    print(
        f"{label:<40} pair {pair * 1e3:5.1f} ms | {auto.report.method} cold {cold:6.3f} s = "
        f"{cold / pair:5.1f} pairs (CPU {cold_cpu / pair_cpu:5.1f}), warm {warm:6.3f} s = "
        f"{warm / pair:5.1f} (CPU {warm_cpu / pair_cpu:5.1f}) | normal-equation residual "
        f"{residual:.1e}",
        flush=True,
    )


def _mixing_rows(x: np.ndarray, repeat: int) -> None:
    print(f"mixing layers (groups 1), circular padding 1, load {os.getloadavg()[0]:.1f}")
    rng = np.random.default_rng(0)
    blur = make_filter("gaussian", in_channels=1)[:, :, :, :1]  # (3, 3, 1, 1)
    for c_out in (3, 8):
        filters = {
            "random": rng.random((3, 3, 3, c_out)),
            "gaussian mix": blur * rng.standard_normal((3, c_out)),
            "gaussian preset": make_filter("gaussian", in_channels=3, out_channels=c_out),
        }
        for dtype in (np.float32, np.float64):
            for stride in (1, 2):
                for name, w in filters.items():
                    op = ConvOperator.from_weights(
                        np.asarray(w, dtype),
                        input_shape=x.shape,
                        stride=stride,
                        padding=1,
                        padding_mode="circular",
                    )
                    label = f"3->{c_out} {np.dtype(dtype).name} stride {stride} {name}"
                    _mixing_row(label, op, x.astype(dtype), repeat)
    print(f"load {os.getloadavg()[0]:.1f}")


def _zero_padding_rows(x: np.ndarray, max_iter: int | None, limit: float) -> None:
    w = make_filter("gaussian", in_channels=3)
    op = ConvOperator.from_weights(w, input_shape=x.shape, stride=1, padding=1)
    y = op.apply(x)
    start = time.perf_counter()
    kappa = estimate_condition(op).kappa
    t_kappa = time.perf_counter() - start
    print(f"zero padding 1, stride 1, gaussian: estimated κ(A) {kappa:.3g} in {t_kappa:.2f} s")
    for label, seconds in (("no time limit", None), (f"time limit {limit:g} s", limit)):
        start = time.perf_counter()
        solved = pinv_reconstruction(
            y, op, method="iterative", max_iter=max_iter, time_limit=seconds
        )
        took = time.perf_counter() - start
        report = solved.report
        print(
            f"  {label:<16} {took:6.2f} s, {report.iterations:3d} it, residual "
            f"{report.relative_residual:.1e}, converged {report.converged}"
        )
        if not report.converged:
            print(f"    {report.message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (minimum)")
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--zero-only", action="store_true", help="only the zero-padding rows")
    parser.add_argument("--periodic-only", action="store_true", help="only the periodic rows")
    parser.add_argument("--mixing-only", action="store_true", help="only the mixing layers")
    parser.add_argument("--no-mixing", action="store_true", help="leave the mixing layers out")
    parser.add_argument(
        "--system-malloc",
        action="store_true",
        help="leave glibc's defaults (the app and the commands keep freed buffers for reuse)",
    )
    args = parser.parse_args()
    kept = not args.system_malloc and keep_freed_memory()
    policy = "kept for reuse, as in the app" if kept else "returned (system malloc)"
    print(f"freed buffers {policy}")
    x = _image(args.size)
    if args.mixing_only:
        _mixing_rows(x, args.repeat)
        return
    print(f"{args.size}² × 3, circular padding 1, load {os.getloadavg()[0]:.1f}")
    filters = {
        "gaussian": make_filter("gaussian", in_channels=3),
        "random": np.random.default_rng(0).random((3, 3, 3)),
    }
    if not args.periodic_only:
        _zero_padding_rows(x, None, args.time_limit)
    if args.zero_only:
        return
    for dtype in (np.float32, np.float64):
        for stride in (1, 2):
            for name, w in filters.items():
                op = ConvOperator.from_weights(
                    np.asarray(w, dtype),
                    input_shape=x.shape,
                    stride=stride,
                    padding=1,
                    padding_mode="circular",
                )
                label = f"{np.dtype(dtype).name} stride {stride} {name}"
                _row(label, op, x.astype(dtype), args.repeat, args.max_iter)
    print(f"load {os.getloadavg()[0]:.1f}")
    if not args.no_mixing:
        _mixing_rows(x, args.repeat)


if __name__ == "__main__":
    main()
