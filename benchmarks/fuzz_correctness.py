"""Fuzz the answers of the core and the command line; print cases tried, failed, worst error.

Run: ``python benchmarks/fuzz_correctness.py [--cases 40] [--seed 0] [--only NAME]``.

Each family draws random small problems (every padding mode, strides, dilations, groups)
and compares with an independent reference:

* ``norm-bound``: the Lipschitz bound of the prior solvers against ``‖A‖²`` from the
  dense matrix's SVD (a failure is a bound below the true value; worst = lowest ratio);
* ``nonneg``: non-negative least squares against ``scipy.optimize.lsq_linear``
  at the default settings (objective relative excess; failure above 1e-3, or NaN, or an
  exception), also counting the solves that said "converged" while off by more than
  1e-3 (false claims) and those that said they did not converge;
* ``tv``: TV against cvxpy (Clarabel), the same measures;
* ``pinv``: the pseudo-inverse against ``numpy.linalg.pinv`` on problems whose kept
  singular values span at most 1e4 (relative error; failure above 1e-6);
* ``hostile``: public entry points with hostile values (1e300, NaN, huge ``.npy``
  headers, huge channel counts, strings for numbers): a failure is anything but a
  one-line ``ValueError`` (or, where the value is computable, a finite answer) within
  10 s (worst = slowest seconds);
* ``cli``: the same through ``deconv-gui run``: exit 2 for out-of-range options, 1 for
  failures, one line naming the option, nothing written.

The figures go in the closing notes of the issues that fix what they find.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import struct
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.optimize import lsq_linear

from deconv_gui.core import (
    ConvOperator,
    conv2d,
    nonneg_reconstruction,
    pinv_reconstruction,
    tv_reconstruction,
)

MODES = ("zeros", "reflect", "replicate", "circular")


def random_operator(rng: np.random.Generator, max_side: int = 12, positive: bool | None = None):
    """A random valid operator (every padding mode, stride, dilation, groups)."""
    while True:
        groups = int(rng.choice([1, 1, 2, 3]))
        c_in = groups * int(rng.integers(1, 3 if groups > 1 else 4))
        c_out = groups * int(rng.integers(1, 3))
        fh, fw = (int(v) for v in rng.integers(1, 4, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        padding = tuple(int(v) for v in rng.integers(0, 3, 2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
        h, w = (int(v) for v in rng.integers(4, max_side + 1, 2))
        mode = str(rng.choice(MODES))
        pos = bool(rng.integers(2)) if positive is None else positive
        weights = rng.random((fh, fw, c_in // groups, c_out))
        if not pos:
            weights = rng.standard_normal(weights.shape)
        weights /= np.abs(weights).sum(axis=(0, 1, 2), keepdims=True)
        try:
            return ConvOperator.from_weights(
                weights,
                input_shape=(h, w, c_in),
                stride=stride,
                padding=padding,
                dilation=dilation,
                padding_mode=mode,
                groups=groups,
            )
        except ValueError:
            continue


def describe(op: ConvOperator) -> str:
    g = op.geometry
    return (
        f"{g.input_shape} f{g.filter_shape[:2]} s{g.stride} p{g.padding} d{g.dilation} "
        f"{g.padding_mode} groups {g.groups} C_out {g.output_shape[2]}"
    )


class Family:
    """Counts and the worst figure of one family of cases."""

    def __init__(self, name: str, measure: str, higher_is_worse: bool = True) -> None:
        self.name, self.measure, self.higher = name, measure, higher_is_worse
        self.tried = self.failed = 0
        self.false_claims = self.unconverged = 0
        self.worst: float | None = None
        self.worst_case = ""
        self.examples: list[str] = []

    def add(self, value: float, failed: bool, case: str) -> None:
        self.tried += 1
        self.failed += bool(failed)
        if failed and len(self.examples) < 3:
            self.examples.append(f"{case}: {value:.3g}")
        if not np.isfinite(value):
            value = np.inf if self.higher else -np.inf
        if self.worst is None or (value > self.worst if self.higher else value < self.worst):
            self.worst, self.worst_case = value, case

    def claim(self, converged: bool, excess: float) -> None:
        """Count a solve that said converged while off by more than 1e-3, or did not."""
        self.unconverged += not converged
        self.false_claims += bool(converged and not excess <= 1e-3)

    def line(self) -> str:
        worst = "n/a" if self.worst is None else f"{self.worst:.3g}"
        text = (
            f"{self.name:<11} tried {self.tried:>4}  failed {self.failed:>4}  "
            f"worst {self.measure} {worst}"
        )
        if self.name in ("nonneg", "tv"):
            text += f"  (said converged but off: {self.false_claims}, not converged: "
            text += f"{self.unconverged})"
        return text


def quiet(func: Callable[[], object]) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return func()


def fuzz_norm_bound(rng: np.random.Generator, cases: int) -> Family:
    try:
        from deconv_gui.core.solvers.first_order import operator_norm_bound
    except ImportError:  # before the solvers moved out of core/priors
        from deconv_gui.core.priors.base import operator_norm_bound

    family = Family("norm-bound", "bound/‖A‖²", higher_is_worse=False)
    for _ in range(cases):
        op = random_operator(rng)
        true = float(np.linalg.norm(op.to_dense(np.float64), 2) ** 2)
        bound = float(operator_norm_bound(op))
        ratio = bound / true if true > 0 else 1.0
        family.add(ratio, not ratio >= 1 - 1e-9, describe(op))
    return family


def _objective_excess(ours: float, ref: float, y: np.ndarray) -> float:
    """``(ours − ref) / ref``; an optimum near 0 (``y`` reached exactly) is measured
    against ``10⁻⁶ ‖y‖²`` instead, the objective's scale."""
    return (ours - ref) / max(abs(ref), 1e-6 * float(np.vdot(y, y)))


