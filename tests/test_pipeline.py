"""run_pipeline returns exactly what the functions compute, and Params validates its fields."""

from __future__ import annotations

import threading
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from deconv_gui.core import (
    Params,
    Result,
    SolveCancelled,
    adjoint_dot_test,
    conv2d,
    coverage_map,
    make_filter,
    normalized_transposed_reconstruction,
    nullspace_component,
    pinv_reconstruction,
    reconstruction_metrics,
    relative_residual,
    run_pipeline,
    split_components,
    transposed_reconstruction,
)


def _image(shape=(20, 18, 3), seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


@pytest.mark.parametrize("reg", [0.0, 0.05])
def test_pipeline_matches_direct_calls(reg):
    image = _image()
    weights = make_filter("random", out_channels=2, seed=3)
    params = Params(
        weights=weights,
        bias=(0.5, -0.25),
        stride=2,
        padding=1,
        methods=("transposed", "normalized_transposed", "pinv"),
        reg=reg,
        noise_sigma=0.01,
        noise_seed=7,
    )
    result = run_pipeline(image, params)
    assert isinstance(result, Result)
    hyper = {"stride": 2, "padding": 1, "dilation": 1}
    w32 = weights.astype(np.float32)
    clean = conv2d(image, w32, params.bias, **hyper)
    noise = (0.01 * np.random.default_rng(7).standard_normal(clean.shape)).astype(np.float32)
    y = clean + noise
    np.testing.assert_array_equal(result.forward_output, y)
    common = {"input_shape": image.shape, **hyper}
    np.testing.assert_array_equal(
        result.transposed, transposed_reconstruction(y, w32, params.bias, **common)
    )
    np.testing.assert_array_equal(
        result.normalized_transposed,
        normalized_transposed_reconstruction(y, w32, params.bias, **common),
    )
    direct = pinv_reconstruction(y, w32, params.bias, **common, reg=reg)
    np.testing.assert_array_equal(result.pinv, direct.image)
    assert result.solver == direct.report
    assert result.pinv.dtype == np.float32
    assert set(result.timings) == {
        "forward",
        "transposed",
        "normalized_transposed",
        "pinv",
        "metrics",
    }
    for array in (result.forward_output, result.pinv, result.transposed, result.image):
        assert not array.flags.writeable


def test_pipeline_skips_methods_not_requested():
    result = run_pipeline(_image(), Params(weights=make_filter("gaussian"), methods=("pinv",)))
    assert result.transposed is None and result.normalized_transposed is None
    assert result.pinv is not None and result.solver is not None


def test_pipeline_reports_progress_and_honours_cancel():
    image = _image((40, 40, 3))  # 4800 unknowns: the iterative path
    params = Params(weights=make_filter("random"), stride=2, padding=1, methods=("pinv",))
    seen: list[int] = []
    result = run_pipeline(image, params, progress=lambda i, r: seen.append(i))
    assert result.solver.method == "pcg" and result.solver.converged
    assert seen == list(range(1, result.solver.iterations + 1))
    event = threading.Event()
    event.set()
    with pytest.raises(SolveCancelled):
        run_pipeline(image, params, cancel=event)


def test_pipeline_leaves_caller_image_writable():
    image = _image()
    run_pipeline(image, Params(weights=make_filter("box")))
    assert image.flags.writeable


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stride": 0}, "stride"),
        ({"padding": -1}, "padding"),
        ({"dilation": 0}, "dilation"),
        ({"methods": ("pinv", "magic")}, "methods"),
        ({"reg": -0.1}, "reg"),
        ({"reg": "x"}, "reg"),
        ({"rtol": 0.0}, "rtol"),
        ({"rtol": float("inf")}, "rtol"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 1.5}, "max_iter"),
        ({"noise_sigma": -1.0}, "noise_sigma"),
        ({"bias": (1.0, 2.0)}, "bias"),
        ({"weights": np.full((3, 3, 3), np.nan)}, "weights"),
        ({"weights": np.zeros((3, 3))}, "weights"),
    ],
)
def test_bad_params_name_the_field(changes, field):
    base = {"weights": make_filter("gaussian")}
    with pytest.raises(ValueError, match=field):
        Params(**{**base, **changes})


def test_bad_image_and_params_type():
    params = Params(weights=make_filter("gaussian"))
    with pytest.raises(ValueError, match="image"):
        run_pipeline(np.zeros((4, 4, 3, 2)), params)
    with pytest.raises(ValueError, match="params"):
        run_pipeline(_image(), {"weights": 1})
    with pytest.raises(ValueError, match="channel"):
        run_pipeline(_image((10, 10, 1)), params)


# ---------------------------------------------------------------------------- insight (issue 6)
def _insight_params(**changes):
    base = {
        "weights": make_filter("random", out_channels=1, seed=5),
        "bias": 0.3,
        "stride": 2,
        "padding": 1,
        "methods": ("transposed", "normalized_transposed", "pinv", "coverage", "nullspace"),
    }
    return Params(**{**base, **changes})


