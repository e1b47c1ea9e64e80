"""The per-frequency (polyphase) pseudo-inverse against the iterative solver at 1 MP.

Run: ``python benchmarks/bench_polyphase.py [--size 1024] [--max-iter 300]``.

For astronaut resized to ``size²`` RGB, float32, circular padding 1 with a 3×3 filter
(periodic: the output tiles the input), stride 1 and 2, the default Gaussian and a
seeded random filter (one output channel), it prints for the closed form and for
``pinv_reconstruction(method="iterative")``: seconds, forward+adjoint pairs (the closed
form's cost in pairs is its seconds over one measured pair) and the relative residual
``‖A x − y‖ / ‖y‖``, and how far the iterative result is from the closed form.

Then the zero-padding stride-1 Gaussian (not periodic: the iterative solve), without a
time limit and with ``time_limit=2`` (``--time-limit``): seconds, iterations, residual,
converged, and the condition number the report names when it stops short.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from skimage import data, transform

from deconv_gui.core import ConvOperator, make_filter, pinv_reconstruction
from deconv_gui.core.solvers.condition import estimate_condition
from deconv_gui.core.solvers.polyphase import polyphase_solve


def _image(size: int) -> np.ndarray:
    image = transform.resize(data.astronaut(), (size, size), anti_aliasing=True)
    return image.astype(np.float32)


def _pair_seconds(op: ConvOperator, x: np.ndarray) -> float:
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        op.apply_adjoint(op.apply(x))
        best = min(best, time.perf_counter() - start)
    return best


def _row(label: str, op: ConvOperator, x: np.ndarray, max_iter: int) -> None:
    y = op.apply(x)
    pair = _pair_seconds(op, x)
    start = time.perf_counter()
    closed = polyphase_solve(op, y, dtype=np.float32).image
    t_closed = time.perf_counter() - start
    res_closed = np.linalg.norm(op.apply(closed.astype(np.float32)) - y) / np.linalg.norm(y)
    start = time.perf_counter()
    result = pinv_reconstruction(y, op, method="iterative", max_iter=max_iter)
    t_iter = time.perf_counter() - start
    image, report = result  # type: ignore[misc]
    gap = np.linalg.norm(image - closed) / np.linalg.norm(closed)
    print(
        f"{label:<28} closed form {t_closed:6.2f} s = {t_closed / pair:5.1f} pairs, "
        f"residual {res_closed:.1e} | iterative {t_iter:6.2f} s, {report.iterations:3d} it, "
        f"residual {report.relative_residual:.1e}, converged {report.converged} | gap {gap:.1e}"
    )


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
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--zero-only", action="store_true", help="only the zero-padding rows")
    args = parser.parse_args()
    x = _image(args.size)
    print(f"{args.size}² × 3 float32, circular padding 1, load {os.getloadavg()[0]:.1f}")
    filters = {
        "gaussian": make_filter("gaussian", in_channels=3),
        "random": np.random.default_rng(0).random((3, 3, 3)).astype(np.float32),
    }
    _zero_padding_rows(x, None, args.time_limit)
    if args.zero_only:
        return
    for stride in (1, 2):
        for name, w in filters.items():
            op = ConvOperator.from_weights(
                w, input_shape=x.shape, stride=stride, padding=1, padding_mode="circular"
            )
            _row(f"stride {stride}, {name}", op, x, args.max_iter)


if __name__ == "__main__":
    main()
