"""J⁺ of a three-convolution prefix at 224² (the network up to a layer, at a photo).

Run: ``PYTHONPATH=. python benchmarks/bench_network.py [--size 224] [--channels 16]
[--max-iter 300] [--blas-threads 1] [--rtol 1e-6] [--model three.onnx --layer /conv3/Conv]``
(``--model``: the guide's three-conv net of ``scripts/make_network_model.py`` instead).

The chain: conv 3×3 3→C, ReLU, conv 3×3 C→C stride 2, ReLU, max-pool 2, conv 3×3 C→2C,
with seeded random filters (He scaling) on astronaut resized to ``size²``. It prints the
seconds of one product with J and with Jᵀ, against one forward pass of the network, and
the seconds, iterations and relative residual of ``J⁺ (J x₀)`` to a relative residual of
10⁻⁶ (target: ≤ 10 s at 224²): plain CG (the reference), the last convolution's symbol
alone with the switch to CGLS at a residual plateau (before), and ours (the symbol, then
the block-Jacobi preconditioner if it has not converged within as many iterations as the
blocks cost, and no CGLS: ``J x₀`` is in the range), with the ratio ours/reference.

BLAS runs one thread by default, as the window runs it (:mod:`deconv_gui.gui.runner`):
on a busy machine, OpenBLAS's threads spinning at each per-tap product made the plain
solve take 115 s here instead of 13 s (load 9 on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from skimage import data, transform

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import Conv, MaxPool, Network, ReLU
from deconv_gui.core.network.precondition import prefix_preconditioner
from deconv_gui.core.threads import limit_blas_threads


def _network(size: int, channels: int) -> Network:
    rng = np.random.default_rng(0)

    def conv(shape, c_in, c_out, stride):
        w = rng.standard_normal((3, 3, c_in, c_out)) * np.sqrt(2 / (9 * c_in))
        op = ConvOperator.from_weights(
            w.astype(np.float32), input_shape=shape, stride=stride, padding=1
        )
        return Conv(op, rng.standard_normal(c_out).astype(np.float32) * 0.1)

    c1 = conv((size, size, 3), 3, channels, 1)
    c2 = conv((size, size, channels), channels, channels, 2)
    half = c2.op.geometry.output_shape
    c3 = conv((half[0] // 2, half[1] // 2, channels), channels, 2 * channels, 1)
    return Network([c1, ReLU(), c2, ReLU(), MaxPool(2), c3])


def _seconds(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--model", default=None, help="an ONNX model instead of the random net")
    parser.add_argument("--layer", default="/conv3/Conv", help="its layer (with --model)")
    args = parser.parse_args()
    limit_blas_threads(args.blas_threads)
    x0 = transform.resize(data.astronaut(), (args.size, args.size), anti_aliasing=True)
    net = _network(args.size, args.channels)
    if args.model is not None:  # the guide's three-conv net (scripts/make_network_model.py)
        from deconv_gui.io.models import read_model
        from deconv_gui.io.models.activations import model_input
        from deconv_gui.io.models.network import model_network

        model = read_model(args.model)
        x0 = model_input(x0, model, "unit")
        net = model_network(model, args.layer, x0.shape)
    lin = net.linearize(x0)
    target = lin.apply(x0)
    t_forward = _seconds(lambda: net.forward(x0))
    t_j = _seconds(lambda: lin.apply(x0))
    t_jt = _seconds(lambda: lin.apply_adjoint(target))
    print(
        f"{args.size}² × 3 → {net.shapes[-1]}, {args.channels} channels, BLAS "
        f"{args.blas_threads} thread(s), load {os.getloadavg()[0]:.1f}\n"
        f"forward {t_forward:.3f} s · J {t_j:.3f} s ({t_j / t_forward:.2f}×) · "
        f"Jᵀ {t_jt:.3f} s ({t_jt / t_forward:.2f}×)"
    )
    rows = (
        ("reference (plain CG)", None, False),
        ("symbol only (before)", prefix_preconditioner(net), False),
        ("ours (symbol, then blocks)", "auto", True),
    )
    solves = {}
    for name, preconditioner, consistent in rows:
        start = time.perf_counter()
        x, report = lin.pinv(
            target,
            rtol=args.rtol,
            max_iter=args.max_iter,
            preconditioner=preconditioner,
            consistent=consistent,
        )
        seconds = time.perf_counter() - start
        solves[name] = (x, seconds, report.iterations)
        print(
            f"J⁺ {name}: {seconds:.2f} s, {report.iterations} iterations, relative "
            f"residual {report.relative_residual:.1e}, converged {report.converged}"
            f"{' (' + report.method + ')' if report.method != 'pcg' else ''}"
        )
    (x_ref, t_ref, it_ref), _before, (x_ours, t_ours, it_ours) = solves.values()
    gap = np.linalg.norm(x_ours - x_ref) / np.linalg.norm(x_ref)
    print(
        f"ours/reference: {t_ours / t_ref:.2f}× the seconds, {it_ours / it_ref:.2f}× the "
        f"iterations; the two J⁺ differ by {gap:.1e} (relative)"
    )


if __name__ == "__main__":
    main()
