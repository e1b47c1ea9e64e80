"""Benchmark :func:`run_pipeline` stage by stage; print a table with the metrics targets.

Run: ``python benchmarks/bench_pipeline.py [--sizes 256 512] [--repeat 7] [--insight]``.

For skimage's astronaut (float32, resized to ``size × size × 3``) and the Gaussian
3×3×3 filter (``make_filter("gaussian")``) with padding 1 at stride 2 and stride 1,
it runs the pipeline with every reconstruction (``METHODS``; ``--insight`` adds
``coverage`` and ``nullspace``) and prints the median seconds of each stage from
``Result.timings``. Two metrics rows per case:

* ``live``: ``Params(ssim=False)``, what the window runs after an edit (SSIM is filled
  in afterwards by :func:`~deconv_gui.core.complete_metrics`, timed in the
  ``+ssim`` column);
* ``full``: ``Params(ssim=True)`` (the default; the command line and export).

Every repeat uses freshly perturbed weights (``w · (1 + 1e-9 k)``), so the adjoint
dot test's cache never hits: the times are those of a filter edit, the worst case.
Targets (issue 4's live budget): the ``live`` metrics stage ≤ 15 ms at 256² and
≤ 40 ms at 512². The machine is shared: read medians and ratios, not single runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np
from skimage import data, transform

import deconv_gui.core as core
from deconv_gui.core import METHODS, Params, make_filter, run_pipeline

TARGETS_MS = {256: 15.0, 512: 40.0}
STAGES = ("forward", "transposed", "normalized_transposed", "pinv", "coverage", "nullspace")


def astronaut(size: int) -> np.ndarray:
    image = transform.resize(data.astronaut(), (size, size), anti_aliasing=True)
    return image.astype(np.float32)


def run_case(image, stride, methods, ssim, repeat):
    """Median seconds per stage (plus ``+ssim`` and ``total``) over ``repeat`` runs."""
    weights = make_filter("gaussian")
    has_flag = "ssim" in {f.name for f in dataclasses.fields(Params)}
    times: dict[str, list[float]] = {}
    for k in range(repeat + 1):  # the first run warms caches and thread pools: dropped
        kwargs = {"ssim": ssim} if has_flag else {}
        params = Params(
            weights * (1 + 1e-9 * k), stride=stride, padding=1, methods=methods, **kwargs
        )
        start = time.perf_counter()
        result = run_pipeline(image, params)
        total = time.perf_counter() - start
        second = 0.0
        if has_flag and not ssim and hasattr(core, "complete_metrics"):
            start = time.perf_counter()
            core.complete_metrics(result)
            second = time.perf_counter() - start
        if k == 0:
            continue
        for name, seconds in result.timings.items():
            times.setdefault(name, []).append(seconds)
        times.setdefault("+ssim", []).append(second)
        times.setdefault("total", []).append(total)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--insight", action="store_true", help="add coverage and nullspace")
    args = parser.parse_args()
    methods = METHODS + (("coverage", "nullspace") if args.insight else ())
    stages = [s for s in STAGES if s in ("forward", *methods)]
    columns = [*stages, "metrics", "+ssim", "total"]
    header = f"{'size':>5} {'stride':>6} {'ssim':>5} " + " ".join(f"{c[:11]:>11}" for c in columns)
    print(f"methods: {', '.join(methods)}; Gaussian 3×3×3, padding 1; ms, median of {args.repeat}")
    print(header + f" {'target':>8} {'ok':>3}")
    print("-" * (len(header) + 13))
    for size in args.sizes:
        image = astronaut(size)
        for stride in (2, 1):
            for ssim in (False, True):
                medians = run_case(image, stride, methods, ssim, args.repeat)
                cells = " ".join(
                    f"{medians[c] * 1e3:11.1f}" if c in medians else f"{'–':>11}" for c in columns
                )
                target = TARGETS_MS.get(size)
                verdict = ""
                if target is not None and not ssim:
                    ok = "yes" if medians["metrics"] * 1e3 <= target else "NO"
                    verdict = f"{target:8.0f} {ok:>3}"
                label = "full" if ssim else "live"
                print(f"{size:>5} {stride:>6} {label:>5} {cells} {verdict}")


if __name__ == "__main__":
    main()
