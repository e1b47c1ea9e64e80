"""The core under random input: a right answer or a ValueError naming the argument.

Random geometries, dtypes (bool, ints, float16/32/64, complex) and magnitudes go through
the public entry points; every result is compared with the literal loops of
``tests/reference.py`` or with the pseudo-inverse's defining properties. Budgets are kept
small (``max_examples``) so that the whole file runs in seconds.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import conv2d_loop, conv2d_transpose_loop

from deconv_gui.core import (
    PRESETS,
    Params,
    conv2d,
    conv2d_transpose,
    make_filter,
    pinv_reconstruction,
    run_pipeline,
    transposed_reconstruction,
)

#: Examples per property; set DECONV_FUZZ_EXAMPLES=1000 for a longer local run.
EXAMPLES = int(os.environ.get("DECONV_FUZZ_EXAMPLES", "30"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = ["bool", "uint8", "int16", "int64", "float16", "float32", "float64", "complex128"]
ARGUMENTS = ("x", "y", "weights", "bias", "image", "stride", "padding", "dilation", "input_shape")


@st.composite
def problems(draw, max_side=7):
    """A small random geometry whose output is never empty."""
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h = draw(st.integers(max(1, d[0] * (fh - 1) + 1 - 2 * p[0]), max_side))
    w = draw(st.integers(max(1, d[1] * (fw - 1) + 1 - 2 * p[1]), max_side))
    return (h, w, c_in), (fh, fw, c_in, c_out), s, p, d


def _values(rng, shape, dtype, magnitude):
    data = rng.standard_normal(shape) * magnitude
    if dtype == "bool":
        return data > 0
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return np.clip(np.round(data), info.min, info.max).astype(dtype)
    with np.errstate(over="ignore"):
        return data.astype(dtype)


def _names_an_argument(exc: ValueError) -> bool:
    text = str(exc)
    return any(re.search(rf"\b{name}\b", text) for name in ARGUMENTS)


@FAST
@given(
    problem=problems(),
    x_dtype=st.sampled_from(DTYPES),
    w_dtype=st.sampled_from(DTYPES),
    magnitude=st.sampled_from([1e-30, 1.0, 1e3, 1e20, 1e36, 1e200]),
    seed=st.integers(0, 2**16),
)
def test_conv2d_and_its_adjoint_match_the_loops_or_name_the_argument(
    problem, x_dtype, w_dtype, magnitude, seed
):
    shape, filt, s, p, d = problem
    rng = np.random.default_rng(seed)
    x, w = _values(rng, shape, x_dtype, magnitude), _values(rng, filt, w_dtype, 1.0)
    hyper = {"stride": s, "padding": p, "dilation": d}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may escape either
        try:
            y = conv2d(x, w, **hyper)
        except ValueError as exc:
            assert _names_an_argument(exc), exc
            return
        expected = conv2d_loop(x.astype(np.float64), w.astype(np.float64), **hyper)
        scale = np.abs(x.astype(np.float64)).max() * np.abs(w.astype(np.float64)).sum() + 1e-300
        eps = np.finfo(y.dtype).eps
        assert y.dtype in (np.float32, np.float64) and np.isfinite(y).all()
        assert np.abs(y - expected).max() <= 8 * eps * scale
        try:
            back = conv2d_transpose(y, w, input_shape=shape, **hyper)
        except ValueError as exc:
            assert _names_an_argument(exc), exc
            return
        reference = conv2d_transpose_loop(
            y.astype(np.float64), w.astype(np.float64), shape, **hyper
        )
        scale = np.abs(y.astype(np.float64)).max() * np.abs(w.astype(np.float64)).sum() + 1e-300
        assert np.abs(back - reference).max() <= 8 * eps * scale


@FAST
@given(
    problem=problems(),
    dtype=st.sampled_from(["float32", "float64"]),
    preset=st.sampled_from(PRESETS),
    seed=st.integers(0, 2**16),
)
def test_pinv_is_minimum_norm_and_dense_equals_iterative(problem, dtype, preset, seed):
    """On noiseless data A⁺A x is the projection of x: never longer, and both paths agree.

    The stated agreement: ‖x_dense − x_iterative‖ ≤ 1e-5 ‖x‖ at the default rtol 1e-8
    (measured below 1e-7 over 600 random problems, float32 and float64, every preset).
    """
    shape, filt, s, p, d = problem
    rng = np.random.default_rng(seed)
    try:
        w = make_filter(preset, size=filt[:2], in_channels=filt[2], out_channels=filt[3], seed=seed)
    except ValueError:
        return  # a preset that needs a larger kernel
    w = w.astype(dtype)
    x = rng.random(shape).astype(dtype)
    hyper = {"input_shape": shape, "stride": s, "padding": p, "dilation": d}
    y = conv2d(x, w, stride=s, padding=p, dilation=d)
    norm_x = float(np.linalg.norm(x.astype(np.float64)))
    solutions = {}
    for method in ("dense", "iterative"):
        result = pinv_reconstruction(y, w, method=method, **hyper)
        assert result.report.converged
        solutions[method] = result.image.astype(np.float64)
        recovered = float(np.linalg.norm(solutions[method]))
        assert recovered <= norm_x * (1 + 1e-5) + 1e-12  # ‖A⁺A x‖ ≤ ‖x‖
        lost = float(np.linalg.norm(x - solutions[method])) ** 2 / max(norm_x**2, 1e-300)
        assert lost <= 1 + 1e-5  # lost fraction ≤ 1
    gap = float(np.linalg.norm(solutions["dense"] - solutions["iterative"]))
    assert gap <= 1e-5 * norm_x + 1e-12


@pytest.mark.parametrize(
    ("shape", "preset", "filt", "stride", "padding"),
    [
        ((10, 10, 3), "laplacian", None, 1, 2),  # the 20×20 PNG case, smaller
        ((4, 6, 1), "random", (3, 3, 1, 3), 2, (2, 1)),
        ((8, 5, 2), "sobel_y", (3, 2, 2, 1), (1, 2), (0, 1)),  # a zero symbol estimate
    ],
)
def test_float32_data_never_inverts_its_rounding(shape, preset, filt, stride, padding):
    rng = np.random.default_rng(3)
    if filt is None:
        w = make_filter(preset, in_channels=shape[2])
    else:
        w = make_filter(preset, size=filt[:2], in_channels=filt[2], out_channels=filt[3], seed=1)
    w, x = w.astype(np.float32), rng.random(shape).astype(np.float32)
    dilation = 2 if preset == "sobel_y" else 1
    hyper = {"stride": stride, "padding": padding, "dilation": dilation}
    y = conv2d(x, w, **hyper)
    for method in ("dense", "iterative"):
        image = pinv_reconstruction(y, w, input_shape=shape, method=method, **hyper).image
        assert np.linalg.norm(image) <= np.linalg.norm(x) * (1 + 1e-5)
        np.testing.assert_allclose(conv2d(image, w, **hyper), y, atol=1e-5 * np.abs(y).max())


@settings(max_examples=15, deadline=None)
@given(
    magnitude=st.sampled_from([1e-200, 1e-20, 1.0, 1e20, 1e200]),
    w_scale=st.sampled_from([1e-100, 1.0, 1e100]),
    reg=st.sampled_from([0.0, 1e-3]),
    method=st.sampled_from(["dense", "iterative"]),
)
def test_pinv_is_scale_invariant(magnitude, w_scale, reg, method):
    """A⁺ is linear in y and scales as 1/c with the filter: extreme sizes change nothing."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((3, 3, 2, 1))
    y = rng.standard_normal((3, 3, 1))
    hyper = {"input_shape": (6, 6, 2), "stride": 2, "padding": 1, "method": method}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unit = pinv_reconstruction(y, w, reg=reg, **hyper).image
        scaled = pinv_reconstruction(
            y * magnitude, w * w_scale, reg=reg * w_scale**2, **hyper
        ).image
    np.testing.assert_allclose(scaled * w_scale / magnitude, unit, rtol=1e-6, atol=1e-9)


