"""A DenseNet block of ``n`` layers: seconds to linearise and of one ``J v`` and ``Jᵀ u``.

Run: ``PYTHONPATH=. python benchmarks/bench_dense_block.py [--layers 12 24] [--sizes 8 32]
[--growth 4] [--most 100000]``

The block as the model readers build it (each graph node one layer object, shared by
the branches and nested stacks that hold it): conv 3×3 3→g and ReLU, then ``n`` layers
each a 1×1 conv and ReLU of the stack of every map before it, then a 3×3 conv head of
the stack of all. It prints, per ``n`` and size, the layer evaluations of one forward
pass (each layer's ``forward`` counted), the seconds of ``linearize`` (forward pass and
offset ``J x₀``), of one ``J v`` and of one ``Jᵀ u`` (best of three), and the machine's
load. Walked branch by branch the block costs about ``2^(n+1)`` evaluations a pass, each
node once about ``2n + 3``; a pass of more than ``--most`` evaluations (counted on a
1×1 copy first) is not timed. BLAS runs one thread, as the window runs it.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import Concat, Conv, Network, ReLU
from deconv_gui.core.threads import limit_blas_threads


def dense_block(n: int, size: int, growth: int = 4, made: list[Any] | None = None) -> Network:
    """The block of the module (as the readers build it: shared layer objects); ``made``
    gets the block's layers (each once)."""
    rng = np.random.default_rng(0)
    made = [] if made is None else made

    def conv(c_in: int, c_out: int, k: int, name: str) -> Conv:
        w = rng.standard_normal((k, k, c_in, c_out)) * np.sqrt(2 / (k * k * c_in))
        pad = (k - 1) // 2
        op = ConvOperator.from_weights(w, input_shape=(size, size, c_in), padding=pad)
        return Conv(op, rng.standard_normal(c_out) * 0.1, name=name)

    branches: list[tuple[Any, ...]] = [()]
    for i in range(n):
        stack = Concat(list(branches), name=f"cat{i}")
        layer = conv(growth * (i + 1), growth, 1, f"conv{i}")
        branches.append((stack, layer, ReLU(name=f"relu{i}")))
        made += branches[-1][1:]
    layers = [conv(3, growth, 3, "c0"), ReLU(name="relu"), Concat(branches, name="stack")]
    return Network([*layers, conv(growth * (n + 1), 2, 3, "head")], (size, size, 3))


def forward_count(network: Network, layers: list[Any], x: np.ndarray) -> int:
    """The layer evaluations of one forward pass: each call of the block's ``layers``'
    ``forward``, and the chain's three layers."""
    count = 0
    for layer in layers:
        original = layer.forward

        def counted(arr: np.ndarray, original: Any = original) -> Any:
            nonlocal count
            count += 1
            return original(arr)

        layer.forward = counted  # type: ignore[method-assign]
    network.forward(x)
    return count + 3  # the chain's conv, ReLU and head


def _seconds(fn: Any, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return float(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[12, 24])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--growth", type=int, default=4)
    parser.add_argument("--most", type=int, default=100_000)
    args = parser.parse_args()
    limit_blas_threads(1)
    rng = np.random.default_rng(1)
    for n in args.layers:
        made: list[Any] = []
        small = dense_block(n, 1, args.growth, made)
        evaluations = forward_count(small, made, rng.random((1, 1, 3)))
        for size in args.sizes:
            line = f"n = {n:2d}, {size}×{size}: {evaluations} evaluations a pass"
            if evaluations > args.most:
                print(f"{line}; not timed (more than {args.most})", flush=True)
                continue
            net = dense_block(n, size, args.growth)
            x0 = rng.random((size, size, 3))
            t_lin = _seconds(lambda net=net, x0=x0: net.linearize(x0))
            lin = net.linearize(x0)
            u = rng.standard_normal(lin.output_shape)
            t_j = _seconds(lambda lin=lin, x0=x0: lin.apply(x0))
            t_jt = _seconds(lambda lin=lin, u=u: lin.apply_adjoint(u))
            print(
                f"{line}; linearize {t_lin:.4f} s · J v {t_j:.4f} s · Jᵀ u {t_jt:.4f} s "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
