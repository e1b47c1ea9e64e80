"""Snippets for every padding mode × groups × flip, and their pseudo-inverse and priors.

Every snippet runs in a fresh interpreter (one per language, running the scripts one
after the other with ``runpy``), and its saved arrays are compared with
:func:`run_pipeline` on the same params. BLAS runs on one thread here, in the tests
and the snippets alike: on a loaded machine its idle threads spinning for work made
these small dense solves 20× slower in wall time than on one thread.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from deconv_gui.core import ConvOperator, Params, make_filter, run_pipeline, split_components
from deconv_gui.core.priors import total_variation, tv_reconstruction
from deconv_gui.io.snippets import make_snippet

REPO = Path(__file__).resolve().parents[1]
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
MODES = ("zeros", "reflect", "replicate", "circular")
# C_in = C_out = 6: groups 1 (every input to every output), 2, and 3
GEOMETRY_CASES = list(itertools.product(MODES, (1, 2, 3), (False, True)))


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _geometry_case(mode: str, groups: int, flip: bool) -> tuple[np.ndarray, Params]:
    seed = MODES.index(mode) * 10 + groups * 2 + flip
    rng = np.random.default_rng(seed)
    dtype = np.float32 if seed % 3 == 0 else np.float64
    image = rng.random((9, 10, 6)).astype(dtype)
    weights = rng.standard_normal((3, 3, 6 // groups, 6))
    params = Params(
        weights,
        bias=tuple(rng.standard_normal(6).round(3)),
        stride=(2, 1),
        padding=(2, 1),
        dilation=(1, 2),
        padding_mode=mode,
        groups=groups,
        flip=flip,
        noise_sigma=0.05 if seed % 4 == 0 else 0.0,
        noise_seed=seed,
        methods=("transposed", "normalized_transposed", "pinv", "coverage", "nullspace"),
    )
    return image, params


def _run_all(tmp_path: Path, language: str, cases: dict) -> dict[str, dict[str, np.ndarray]]:
    """Write and run every case's snippet in one fresh interpreter; their saved arrays."""
    scripts = []
    for name, (image, params) in cases.items():
        np.save(tmp_path / f"{name}.npy", image)
        code = make_snippet(
            language,
            params,
            image.shape,
            image_path=str(tmp_path / f"{name}.npy"),
            save_path=str(tmp_path / f"{name}_{language}.npz"),
        )
        script = tmp_path / f"{name}_{language}.py"
        script.write_text(code)
        scripts.append(str(script))
    driver = "import runpy, sys\nfor path in sys.argv[1:]:\n    runpy.run_path(path)\n"
    env = {**os.environ, "PYTHONPATH": str(REPO), **ONE_THREAD}
    done = subprocess.run(
        [sys.executable, "-c", driver, *scripts],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = {}
    for name in cases:
        with np.load(tmp_path / f"{name}_{language}.npz") as saved:
            out[name] = {k: saved[k] for k in saved.files}
    return out


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b))


# The pseudo-inverse: the pipeline solves densely here (an SVD cut at 1e-8 σ_max), the
# snippets iterate (LSQR, CGLS) to a relative residual of rtol = 1e-8. Both are the
# minimum-norm solution; they differ by at most ~κ(A)·1e-8 on A's row space, and κ stays
# below ~1e3 for these filters, so 1e-4 is a safe bound (float32 data: its rounding of y
# is amplified the same way, still far below 1e-4 relative to ‖A⁺y‖).
PINV_RTOL = 1e-4