@FAST
@given(
    dtype=st.sampled_from(DTYPES),
    magnitude=st.sampled_from([1e-3, 1.0, 1e6, 1e20, 1e300]),
    method=st.sampled_from([("transposed",), ("pinv",), ("transposed", "pinv", "nullspace")]),
    c_out=st.integers(1, 2),
    seed=st.integers(0, 1000),
)
def test_run_pipeline_gives_finite_panels_or_names_the_argument(
    dtype, magnitude, method, c_out, seed
):
    rng = np.random.default_rng(seed)
    image = _values(rng, (6, 7, 2), dtype, magnitude)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            params = Params(
                make_filter("gaussian", in_channels=2, out_channels=c_out),
                stride=2,
                padding=1,
                methods=method,
            )
            result = run_pipeline(image, params)
        except ValueError as exc:
            assert _names_an_argument(exc), exc
            return
    x = image.astype(np.float64)
    np.testing.assert_allclose(
        result.forward_output,
        conv2d_loop(x, params.weights, params.bias, 2, 1),
        rtol=1e-5,
        atol=1e-6 * np.abs(x).max(),
    )
    for name in method:
        panel = getattr(result, name if name != "nullspace" else "forward_output")
        assert np.isfinite(panel).all()
    if "transposed" in method:
        expected = transposed_reconstruction(
            result.forward_output,
            params.weights,
            params.bias,
            input_shape=x.shape,
            stride=2,
            padding=1,
        )
        np.testing.assert_allclose(result.transposed, expected, rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"padding": 10**12}, "padding"),
        ({"padding": 10**5}, "padding"),
        ({"stride": 10**21}, "stride"),
        ({"stride": (2, 10**9)}, "stride"),
        ({"dilation": 10**18}, "dilation"),
    ],
)
def test_huge_hyper_parameters_are_refused_before_allocating(kwargs, name):
    with pytest.raises(ValueError, match=name) as info:
        conv2d(np.ones((8, 8, 3)), make_filter("gaussian"), **kwargs)
    assert "GiB" in str(info.value) or "at most" in str(info.value)
    with pytest.raises(ValueError, match=name):
        Params(make_filter("gaussian"), **kwargs).geometry((8, 8, 3))


