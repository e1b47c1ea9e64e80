"""One layer with its activation through the pipeline: pinv (J⁺) and relu_preimage at 256².

Run: ``PYTHONPATH=. python benchmarks/bench_activation.py [--size 256] [--channels 4]
[--bias -0.1] [--only pinv|relu_preimage]``.

A seeded random 3×3 filter (3 → ``channels``, stride 2, padding 1) on astronaut resized to
``size²``, with activation relu and leaky_relu: the seconds, iterations and convergence of
``pinv`` (``J⁺(y − c)``; a leaky ReLU's invertible ``D`` lets it use the conv's own
preconditioned solve) and of ``relu_preimage`` (a primal-dual active set with
preconditioned CG, L-BFGS-B on the dual before), and the preimage's zero outputs and free
directions. Measured here (2 shared cores, 256², 4 channels, bias −0.1): relu pinv 0.3 s
(21 iterations), relu_preimage 11-19 s (25 iterations) at load 9, leaky pinv 1.3 s (21
iterations). relu_preimage at load 0.5: L-BFGS-B 1.1-1.3 s (25 iterations; 1.4-1.8 s with
noise 0.01-0.05), the active set 0.20-0.26 s (38-41 CG iterations in four passes, the same
1,610 tight inequalities, equations met to 2·10⁻⁸ instead of 8·10⁻⁸).

The rows with noise (σ = 0.05) or Tikhonov (reg = 10⁻²) solve with ``J`` itself, where the
conv's own solve does not apply. Iterations (load 2): plain CG on ``J`` (and the blocks
after 16) before, the conv's symbol scaled by the slopes after — relu 20 → 13, noise
23 → 23, reg 20 → 13; leaky_relu (slope 0.01) noise 200 (NOT converged, the iteration
limit) → 13, reg 24 → 22.
"""

from __future__ import annotations

import argparse
import time

from deconv_gui.core import Params, make_filter, run_pipeline
from deconv_gui.io import load_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--bias", type=float, default=-0.1)
    parser.add_argument("--only", action="append", choices=("pinv", "relu_preimage"))
    args = parser.parse_args()
    x = load_sample("astronaut", args.size).pixels
    w = make_filter("random", in_channels=3, out_channels=args.channels, seed=1)
    rows = [(a, m, {}) for a in ("relu", "leaky_relu") for m in ("pinv", "relu_preimage")]
    # J⁺ where the conv's own solve does not apply: y outside J's range, or Tikhonov
    rows += [(a, "pinv", {"noise_sigma": 0.05}) for a in ("relu", "leaky_relu")]
    rows += [(a, "pinv", {"reg": 1e-2}) for a in ("relu", "leaky_relu")]
    for activation, method, extra in rows:
        if args.only and method not in args.only:
            continue
        params = Params(
            w, bias=args.bias, stride=2, activation=activation, methods=(method,), **extra
        )
        start = time.perf_counter()
        result = run_pipeline(x, params)
        seconds = time.perf_counter() - start
        report = result.solver if method == "pinv" else result.prior_reports[method]
        assert report is not None
        state = "converged" if report.converged else "NOT converged"
        what = " ".join(f"{k}={v:g}" for k, v in extra.items())
        line = (
            f"{activation:10} {method:13} {what:16} {seconds:6.2f} s  "
            f"{report.iterations:4} it  {state}"
        )
        if method == "relu_preimage" and result.metrics.preimage is not None:
            line += f"  {result.metrics.preimage.summary()}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