@pytest.mark.parametrize("language", ["numpy", "api", "torch"])
def test_every_padding_mode_groups_and_flip(tmp_path, language):
    if language == "torch":
        pytest.importorskip("torch")
    cases = {f"{m}_g{g}_f{int(f)}": _geometry_case(m, g, f) for m, g, f in GEOMETRY_CASES}
    saved = _run_all(tmp_path, language, cases)
    for name, (image, params) in cases.items():
        result = run_pipeline(image, params)
        assert result.solver is not None and result.solver.method == "dense"
        got = saved[name]
        for key in ("forward_output", "transposed", "normalized_transposed", "coverage"):
            expected = getattr(result, key)
            assert got[key].shape == expected.shape, (name, key)
            # rounding only: other summation orders (torch: its own kernels)
            atol = (1e-4 if expected.dtype == np.float32 else 1e-11) * np.abs(expected).max()
            np.testing.assert_allclose(got[key], expected, rtol=0, atol=atol, err_msg=name)
        # the API snippet calls the very function the pipeline calls
        tolerance = 1e-6 if language == "api" else PINV_RTOL
        assert _relative(got["pinv"], result.pinv) <= tolerance, name
        # the split x = A⁺Ax + lost: the same minimum-norm solve, of A x
        for key in ("recoverable", "nullspace"):
            miss = np.linalg.norm(got[key].astype(np.float64) - getattr(result, key))
            assert miss <= tolerance * np.linalg.norm(image), (name, key)


def _prior_case(dtype) -> tuple[np.ndarray, Params]:
    rng = np.random.default_rng(7)
    image = rng.random((12, 11, 2)).astype(dtype)
    image[3:8, 2:9] += 1.0  # a block: something for TV to find
    params = Params(
        make_filter("gaussian", in_channels=2, out_channels=2),
        bias=(0.1, -0.2),
        stride=2,
        padding=1,
        padding_mode="reflect",
        noise_sigma=0.01,
        noise_seed=5,
        reg=1e-3,  # nonneg is then strictly convex: one minimiser to compare
        prior_lam=0.01,
        prior_iter=500,
        prior_nonneg=dtype == np.float32,  # TV with x >= 0 in one of the two
        methods=("transposed", "pinv", "nonneg", "richardson_lucy", "tv", "nullspace"),
    )
    return image, params


def _nonneg_objective(op: ConvOperator, data: np.ndarray, reg: float, x: np.ndarray) -> float:
    """``‖A x − d‖² + reg ‖x‖²`` in float64."""
    x64 = x.astype(np.float64)
    residual = op.apply(x64) - data
    return float(np.sum(residual**2) + reg * np.sum(x64**2))


@pytest.mark.parametrize("language", ["numpy", "api", "torch"])
def test_prior_snippets(tmp_path, language):
    if language == "torch":
        pytest.importorskip("torch")
    cases = {"f64": _prior_case(np.float64), "f32": _prior_case(np.float32)}
    saved = _run_all(tmp_path, language, cases)
    for name, (image, params) in cases.items():
        result = run_pipeline(image, params)
        got = saved[name]
        op = ConvOperator(result.geometry, params.weights)
        data = result.forward_output - np.asarray(params.bias)
        f32 = image.dtype == np.float32
        # what the prior invented: the null-space part of the (first) prior's own image
        assert result.metrics.split is not None and result.metrics.split.invented_by == "tv"
        invented = split_components(got["tv"].astype(np.float64), op).lost
        miss = np.linalg.norm(got["invented"] - invented)
        assert miss <= PINV_RTOL * np.linalg.norm(got["tv"]), name
        if language == "api":  # the same functions as the pipeline: rounding only
            for key in ("pinv", "nonneg", "richardson_lucy", "tv", "invented"):
                assert _relative(got[key], getattr(result, key)) <= 1e-6, (name, key)
            continue
        # Richardson–Lucy: the same iteration from the same start, so the same image up to
        # rounding accumulated over the iterations
        assert _relative(got["richardson_lucy"], result.richardson_lucy) <= (
            1e-3 if f32 else 1e-8
        ), name
        # non-negative least squares with reg > 0 has one minimiser; the package stops at a
        # certified relative duality gap of 1e-3 (its objective within 1e-3 of the optimum),
        # the snippet at a relative change of 1e-5: compare the objectives the gap bounds
        assert got["nonneg"].min() >= 0
        assert result.prior_reports["nonneg"].converged
        slack = 1e-2 if f32 else 2e-3
        mine, theirs = (
            _nonneg_objective(op, data, params.reg, x) for x in (result.nonneg, got["nonneg"])
        )
        assert mine <= (1 + slack) * theirs, name

        # TV: both are inexact first-order solves; compare objectives with a tight solve
        def objective(x, data=data, op=op, lam=params.prior_lam):
            misfit = op.apply(x.astype(np.float64)) - data
            return 0.5 * float(np.vdot(misfit, misfit)) + lam * total_variation(x)

        best = tv_reconstruction(
            data.astype(np.float64),
            op,
            lam=params.prior_lam,
            nonneg=params.prior_nonneg,
            max_iter=20000,
            tol=1e-9,
        ).image
        floor = objective(best)
        if params.prior_nonneg:
            assert got["tv"].min() >= 0 and result.tv.min() >= 0
        assert objective(got["tv"]) <= floor * (1 + 2e-3), name
        assert objective(result.tv) <= floor * (1 + 2e-3), name