def test_a_huge_image_is_refused_with_the_memory_it_needs(monkeypatch):
    from deconv_gui.core import limits

    monkeypatch.setattr(limits, "memory_budget", lambda: 64 * 1024**2)
    image = np.zeros((512, 512, 3), np.float32)
    with pytest.raises(ValueError, match=r"image: a 512×512×3 image .* needs about [\d.]+ GiB"):
        run_pipeline(image, Params(make_filter("gaussian"), stride=1, padding=1))


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    problem=problems(max_side=24),
    size=st.tuples(st.integers(6, 12), st.integers(6, 12)),
    dtype=st.sampled_from(["float32", "float64"]),
    seed=st.integers(0, 2**16),
)
def test_large_filters_match_the_loops_both_ways(problem, size, dtype, seed):
    """Filters large enough for the FFT kernels give the loops' numbers, forward and back."""
    shape, filt, s, p, d = problem
    fh, fw = size
    h = max(shape[0], d[0] * (fh - 1) + 1 - 2 * p[0])
    w = max(shape[1], d[1] * (fw - 1) + 1 - 2 * p[1])
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, h, w, filt[2])).astype(dtype)
    weights = rng.standard_normal((fh, fw, filt[2], filt[3])).astype(dtype)
    hyper = {"stride": s, "padding": p, "dilation": d}
    y = conv2d(x, weights, **hyper)
    eps = np.finfo(dtype).eps
    scale = np.abs(weights.astype(np.float64)).sum()
    expected = conv2d_loop(x.astype(np.float64), weights.astype(np.float64), **hyper)
    assert np.abs(y - expected).max() <= 64 * eps * scale * np.abs(x).max()
    back = conv2d_transpose(y, weights, input_shape=x.shape, **hyper)
    reference = conv2d_transpose_loop(
        y.astype(np.float64), weights.astype(np.float64), x.shape, **hyper
    )
    assert np.abs(back - reference).max() <= 64 * eps * scale * np.abs(y).max()