def test_pipeline_insight_arrays_equal_the_core_functions():
    image = _image((14, 12, 3)).astype(np.float64)  # 504 unknowns: dense solves
    params = _insight_params()
    result = run_pipeline(image, params)
    hyper = {"stride": 2, "padding": 1, "dilation": 1}
    np.testing.assert_array_equal(
        result.coverage, coverage_map(params.weights, input_shape=image.shape, **hyper)
    )
    # exact y and reg = 0: the recoverable part IS the pinv panel, nothing solved twice
    assert result.recoverable is result.pinv
    np.testing.assert_array_equal(result.nullspace, image - result.pinv)
    # and it is what the core split computes (two dense solves of the same system:
    # equal to rounding, 1e-10 absolute on values of order 1)
    split = split_components(image, params.weights, **hyper)
    np.testing.assert_allclose(result.nullspace, split.lost, atol=1e-10)
    np.testing.assert_allclose(
        result.nullspace, nullspace_component(image, params.weights, **hyper), atol=1e-10
    )
    info = result.metrics.split
    assert info.reused_pinv
    assert info.lost_fraction == pytest.approx(split.lost_fraction, rel=1e-9)
    assert info.recoverable_fraction**2 + info.lost_fraction**2 == pytest.approx(1)
    for name in ("coverage", "nullspace", "recoverable"):
        assert not getattr(result, name).flags.writeable
    assert {"coverage", "nullspace", "metrics"} <= set(result.timings)


def test_pipeline_nullspace_solves_again_when_y_is_noisy():
    image = _image((14, 12, 3))
    params = _insight_params(noise_sigma=0.05, noise_seed=3, methods=("pinv", "nullspace"))
    result = run_pipeline(image, params)
    # the pipeline runs in the image's dtype (float32 here): same weights, same solve
    split = split_components(image, params.weights.astype(np.float32), stride=2, padding=1)
    np.testing.assert_array_equal(result.recoverable, split.recoverable)
    np.testing.assert_array_equal(result.nullspace, split.lost)
    assert not result.metrics.split.reused_pinv
    assert result.coverage is None  # not requested


def test_pipeline_metrics_equal_the_core_functions():
    image = _image((16, 16, 3))
    params = _insight_params(noise_sigma=0.01)
    result = run_pipeline(image, params)
    hyper = {"stride": 2, "padding": 1, "dilation": 1}
    scores = result.metrics.reconstructions
    assert set(scores) == {"transposed", "normalized_transposed", "pinv"}
    for name, entry in scores.items():
        estimate = getattr(result, name)
        expected = reconstruction_metrics(image, estimate)
        assert entry.psnr == expected["psnr"] and entry.ssim == expected["ssim"]
        expected_residual = relative_residual(
            estimate, result.forward_output, params.weights.astype(np.float32), params.bias, **hyper
        )
        if name == "pinv":  # the solver's report: float64 solution before the float32 cast
            assert entry.relative_residual == result.solver.relative_residual
            assert entry.relative_residual == pytest.approx(expected_residual, abs=1e-6)
        else:  # one float32 forward in the pipeline vs float64 here: float32 rounding
            assert entry.relative_residual == pytest.approx(expected_residual, rel=1e-5)
    assert scores["pinv"].iterations == result.solver.iterations
    assert scores["transposed"].iterations is None
    assert result.metrics.adjoint_dot_test == adjoint_dot_test(
        params.weights, input_shape=image.shape, **hyper
    )
    assert result.metrics.adjoint_dot_test < 1e-12  # float64 dot test: rounding level
    with pytest.raises(FrozenInstanceError):
        result.metrics.adjoint_dot_test = 0.0  # read-only
    with pytest.raises(TypeError):
        result.metrics.reconstructions["pinv"] = scores["transposed"]  # read-only


def test_the_partial_result_scores_the_methods_done_as_the_final_one_does():
    image = _image((16, 16, 3))
    params = _insight_params(noise_sigma=0.01)
    partials: list[Result] = []
    result = run_pipeline(image, params, on_partial=partials.append)
    (partial,) = partials
    assert partial.pending == ("pinv", "nullspace") and partial.pinv is None
    scores, final = partial.metrics.reconstructions, result.metrics.reconstructions
    assert set(scores) == {"transposed", "normalized_transposed"}
    for name, entry in scores.items():  # the final result reuses the partial's scores
        assert final[name] is entry
        expected = reconstruction_metrics(image, getattr(result, name))
        assert entry.psnr == expected["psnr"] and entry.ssim == expected["ssim"]
    assert partial.metrics.adjoint_dot_test == result.metrics.adjoint_dot_test
    # the table's rows: the methods done with their figures, the pinv's still computing
    from deconv_gui.view.readout import format_readout, metrics_rows

    rows = {row["name"]: row for row in metrics_rows(partial)}
    assert list(rows) == ["forward", "transposed", "normalized_transposed", "pinv"]
    assert rows["transposed"]["psnr"] == scores["transposed"].psnr
    assert rows["pinv"]["pending"] and rows["pinv"]["psnr"] is None
    assert not any(row.get("pending") for row in metrics_rows(result))
    assert "A⁺ computing…" in format_readout(partial, "input", 3, 4)
    assert "computing" not in format_readout(result, "input", 3, 4)


