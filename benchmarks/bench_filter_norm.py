"""The tall conv's ``‖A‖`` (filter_norm) on a VGG-like layer: before and after, and the
time-limited pseudo-inverse it starts.

Run: ``PYTHONPATH=. python benchmarks/bench_filter_norm.py [--repeat 3] [--solve]``.

``before`` is the former computation (``Ŵ Ŵᴴ`` by einsum and ``eigvalsh`` at every frequency
of the 64² grid), ``after`` :func:`~deconv_gui.core.solvers.filter_norm.filter_norm`; both
print the value (they agree to rounding). ``--solve`` adds ``pinv_reconstruction`` with
``time_limit=2`` on a random image (set-up included: the norm comes before the first
iteration). Random He weights of ``features.5`` of VGG (64 → 128, 3×3, padding 1) on a
112² input.

Measured on a 2-core machine shared with other jobs (times in s, the range of 2-3 runs;
``pinv`` is ``pinv_reconstruction(..., time_limit=2)``, set-up included):

=====================================  ==========  ==========  ===========
64 → 128, 112², 3×3, padding 1          load        before      after
=====================================  ==========  ==========  ===========
filter_norm                             6-7         33-46       1.6-2.5
filter_norm                             4-5         13.2-17.8   0.32-0.37
filter_norm                             2-3         3.8-9.0     0.10-0.10
pinv, time_limit 2 (CGLS)               4-5         15.3-16.8   2.3-2.4 [#]_
pinv, time_limit 2 (CGLS)               2-3         6.2         2.1-2.1
=====================================  ==========  ==========  ===========

.. [#] One run of three took 5.6 s (5 iterations at ~1 s each while the load rose).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.fft

from deconv_gui.core import ConvOperator, pinv_reconstruction
from deconv_gui.core.solvers.filter_norm import filter_norm

SHAPE, FILTER = (112, 112, 64), (3, 3, 64, 128)


def before(op: ConvOperator, size: int = 64) -> float:
    """The former ``filter_norm``: every frequency's Gram matrix and its eigenvalues."""
    w = np.asarray(op.weights, np.float64)
    grid = (max(size, 4 * w.shape[0]), max(size, 4 * w.shape[1]))
    spectrum = scipy.fft.fft2(w, s=grid, axes=(0, 1)).reshape(*grid, w.shape[2], 1, -1)
    gram = np.einsum("...igo,...jgo->...gij", spectrum.conj(), spectrum)
    return float(np.sqrt(max(float(np.linalg.eigvalsh(gram).max()), 0.0)))


def _timed(function, repeat: int) -> tuple[float, list[float]]:
    times, value = [], 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return value, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--solve", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    w = rng.standard_normal(FILTER) * np.sqrt(2 / (9 * FILTER[2]))
    op = ConvOperator.from_weights(w, input_shape=SHAPE, padding=1)
    for name, function in (("before", lambda: before(op)), ("after", lambda: filter_norm(op))):
        value, times = _timed(function, args.repeat)
        print(f"{name:7s} ‖A‖ ≈ {value:.12f}  {min(times):6.2f} s  (runs {times})")
    if args.solve:
        x = rng.random(SHAPE)
        y = op.apply(x)
        start = time.perf_counter()
        solved = pinv_reconstruction(y, w, input_shape=SHAPE, padding=1, time_limit=2)
        print(f"pinv, time_limit 2: {time.perf_counter() - start:.2f} s; {solved.report.message}")


if __name__ == "__main__":
    main()