ODD_VALUES = st.sampled_from(
    [
        0,
        1,
        2,
        -1,
        2**40,
        10**21,
        0.5,
        -0.0,
        1e300,
        float("nan"),
        float("inf"),
        True,
        None,
        "2",
        "abc",
        (1, 2),
        (0, 1),
        (1, 2, 3),
        [2, 2],
        np.int64(3),
        np.float32(1e-3),
        1j,
    ]
)
#: Every Params field but the filter and the image's name, read from the dataclass.
FIELDS = [f.name for f in dataclasses.fields(Params) if f.name not in ("weights", "image_source")]


@settings(max_examples=EXAMPLES, deadline=None)
@given(field=st.sampled_from(FIELDS), value=ODD_VALUES, dtype=st.sampled_from(DTYPES))
def test_params_accepts_a_value_or_names_the_field(field, value, dtype):
    """Any value for any field: a Params that runs, or a ValueError naming that field."""
    weights = np.ones((2, 2, 1, 2)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            params = Params(weights, **{field: value})
        except ValueError as exc:
            text = str(exc)
            assert field in text or "weights" in text, text
            return
        image = np.random.default_rng(0).random((9, 8, 1))
        try:
            result = run_pipeline(image, params)
        except ValueError as exc:  # a valid Params that does not fit this image
            assert _names_an_argument(exc) or field in str(exc), exc
            return
    assert np.isfinite(result.forward_output).all()


def test_a_cancelled_solve_never_runs_the_dense_path():
    import threading

    from deconv_gui.core import SolveCancelled

    cancel = threading.Event()
    cancel.set()
    y = conv2d(np.ones((7, 7, 3)), make_filter("seed_question"), stride=2)
    with pytest.raises(SolveCancelled):
        pinv_reconstruction(
            y, make_filter("seed_question"), input_shape=(7, 7, 3), stride=2, cancel=cancel
        )


@FAST
@given(
    problem=problems(),
    dtype=st.sampled_from(DTYPES),
    with_bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_transposed_reconstructions_and_coverage_match_the_loops(problem, dtype, with_bias, seed):
    from deconv_gui.core import coverage_map, normalized_transposed_reconstruction

    shape, filt, s, p, d = problem
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(filt)
    hyper = {"input_shape": shape, "stride": s, "padding": p, "dilation": d}
    out_shape = conv2d_loop(np.zeros(shape), w, stride=s, padding=p, dilation=d).shape
    y = _values(rng, out_shape, dtype, 2.0)
    bias = rng.standard_normal(filt[3]) if with_bias else None
    try:
        adjoint = transposed_reconstruction(y, w, bias, **hyper)
    except ValueError as exc:
        assert _names_an_argument(exc), exc
        return
    centred = y.astype(np.float64) - (bias if with_bias else 0.0)
    loop = conv2d_transpose_loop(centred, w, shape, stride=s, padding=p, dilation=d)
    np.testing.assert_allclose(adjoint, loop, rtol=1e-5, atol=1e-5 * np.abs(loop).max() + 1e-12)
    ones = conv2d_transpose_loop(np.ones(out_shape), w, shape, stride=s, padding=p, dilation=d)
    np.testing.assert_allclose(coverage_map(w, **hyper), ones, rtol=1e-12, atol=1e-12)
    normalized = normalized_transposed_reconstruction(y, w, bias, **hyper)
    seen = np.abs(ones) > 1e-12 * np.abs(ones).max()
    np.testing.assert_allclose(normalized[seen], loop[seen] / ones[seen], rtol=1e-4, atol=1e-6)
