"""run_pipeline returns exactly what the functions compute, and Params validates its fields."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deconv_gui.core import (
    Params,
    Result,
    SolveCancelled,
    conv2d,
    make_filter,
    normalized_transposed_reconstruction,
    pinv_reconstruction,
    run_pipeline,
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
    direct = pinv_reconstruction(y, w32, params.bias, **common, reg=reg, return_report=True)
    np.testing.assert_array_equal(result.pinv, direct.image)
    assert result.solver == direct.report
    assert result.pinv.dtype == np.float32
    assert set(result.timings) == {"forward", "transposed", "normalized_transposed", "pinv"}
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
