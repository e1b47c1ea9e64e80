"""J⁺ of a three-convolution prefix at 224² (the network up to a layer, at a photo).

Run: ``python benchmarks/bench_network.py [--size 224] [--channels 16] [--max-iter 60]``.

The chain: conv 3×3 3→C, ReLU, conv 3×3 C→C stride 2, ReLU, max-pool 2, conv 3×3 C→2C,
with seeded random filters (He scaling) on astronaut resized to ``size²``. It prints the
seconds of one product with J and with Jᵀ, against one forward pass of the network, and
the seconds, iterations and relative residual of ``J⁺ (J x₀)`` (target: ≤ 10 s at 224²).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from skimage import data, transform

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import Conv, MaxPool, Network, ReLU


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
    parser.add_argument("--max-iter", type=int, default=60)
    args = parser.parse_args()
    x0 = transform.resize(data.astronaut(), (args.size, args.size), anti_aliasing=True)
    net = _network(args.size, args.channels)
    lin = net.linearize(x0)
    target = lin.apply(x0)
    t_forward = _seconds(lambda: net.forward(x0))
    t_j = _seconds(lambda: lin.apply(x0))
    t_jt = _seconds(lambda: lin.apply_adjoint(target))
    start = time.perf_counter()
    _x, report = lin.pinv(target, rtol=1e-6, max_iter=args.max_iter)
    t_pinv = time.perf_counter() - start
    print(
        f"{args.size}² × 3 → {net.shapes[-1]}, {args.channels} channels, "
        f"load {os.getloadavg()[0]:.1f}\n"
        f"forward {t_forward:.3f} s · J {t_j:.3f} s ({t_j / t_forward:.2f}×) · "
        f"Jᵀ {t_jt:.3f} s ({t_jt / t_forward:.2f}×)\n"
        f"J⁺: {t_pinv:.2f} s, {report.iterations} iterations, relative residual "
        f"{report.relative_residual:.1e}, converged {report.converged}"
    )


if __name__ == "__main__":
    main()