def fuzz_nonneg(rng: np.random.Generator, cases: int) -> Family:
    family = Family("nonneg", "objective excess")
    for _ in range(cases):
        op = random_operator(rng, max_side=10)
        a = op.to_dense(np.float64)
        x0 = rng.random(op.geometry.input_shape)
        y = op.apply(x0) + 0.05 * rng.standard_normal(op.geometry.output_shape)
        reg = float(rng.choice([0.0, 1e-3, 1e-1]))
        n = a.shape[1]
        stacked = np.vstack([a, np.sqrt(reg) * np.eye(n)])
        rhs = np.concatenate([y.ravel(), np.zeros(n)])
        ref_x = lsq_linear(stacked, rhs, bounds=(0, np.inf), tol=1e-12, lsmr_tol="auto").x
        ref = float(np.sum((a @ ref_x - y.ravel()) ** 2) + reg * ref_x @ ref_x)
        case = f"{describe(op)} reg {reg:g}"
        try:
            x, report = quiet(lambda y=y, op=op, reg=reg: nonneg_reconstruction(y, op, reg=reg))
        except Exception as exc:
            family.add(np.inf, True, f"{case}: {type(exc).__name__}: {exc}")
            continue
        x = np.asarray(x, np.float64)
        ours = float(np.sum((a @ x.ravel() - y.ravel()) ** 2) + reg * x.ravel() @ x.ravel())
        excess = _objective_excess(ours, ref, y) if np.isfinite(ours) and x.min() >= 0 else np.inf
        family.claim(bool(report.converged), excess)
        family.add(excess, not excess <= 1e-3, case)
    return family