def test_pipeline_skips_ssim_on_large_images():
    from deconv_gui.core.pipeline import SSIM_PIXEL_LIMIT

    side = int(np.sqrt(SSIM_PIXEL_LIMIT)) + 1
    image = _image((side, side, 1))
    result = run_pipeline(image, Params(weights=make_filter("box", in_channels=1), stride=2))
    entry = result.metrics.reconstructions["transposed"]
    assert entry.ssim is None and "SSIM skipped" in entry.notes[0]
    assert entry.psnr == reconstruction_metrics(image, result.transposed)["psnr"]


def test_live_params_skip_ssim_and_complete_metrics_fills_it_in():
    from deconv_gui.core import SolveCancelled, complete_metrics

    image = _image((16, 16, 3))
    full = run_pipeline(image, Params(make_filter("gaussian"), stride=2, padding=1))
    live = run_pipeline(image, Params(make_filter("gaussian"), stride=2, padding=1, ssim=False))
    for name, entry in live.metrics.reconstructions.items():
        assert entry.ssim is None and entry.ssim_skipped
        assert "params.ssim is False" in entry.notes[-1]
        assert entry.psnr == full.metrics.reconstructions[name].psnr
    with pytest.raises(SolveCancelled):
        complete_metrics(live, cancel=lambda: True)
    done = complete_metrics(live)
    assert done.pinv is live.pinv and done.params is live.params  # arrays shared
    for name, entry in done.metrics.reconstructions.items():
        expected = replace(full.metrics.reconstructions[name], seconds=entry.seconds)
        assert entry == expected  # the same numbers as a full run (timings aside)
    assert complete_metrics(full) is full  # nothing skipped: nothing to do
    with pytest.raises(ValueError, match="ssim"):
        Params(make_filter("gaussian"), ssim="no")


def test_dot_test_is_cached_per_weights_and_geometry(monkeypatch):
    from deconv_gui.core import pipeline_metrics

    calls = []
    real = pipeline_metrics.adjoint_dot_test

    def counting(*args, **kwargs):
        calls.append(args[0].geometry.input_shape)  # the operator
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline_metrics, "adjoint_dot_test", counting)
    monkeypatch.setattr(pipeline_metrics, "_DOT_TESTS", type(pipeline_metrics._DOT_TESTS)())
    weights = make_filter("random", seed=11)
    image = _image((12, 12, 3))
    first = run_pipeline(image, Params(weights, stride=2, reg=0.1))
    second = run_pipeline(image * 2, Params(weights, stride=2, reg=0.0, noise_sigma=0.1))
    assert len(calls) == 1  # image, reg and noise do not change A
    assert second.metrics.adjoint_dot_test == first.metrics.adjoint_dot_test
    run_pipeline(image, Params(weights * 2, stride=2))  # new weights: tested again
    run_pipeline(image, Params(weights, stride=1))  # new geometry: tested again
    run_pipeline(image[:10], Params(weights, stride=2))  # new image shape: tested again
    assert len(calls) == 4


def test_photon_noise_is_poisson_counts_then_the_gaussian_noise():
    x = np.random.default_rng(7).random((24, 20, 1))  # float64: counts stay exact
    w = make_filter("gaussian", in_channels=1)
    clean = conv2d(x, w, stride=2, padding=1)
    params = Params(w, stride=2, photons=50.0, noise_seed=5, methods=("transposed",))
    y = run_pipeline(x, params).forward_output
    rng = np.random.default_rng(5)
    expected = rng.poisson(np.maximum(clean, 0) * 50.0) / 50.0
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)
    assert not np.allclose(y, clean)
    # Gaussian noise on top comes from the same generator, after the Poisson draws
    both = run_pipeline(x, params.replace(noise_sigma=0.01)).forward_output
    np.testing.assert_allclose(both, expected + 0.01 * rng.standard_normal(y.shape), atol=1e-12)
    # without photons the Gaussian noise is what it always was
    gaussian = run_pipeline(x, params.replace(photons=0.0, noise_sigma=0.01)).forward_output
    draw = np.random.default_rng(5).standard_normal(y.shape)
    np.testing.assert_allclose(gaussian, clean + 0.01 * draw, atol=1e-12)


def test_photon_noise_disables_the_exact_measurement_shortcut():
    image = _image((14, 12, 3))
    params = _insight_params(photons=30.0, methods=("pinv", "nullspace"))
    result = run_pipeline(image, params)
    split = split_components(image, params.weights.astype(np.float32), stride=2, padding=1)
    np.testing.assert_array_equal(result.recoverable, split.recoverable)
    assert not result.metrics.split.reused_pinv
