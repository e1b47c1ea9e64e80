"""Benchmark the reconstructions with a prior; print a table with the targets.

Run: ``python benchmarks/bench_priors.py [--lam 1e-3] [--repeat 1] [--no-compare]``.

For scikit-image's camera (256², grey) and astronaut (256², RGB), float32 in [0, 1], a
Gaussian 3×3 filter (``make_filter``, one output channel), stride 2, padding 1, and
Gaussian noise σ = 0.01 (seed 0), it prints the PSNR against the clean image, the
seconds and the iterations of: the pseudo-inverse, Tikhonov with ``reg`` chosen by
``choose_reg`` (discrepancy principle with the known σ, and GCV), TV with ``x ≥ 0``,
non-negative least squares and Richardson–Lucy (on the data clipped at 0, since
Gaussian noise makes some of it negative). The ``choose_reg`` rows' seconds include
the search.

Then the same TV problem (without ``x ≥ 0``, which PyProximal's primal–dual solver
does not take with a data operator) solved as a PyProximal user would, following its
deblurring tutorial: the operator built from PyLops (one ``Convolve2D`` per channel,
``HStack``, a ``Restriction`` for the stride), ``L2(Op, b)`` as the data term (its
prox by inner CG), ``L21`` on forward differences along the two image axes, and
``PrimalDual`` with ``τ = 1``, ``μ = 1/8``. Its time is measured to the first iterate
whose objective is at most ours (the clock stops while the callback evaluates the
objective). PyProximal stops after ``--budget`` seconds (the ratio is then a lower bound).
Finally TV with ``x ≥ 0`` on astronaut 512² RGB at stride 2, and TV and non-negative LS
for 20 iterations on a 128-channel layer (56²×64 → 128, 3×3, stride 2; ``--channels-only``
runs just these), in seconds and in forward+adjoint pairs per iteration.

The machine running this may be shared: other processes on the same cores inflate
every time here, ours and PyProximal's alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from skimage import data, transform
from skimage.metrics import peak_signal_noise_ratio

from deconv_gui.core import (
    ConvGeometry,
    ConvOperator,
    choose_reg,
    conv2d,
    make_filter,
    nonneg_reconstruction,
    pinv_reconstruction,
    richardson_lucy,
    total_variation,
    tv_reconstruction,
)

SIGMA = 0.01
STRIDE, PADDING = 2, 1
PYPROXIMAL_MAX_ITER = 5000
#: PyProximal's run stops after this many seconds (then our ratio is a lower bound).
PYPROXIMAL_BUDGET = 120.0


def sample(name: str, size: int) -> np.ndarray:
    image = getattr(data, name)()
    image = transform.resize(image, (size, size), anti_aliasing=True)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    return image.astype(np.float32)


def problem(image: np.ndarray):
    weights = make_filter("gaussian", size=3, in_channels=image.shape[2])
    y = conv2d(image, weights.astype(np.float32), stride=STRIDE, padding=PADDING)
    noise = SIGMA * np.random.default_rng(0).standard_normal(y.shape)
    return weights, (y + noise).astype(np.float32)


def timed(func, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def tv_objective(op: ConvOperator, y: np.ndarray, x: np.ndarray, lam: float) -> float:
    r = op.matvec(x.astype(np.float64).ravel()) - y.astype(np.float64).ravel()
    return 0.5 * float(r @ r) + lam * total_variation(x.reshape(op.geometry.input_shape))


def rows_for(name: str, image: np.ndarray, lam: float, repeat: int) -> list[tuple]:
    weights, y = problem(image)
    kw = {"input_shape": image.shape, "stride": STRIDE, "padding": PADDING}

    def psnr(x):
        return peak_signal_noise_ratio(image, np.clip(x, 0, 1).astype(np.float32), data_range=1)

    rows = []
    sec, res = timed(lambda: pinv_reconstruction(y, weights, **kw), repeat)
    rows.append((name, "pinv A⁺y", psnr(res.image), sec, res.report.iterations, ""))
    for rule in ("discrepancy", "gcv"):
        sigma = SIGMA if rule == "discrepancy" else None

        def tikhonov(sigma=sigma, rule=rule):
            choice = choose_reg(y, weights, **kw, sigma=sigma, rule=rule)
            out = pinv_reconstruction(y, weights, **kw, reg=choice.reg)
            return choice, out

        sec, (choice, res) = timed(tikhonov, repeat)
        rows.append(
            (
                name,
                f"Tikhonov ({rule})",
                psnr(res.image),
                sec,
                res.report.iterations,
                f"reg {choice.reg:.2e}, {choice.evaluations} evaluations",
            )
        )
    sec, res = timed(
        lambda: tv_reconstruction(y, weights, **kw, lam=lam, nonneg=True),
        repeat,
    )
    rows.append(
        (
            name,
            f"TV λ={lam:g}, x≥0",
            psnr(res.image),
            sec,
            res.report.iterations,
            f"objective {res.report.objective:.6g}",
        )
    )
    sec, res = timed(lambda: nonneg_reconstruction(y, weights, **kw), repeat)
    rows.append(
        (
            name,
            "non-negative LS",
            psnr(res.image),
            sec,
            res.report.iterations,
            "converged" if res.report.converged else "NOT converged",
        )
    )
    clipped = np.maximum(y, 0)
    sec, res = timed(lambda: richardson_lucy(clipped, weights, **kw, n_iter=50), repeat)
    rows.append(
        (
            name,
            "Richardson–Lucy",
            psnr(res.image),
            sec,
            res.report.iterations,
            f"KL {res.report.objective:.4g}",
        )
    )
    return rows


def pylops_problem(image: np.ndarray, weights: np.ndarray):
    import pylops

    h, w, c_in = image.shape
    # correlation = convolution with the flipped kernel, centred ("same" size = padding 1)
    convs = [
        pylops.signalprocessing.Convolve2D(
            (h, w), h=weights[::-1, ::-1, c, 0].astype(np.float64), offset=(1, 1)
        )
        for c in range(c_in)
    ]
    rows = np.arange(0, h, STRIDE)
    cols = np.arange(0, w, STRIDE)
    keep = (rows[:, None] * w + cols[None, :]).ravel()
    blur = pylops.Restriction(h * w, keep) @ pylops.HStack(convs)
    dims = (c_in, h, w)
    grad = pylops.VStack(
        [
            pylops.FirstDerivative(dims, axis=1, kind="forward"),
            pylops.FirstDerivative(dims, axis=2, kind="forward"),
        ]
    )
    return blur, grad


def compare_pyproximal(name: str, image: np.ndarray, lam: float, budget: float) -> tuple | None:
    try:
        import pyproximal
    except ImportError:
        return None
    weights, y = problem(image)
    kw = {"input_shape": image.shape, "stride": STRIDE, "padding": PADDING}
    op = ConvOperator(ConvGeometry(image.shape, weights.shape, STRIDE, PADDING), weights)
    results = {}
    for dtype in (np.float32, np.float64):
        sec, res = timed(
            lambda dtype=dtype: tv_reconstruction(y.astype(dtype), weights, **kw, lam=lam),
            1,
        )
        results[dtype] = (sec, res.report.iterations, tv_objective(op, y, res.image, lam))
    target = results[np.float64][2]

    blur, grad = pylops_problem(image, weights)
    y64 = y.astype(np.float64)
    stacked = blur @ np.moveaxis(image.astype(np.float64), 2, 0).ravel()
    clean = conv2d(image.astype(np.float64), weights, stride=STRIDE, padding=PADDING)
    assert np.allclose(stacked, clean.ravel(), atol=1e-6), "PyLops model differs from conv2d"
    l2 = pyproximal.L2(Op=blur, b=y64.ravel(), niter=10, warm=True)
    l21 = pyproximal.L21(ndim=2, sigma=lam)
    state = {"start": time.perf_counter(), "paused": 0.0, "hit": None, "iters": 0, "best": np.inf}

    def callback(x):
        stop = time.perf_counter()
        state["iters"] += 1
        if state["hit"] is None:
            image_x = np.moveaxis(x.reshape(image.shape[2], *image.shape[:2]), 0, 2)
            value = tv_objective(op, y, image_x, lam)
            state["best"] = min(state["best"], value)
            if value <= target:
                state["hit"] = (stop - state["start"] - state["paused"], state["iters"])
                raise StopIteration
            if stop - state["start"] - state["paused"] > budget:
                raise StopIteration
        state["paused"] += time.perf_counter() - stop

    state["start"] = time.perf_counter()
    try:
        pyproximal.optimization.primaldual.PrimalDual(
            l2,
            l21,
            grad,
            x0=np.zeros(blur.shape[1]),
            tau=1.0,
            mu=1.0 / 8.0,
            theta=1.0,
            niter=PYPROXIMAL_MAX_ITER,
            callback=callback,
        )
    except StopIteration:
        pass
    total = time.perf_counter() - state["start"] - state["paused"]
    return name, results, target, state["hit"], total, state["iters"], state["best"]


def channels_rows(iterations: int = 20) -> None:
    """TV and non-negative LS on a real layer, 56²×64 → 128, 3×3, stride 2 (float32): the
    seconds of ``iterations`` iterations and the cost of one iteration in forward+adjoint
    pairs (a FISTA iteration needs one pair; the rest is the step-size bound, the TV prox
    and the duality gap)."""
    from deconv_gui.core.solvers.first_order import operator_norm_bound

    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((3, 3, 64, 128)) / 24).astype(np.float32)
    op = ConvOperator.from_weights(weights, input_shape=(56, 56, 64), stride=2, padding=1)
    x = rng.random((56, 56, 64), dtype=np.float32)
    y = op.apply(x)
    pair = min(timed(lambda: op.apply_adjoint(op.apply(x)), 1)[0] for _ in range(3))
    bound = timed(lambda: operator_norm_bound(op), 1)[0]
    print(f"\n56²×64 → 128, 3×3, stride 2, float32: one forward+adjoint pair {pair:.3f} s, ")
    print(f"the step-size bound (operator_norm_bound) {bound:.3f} s = {bound / pair:.1f} pairs")
    solves = {
        "TV λ=1e-3": lambda: tv_reconstruction(y, op, lam=1e-3, max_iter=iterations),
        "non-negative LS": lambda: nonneg_reconstruction(y, op, max_iter=iterations),
    }
    for name, solve in solves.items():
        sec, result = timed(solve, 1)
        its = result.report.iterations
        print(
            f"  {name:<18}{sec:>8.2f} s for {its} iterations: "
            f"{sec / its / pair:.2f} pairs per iteration (set-up included)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lam", type=float, default=1e-3)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-compare", action="store_true", help="skip PyProximal")
    parser.add_argument(
        "--budget", type=float, default=PYPROXIMAL_BUDGET, help="seconds for PyProximal"
    )
    parser.add_argument(
        "--channels-only", action="store_true", help="only the 128-channel layer's rows"
    )
    args = parser.parse_args()
    if args.channels_only:
        channels_rows()
        return
    print(
        f"Gaussian 3×3, stride {STRIDE}, padding {PADDING}, noise σ = {SIGMA}, float32 data; "
        f"median of {args.repeat} run(s)"
    )
    header = f"{'image':<20}{'method':<26}{'PSNR dB':>8}{'seconds':>9}{'iters':>7}  note"
    print(header)
    print("-" * (len(header) + 30))
    images = {"camera 256²": sample("camera", 256), "astronaut 256² RGB": sample("astronaut", 256)}
    psnrs = {}
    for name, image in images.items():
        for row in rows_for(name, image, args.lam, args.repeat):
            image_name, method, psnr, sec, iters, note = row
            psnrs[(image_name, method.split(" ")[0])] = psnr
            print(f"{image_name:<20}{method:<26}{psnr:>8.2f}{sec:>9.3f}{iters:>7}  {note}")

    comparisons = []
    if not args.no_compare:
        print("\nSame TV problem (no x ≥ 0), objective ½‖Ax − y‖² + λ TV(x) in float64")
        for name, image in images.items():
            out = compare_pyproximal(name, image, args.lam, args.budget)
            if out is None:
                print("  PyProximal not installed")
                break
            comparisons.append(out)
            name, results, target, hit, total, iters, best = out
            for dtype, (sec, its, objective) in results.items():
                label = f"ours {np.dtype(dtype).name}"
                print(
                    f"  {name:<20}{label:<26}{sec:>8.3f} s {its:>6} it  objective {objective:.7g}"
                )
            if hit is None:
                print(
                    f"  {name:<20}{'PyProximal PrimalDual':<26}{total:>8.3f} s {iters:>6} it  "
                    f"not at {target:.7g} within the budget (best {best:.7g})"
                )
            else:
                print(
                    f"  {name:<20}{'PyProximal PrimalDual':<26}{hit[0]:>8.3f} s {hit[1]:>6} it  "
                    f"reached {target:.7g}"
                )

    big = sample("astronaut", 512)
    weights, y = problem(big)
    kw = {"input_shape": big.shape, "stride": STRIDE, "padding": PADDING}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu_start = time.process_time()
    big_sec, big_res = timed(
        lambda: tv_reconstruction(y, weights, **kw, lam=args.lam, nonneg=True),
        max(args.repeat, 1),
    )
    cpu = (time.process_time() - cpu_start) / max(args.repeat, 1)
    print(
        f"\nastronaut 512² RGB, TV λ={args.lam:g}, x≥0: {big_sec:.3f} s "
        f"({cpu:.2f} s of CPU per run on all threads; load average {load:.1f} on "
        f"{os.cpu_count()} CPUs before), {big_res.report.iterations} iterations, "
        f"{big_res.report.message}"
    )

    channels_rows()

    print("\nTargets")
    gain = psnrs[("camera 256²", "TV")] - psnrs[("camera 256²", "pinv")]
    print(
        f"  TV ≥ pinv + 3 dB on camera: +{gain:.2f} dB ({gain / 3:.2f}× the target): "
        f"{'MET' if gain >= 3 else 'MISSED'}"
    )
    print(
        f"  TV on 512² RGB stride 2 < 2 s: {big_sec:.2f} s ({2 / big_sec:.2f}× the budget): "
        f"{'MET' if big_sec < 2 else 'MISSED'}"
    )
    for name, results, _target, hit, total, _iters, _best in comparisons:
        ours = results[np.float64][0]
        theirs = hit[0] if hit is not None else total
        bound = "" if hit is not None else " (a lower bound: PyProximal was not there yet)"
        ratio = theirs / ours
        print(
            f"  {name}: ≥ 3× faster than PyProximal at equal objective (float64): "
            f"{ratio:.1f}×{bound}: {'MET' if ratio >= 3 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