def tv_reference(a: np.ndarray, y: np.ndarray, shape, lam: float, nonneg: bool) -> float:
    import cvxpy as cp

    h, w, c = shape
    xv = cp.Variable(h * w * c)
    cube = cp.reshape(xv, (h * w, c), order="C")
    tv = 0
    for k in range(c):
        img = cp.reshape(cube[:, k], (h, w), order="C")
        di = cp.vstack([img[1:, :] - img[:-1, :], np.zeros((1, w))])
        dj = cp.hstack([img[:, 1:] - img[:, :-1], np.zeros((h, 1))])
        pairs = cp.vstack([cp.vec(di, order="C"), cp.vec(dj, order="C")])
        tv = tv + cp.sum(cp.norm(pairs, 2, axis=0))
    problem = cp.Problem(
        cp.Minimize(0.5 * cp.sum_squares(a @ xv - y.ravel()) + lam * tv),
        [xv >= 0] if nonneg else [],
    )
    problem.solve(solver="CLARABEL")
    return float(problem.value)


def tv_objective(a: np.ndarray, y: np.ndarray, x: np.ndarray, lam: float) -> float:
    from deconv_gui.core.priors.tv import total_variation

    r = a @ x.ravel() - y.ravel()
    return 0.5 * float(r @ r) + lam * total_variation(x)


