"""Large filters and the dense pseudo-inverse: the figures behind two limits of the core.

Run ``python benchmarks/bench_limits.py [--repeats N]``. Two tables:

1. **Large filters**: ``conv2d`` and ``conv2d_transpose`` on a 213×256×3 image with
   filters up to 200×200 (the FFT kernels take over from the direct ones by a cost
   model). Target: the forward pass takes at most ~2× the adjoint at every size
   (before: 54.6 s forward vs 1.1 s adjoint at 100×100).
2. **Dense vs iterative pseudo-inverse**: the dense SVD solve against the iterative one
   around :data:`~deconv_gui.core.solvers.dense.DENSE_SOLVE_COST`; ``auto`` picks the
   dense path only where it is well under a second (target: < 0.25 s).

Times are medians of ``--repeats`` runs after a warm-up, with BLAS at one thread (as in
the window's worker threads). They depend on the machine's load: the ratios are the
figures to read.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from deconv_gui.core import conv2d, conv2d_transpose, make_filter, pinv_reconstruction
from deconv_gui.core.solvers.dense import dense_is_fast

__all__ = ["main"]

#: (filter side, stride, padding, C_out, dtype)
FILTER_ROWS = [
    (3, 1, 1, 1, np.float32),
    (7, 1, 3, 1, np.float32),
    (11, 2, 5, 1, np.float32),
    (25, 1, 0, 1, np.float32),
    (100, 1, 0, 1, np.float32),
    (100, 2, 3, 2, np.float64),
    (200, 1, 0, 1, np.float32),
]
#: (image shape, C_out, stride, padding)
DENSE_ROWS = [
    ((7, 7, 3), 1, 2, 0),
    ((12, 12, 1), 1, 1, 1),
    ((10, 10, 3), 1, 1, 1),
    ((16, 16, 3), 1, 2, 1),
    ((20, 20, 1), 1, 1, 2),
    ((20, 20, 3), 1, 1, 2),
    ((32, 32, 1), 1, 1, 1),
]


def median_ms(func: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``func()`` in milliseconds after one warm-up call."""
    func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def filter_table(repeats: int) -> None:
    rng = np.random.default_rng(0)
    print("large filters on a 213×256×3 image (target: forward ≤ 2× adjoint)")
    print(f"{'filter':>16} {'s':>2} {'p':>3} {'dtype':>8} {'fwd ms':>9} {'adj ms':>9} {'ratio':>6}")
    for side, stride, padding, c_out, dtype in FILTER_ROWS:
        x = rng.random((213, 256, 3)).astype(dtype)
        w = rng.standard_normal((side, side, 3, c_out)).astype(dtype)
        hyper = {"stride": stride, "padding": padding}
        y = conv2d(x, w, **hyper)
        fwd = median_ms(lambda x=x, w=w, hyper=hyper: conv2d(x, w, **hyper), repeats)
        adj = median_ms(
            lambda y=y, w=w, hyper=hyper: conv2d_transpose(
                y, w, input_shape=(213, 256, 3), **hyper
            ),
            repeats,
        )
        name = f"{side}×{side}×3×{c_out}"
        ok = "ok" if fwd <= 2 * adj else "SLOW"
        print(
            f"{name:>16} {stride:>2} {padding:>3} {np.dtype(dtype).name:>8} "
            f"{fwd:9.1f} {adj:9.1f} {fwd / adj:6.2f} {ok}"
        )


def dense_table(repeats: int) -> None:
    rng = np.random.default_rng(1)
    print("\npseudo-inverse, dense SVD vs iterative (Laplacian 3×3; auto = what auto picks)")
    print(f"{'image':>10} {'m×n':>12} {'m·n·min':>9} {'dense ms':>9} {'iter ms':>8} {'auto':>9}")
    for shape, c_out, stride, padding in DENSE_ROWS:
        w = make_filter("laplacian", in_channels=shape[2], out_channels=c_out)
        x = rng.random(shape)
        hyper = {"stride": stride, "padding": padding}
        y = conv2d(x, w, **hyper)
        m, n = y.size, x.size
        runs = {}
        for method in ("dense", "iterative"):
            runs[method] = median_ms(
                lambda method=method, y=y, w=w, shape=shape, hyper=hyper: (
                    pinv_reconstruction(y, w, input_shape=shape, method=method, **hyper).image
                ),
                repeats,
            )
        auto = "dense" if dense_is_fast(m, n) else "iterative"
        print(
            f"{'×'.join(map(str, shape)):>10} {f'{m}×{n}':>12} {m * n * min(m, n):9.1e} "
            f"{runs['dense']:9.1f} {runs['iterative']:8.1f} {auto:>9}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with threadpool_limits(1):
        filter_table(args.repeats)
        dense_table(args.repeats)


if __name__ == "__main__":
    main()
