"""The pseudo-inverse of real layers (56²×64 → 128, 3×3, stride 2; …): pairs, residual, time.

Run: ``python benchmarks/bench_real_layers_pinv.py [--rtol 1e-6] [--max-iter 40] [--priors]``.

Random He-initialised weights (the layer as trained networks start), an image of
uniform noise, ``y = A x``; ``pinv_reconstruction`` with ``rtol`` and ``max_iter``
(one iteration = one forward + one adjoint). Prints iterations, the relative residual
‖A x̂ − y‖/‖y‖, seconds and the time of one forward+adjoint pair; with ``--priors`` also
Tikhonov (``reg`` 1e-2), non-negative least squares and TV (20 iterations each) on the
first layer; with ``--transposed`` also each layer's ConvTranspose2d (small map → big map,
``output_padding = stride − 1``) solved with and without the conv's symbol
preconditioner (CG on the normal equations). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from deconv_gui.core import ConvOperator, pinv_reconstruction
from deconv_gui.core.priors import nonneg_reconstruction, tv_reconstruction
from deconv_gui.core.solvers import make_pinv_solver
from deconv_gui.core.transposed import ConvTransposeOperator

LAYERS = (
    ("56²×64 → 128, 3×3, stride 2", (56, 56, 64), (3, 3, 64, 128), 2, 1),
    ("56²×64 → 64, 3×3, stride 1", (56, 56, 64), (3, 3, 64, 64), 1, 1),
    ("28²×128 → 256, 3×3, stride 2", (28, 28, 128), (3, 3, 128, 256), 2, 1),
    ("56²×64 → 128, 3×3, stride 2, 'same'", (56, 56, 64), (3, 3, 64, 128), 2, "same"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--max-iter", type=int, default=40)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--only-first", action="store_true")
    parser.add_argument("--priors", action="store_true")
    parser.add_argument(
        "--transposed",
        action="store_true",
        help="also each layer's ConvTranspose2d (the decoder's upsampling), with and without "
        "the conv's symbol preconditioner",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'layer':40s} {'pairs':>5s} {'residual':>9s} {'seconds':>8s} {'pair s':>7s}")
    for name, shape, filt, stride, padding in LAYERS[:1] if args.only_first else LAYERS:
        fan_in = filt[0] * filt[1] * filt[2]
        w = (rng.standard_normal(filt) * np.sqrt(2.0 / fan_in)).astype(args.dtype)
        x = rng.random(shape).astype(args.dtype)
        op = ConvOperator.from_weights(w, input_shape=shape, stride=stride, padding=padding)
        y = op.apply(x)
        start = time.perf_counter()
        op.apply_adjoint(op.apply(x))
        pair = time.perf_counter() - start
        start = time.perf_counter()
        solved = pinv_reconstruction(y, op, rtol=args.rtol, max_iter=args.max_iter)
        seconds = time.perf_counter() - start
        x_hat = solved.image.astype(np.float64)
        residual = np.linalg.norm(op.apply(x_hat) - y) / np.linalg.norm(y)
        report = solved.report
        print(
            f"{name:40s} {report.iterations:5d} {residual:9.1e} {seconds:8.2f} {pair:7.3f}"
            f"  {report.method} converged={report.converged}"
        )
        if args.priors and name == LAYERS[0][0]:
            _priors(op, y)
        if args.transposed and isinstance(padding, int):
            _transposed(name, w, shape, stride, padding, args, rng)


def _transposed(name, w, shape, stride, padding, args, rng) -> None:
    """The layer's transpose as the layer under study: the small map → the big one."""
    h_out, w_out = ((n + 2 * padding - 3) // stride + 1 for n in shape[:2])
    small = (h_out, w_out, w.shape[3])
    op = ConvTransposeOperator.from_weights(
        w, input_shape=small, stride=stride, padding=padding, output_padding=stride - 1
    )
    y = op.apply(rng.random(small).astype(args.dtype))
    for flag in (False, True):
        start = time.perf_counter()
        solver = make_pinv_solver(op, rtol=args.rtol, preconditioned=flag)
        _, report = solver.solve(y.astype(np.float64), args.max_iter)
        seconds = time.perf_counter() - start
        label = f"  transposed, {'preconditioned' if flag else 'plain CG'}"
        print(
            f"{label:40s} {report.iterations:5d} {report.relative_residual:9.1e} "
            f"{seconds:8.2f}          {report.method} converged={report.converged}"
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
            image = run().image
        residual = np.linalg.norm(op.apply(image) - y) / np.linalg.norm(y)
        print(f"  {label:38s} residual {residual:8.1e} {time.perf_counter() - start:8.2f} s")


if __name__ == "__main__":
    main()