def _tv_case(rng: np.random.Generator, op: ConvOperator, lam: float, nonneg: bool, family) -> None:
    a = op.to_dense(np.float64)
    h, w, c = op.geometry.input_shape
    x0 = np.zeros((h, w, c))
    x0[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 1.0
    x0 += 0.2 * rng.random(x0.shape)
    y = op.apply(x0) + 0.01 * rng.standard_normal(op.geometry.output_shape)
    ref = tv_reference(a, y, (h, w, c), lam, nonneg)
    case = f"{describe(op)} lam {lam:g} nonneg {nonneg}"
    try:
        x, report = quiet(lambda: tv_reconstruction(y, op, lam=lam, nonneg=nonneg))
    except Exception as exc:
        family.add(np.inf, True, f"{case}: {type(exc).__name__}: {exc}")
        return
    x = np.asarray(x, np.float64)
    ours = tv_objective(a, y, x, lam) if np.isfinite(x).all() else np.inf
    excess = _objective_excess(ours, ref, y)
    family.claim(bool(report.converged), excess)
    family.add(excess, not excess <= 1e-3, case)


def fuzz_tv(rng: np.random.Generator, cases: int) -> Family:
    family = Family("tv", "objective excess")
    # the issue's case: 32², stride 3, padding 2, λ 1e-4 (zero padding)
    w = rng.random((2, 2, 1))
    w /= w.sum()
    issue = ConvOperator.from_weights(w, input_shape=(32, 32, 1), stride=3, padding=2)
    _tv_case(rng, issue, 1e-4, False, family)
    for _ in range(cases - 1):
        op = random_operator(rng, max_side=10)
        lam = float(rng.choice([1e-4, 1e-3, 1e-2]))
        _tv_case(rng, op, lam, bool(rng.integers(2)), family)
    return family


def _pinv_case(rng: np.random.Generator, op: ConvOperator, family: Family) -> None:
    a = op.to_dense(np.float64)
    s = np.linalg.svd(a, compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return
    kept = s[s > 1e-10 * s[0]]
    # moderate condition: the kept singular values within 1e4 of the largest, and a clear gap
    if kept[-1] < 1e-4 * s[0] or np.any((s > 1e-13 * s[0]) & (s <= 1e-10 * s[0])):
        return
    y = rng.standard_normal(op.geometry.output_shape)
    ref = np.linalg.pinv(a, rcond=1e-10) @ y.ravel()
    case = describe(op)
    try:
        x = np.asarray(quiet(lambda: pinv_reconstruction(y, op)).image, np.float64).ravel()
    except Exception as exc:
        family.add(np.inf, True, f"{case}: {type(exc).__name__}: {exc}")
        return
    err = float(np.linalg.norm(x - ref) / max(np.linalg.norm(ref), 1e-300))
    family.add(err, not err <= 1e-6, f"{case} cond {s[0] / kept[-1]:.3g}")


def fuzz_pinv(rng: np.random.Generator, cases: int) -> Family:
    family = Family("pinv", "relative error")
    weights = rng.standard_normal((3, 3, 1, 6))
    issue = ConvOperator.from_weights(
        weights,
        input_shape=(11, 21, 3),
        stride=(1, 2),
        padding=1,
        dilation=(2, 1),
        padding_mode="replicate",
        groups=3,
    )
    _pinv_case(rng, issue, family)
    while family.tried < cases:
        _pinv_case(rng, random_operator(rng, max_side=24), family)
    return family


def _huge_npy(path: Path, shape: tuple[int, ...]) -> Path:
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (118 - len(header)) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    return path


def hostile_calls(folder: Path) -> list[tuple[str, Callable[[], object], bool]]:
    """(name, call, must refuse): one ValueError line (or a finite answer), quickly."""
    from deconv_gui.core import Params, run_pipeline
    from deconv_gui.core.limits import check_magnitudes
    from deconv_gui.io import load_image
    from deconv_gui.io.decode import read_npy

    x = np.random.default_rng(0).random((8, 8, 3))
    w = np.full((3, 3, 3, 1), 1.0 / 27)
    y = conv2d(x, w)
    kw = {"input_shape": x.shape}
    huge = _huge_npy(folder / "huge.npy", (100000, 100000, 3))
    nan_w = w.copy()
    nan_w[0, 0, 0, 0] = np.nan
    many = np.full((1, 1, 3, 100000), 1e-3)
    # (name, call, must refuse): the others may also answer, with finite values
    return [
        ("check_magnitudes weights 1e300", lambda: check_magnitudes(x, w * 1e302), True),
        ("run_pipeline weights 1e300", lambda: run_pipeline(x, Params(w * 1e302)), True),
        ("run_pipeline bias 1e308", lambda: run_pipeline(x, Params(w, bias=1e308)), True),
        ("run_pipeline bias 1e300", lambda: run_pipeline(x, Params(w, bias=1e300)), True),
        ("conv2d bias (1, 1)", lambda: conv2d(x, w, bias=np.ones((1, 1))), True),
        ("conv2d weights NaN", lambda: conv2d(x, nan_w), True),
        ("conv2d 100000 channels", lambda: conv2d(x, many), False),
        ("pinv bias 1e308", lambda: pinv_reconstruction(y, w, 1e308, **kw), False),
        ("pinv y 1e300", lambda: pinv_reconstruction(y * 1e300, w, **kw), False),
        ("tv lam '0.1'", lambda: tv_reconstruction(y, w, **kw, lam="0.1"), True),
        ("tv lam NaN", lambda: tv_reconstruction(y, w, **kw, lam=float("nan")), True),
        ("tv bias 1e308", lambda: tv_reconstruction(y, w, 1e308, **kw, lam=0.1), False),
        ("tv weights 1e300", lambda: tv_reconstruction(y, w * 1e302, **kw, lam=0.1), False),
        ("nonneg reg '0'", lambda: nonneg_reconstruction(y, w, **kw, reg="0"), True),
        ("nonneg y 1e300", lambda: nonneg_reconstruction(y * 1e300, w, **kw), False),
        ("read_npy huge header", lambda: read_npy(huge), True),
        ("load_image huge header", lambda: load_image(huge), True),
        ("load_image 5000-character path", lambda: load_image("a" * 5000 + ".png"), True),
    ]


def fuzz_hostile(folder: Path) -> Family:
    family = Family("hostile", "seconds")
    for name, call, must_refuse in hostile_calls(folder):
        start = time.perf_counter()
        try:
            answer = quiet(call)
            answer = getattr(answer, "image", answer)  # a Reconstruction: its image
            finite = isinstance(answer, np.ndarray) and bool(np.isfinite(answer).all())
            problem = "accepted" if must_refuse else ("" if finite else "non-finite answer")
        except ValueError as exc:
            text = str(exc)
            problem = "" if text and "\n" not in text.strip() else "not one line"
        except Exception as exc:
            problem = f"{type(exc).__name__}: {str(exc)[:80]}"
        seconds = time.perf_counter() - start
        failed = bool(problem) or seconds > 10
        family.add(seconds, failed, f"{name} ({problem or 'ok'})")
    return family


def cli_cases(folder: Path) -> list[tuple[list[str], int, str]]:
    """(arguments, expected exit code, a word the message must name)."""
    base = ["run", "--image", "seed_toy"]
    w300 = folder / "w300.npy"
    np.save(w300, np.full((3, 3, 3, 1), 1e300))
    huge = _huge_npy(folder / "huge_filter.npy", (100000, 100000, 3, 1))
    return [
        ([*base, "--filter", "gaussian", "--filter-size", "0"], 2, "--filter-size"),
        ([*base, "--filter", "gaussian", "--filter-size", "10000"], 2, "--filter-size"),
        ([*base, "--filter", "gaussian", "--out-channels", "0"], 2, "--out-channels"),
        ([*base, "--filter", "gaussian", "--out-channels", "100000"], 2, "--out-channels"),
        ([*base, "--filter", "random", "--seed", "-1"], 2, "--seed"),
        ([*base, "--filter", str(w300)], 1, "weights"),
        ([*base, "--filter", str(huge)], 1, "huge_filter.npy"),
        ([*base, "--filter", "gaussian", "--bias", "1e308"], 1, "bias"),
        (["run", "--image", "a" * 5000 + ".png", "--filter", "gaussian"], 1, "--image"),
        ([*base, "--filter", "a" * 5000 + ".npy"], 1, "--filter"),
        ([*base, "--filter", "gaussian", "--prior-lam", "nan", "--methods", "tv"], 2, "lam"),
    ]


def fuzz_cli(folder: Path) -> Family:
    from deconv_gui.cli import main

    family = Family("cli", "seconds")
    for args, code, word in cli_cases(folder):
        out = folder / f"out{family.tried}"
        err = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                got = quiet(lambda a=args, o=out: main([*a, "--out", str(o)]))
            except BaseException as exc:
                got = f"raised {type(exc).__name__}"
        seconds = time.perf_counter() - start
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        text = lines[-1][:120] if lines else ""
        problems = []
        if got != code:
            problems.append(f"exit {got} (expected {code})")
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines")
        if word not in (lines[-1] if lines else ""):
            problems.append(f"does not name {word}")
        if out.exists():
            problems.append("wrote files")
        if len(text) > 400:
            problems.append("too long")
        shown = " ".join(a if len(a) < 40 else a[:10] + "…" for a in args)
        family.add(
            seconds, bool(problems) or seconds > 10, f"{shown}: {'; '.join(problems)} {text}"
        )
    return family


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40, help="cases per random family")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="one family")
    parser.add_argument("--verbose", action="store_true", help="print failing cases")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs: dict[str, Callable[[], Family]] = {
            "norm-bound": lambda: fuzz_norm_bound(rng, args.cases),
            "nonneg": lambda: fuzz_nonneg(rng, args.cases),
            "tv": lambda: fuzz_tv(rng, max(2, args.cases // 2)),
            "pinv": lambda: fuzz_pinv(rng, args.cases),
            "hostile": lambda: fuzz_hostile(folder),
            "cli": lambda: fuzz_cli(folder),
        }
        total_tried = total_failed = 0
        for name, run in runs.items():
            if args.only and name != args.only:
                continue
            start = time.perf_counter()
            family = run()
            total_tried += family.tried
            total_failed += family.failed
            print(f"{family.line()}  ({time.perf_counter() - start:.0f} s)", flush=True)
            if args.verbose:
                for example in family.examples:
                    print(f"    failed: {example}")
                print(f"    worst: {family.worst_case}")
        print(f"{'total':<11} tried {total_tried:>4}  failed {total_failed:>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