def test_richardson_lucy_left_out_for_signed_filters():
    params = Params(make_filter("sobel_x"), methods=("transposed", "richardson_lucy"))
    for language in ("numpy", "api", "torch"):
        code = make_snippet(language, params, (8, 8, 3))
        assert "richardson_lucy(" not in code and "left out" in code
        compile(code, "<snippet>", "exec")


def _transposed_case(mode: str, groups: int, flip: bool) -> tuple[np.ndarray, Params]:
    """A ConvTranspose2d layer: the small map in, the upsampled image out."""
    seed = 100 + MODES.index(mode) * 10 + groups * 2 + flip
    rng = np.random.default_rng(seed)
    image = rng.random((5, 4, 4)).astype(np.float32 if seed % 3 == 0 else np.float64)
    params = Params(
        rng.standard_normal((3, 3, 4 // groups, 4)),
        layer_kind="conv_transpose",
        bias=tuple(rng.standard_normal(4).round(3)),
        stride=2,
        padding=((1, 1), (1, 2)) if mode == "zeros" else 1,
        output_padding=(1, 0),
        padding_mode=mode,
        groups=groups,
        flip=flip,
        methods=("transposed", "normalized_transposed", "pinv", "coverage", "nullspace"),
    )
    return image, params


@pytest.mark.parametrize("language", ["numpy", "api", "torch"])
def test_transposed_layers_pinv_coverage_and_nullspace(tmp_path, language):
    """B = Aᵀ: forward the decoder, transposed the strided conv, B⁺ and B's null space."""
    if language == "torch":
        pytest.importorskip("torch")
    combos = [("zeros", 1, False), ("zeros", 2, True), ("reflect", 1, True), ("circular", 2, False)]
    cases = {f"t_{m}_g{g}_f{int(f)}": _transposed_case(m, g, f) for m, g, f in combos}
    saved = _run_all(tmp_path, language, cases)
    for name, (image, params) in cases.items():
        result = run_pipeline(image, params)
        got = saved[name]
        for key in ("forward_output", "transposed", "normalized_transposed", "coverage"):
            expected = getattr(result, key)
            assert got[key].shape == expected.shape, (name, key)
            atol = (1e-4 if expected.dtype == np.float32 else 1e-11) * np.abs(expected).max()
            np.testing.assert_allclose(got[key], expected, rtol=0, atol=atol, err_msg=name)
        tolerance = 1e-6 if language == "api" else PINV_RTOL
        assert _relative(got["pinv"], result.pinv) <= tolerance, name
        for key in ("recoverable", "nullspace"):
            miss = np.linalg.norm(got[key].astype(np.float64) - getattr(result, key))
            assert miss <= tolerance * np.linalg.norm(image), (name, key)
