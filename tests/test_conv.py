"""conv2d and conv2d_transpose against the literal loops, PyTorch, and their own adjointness."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import conv2d_loop, conv2d_transpose_loop, pair

from deconv_gui.core import conv2d, conv2d_transpose


def random_case(rng: np.random.Generator) -> dict:
    """A random small geometry with a non-empty output: rectangular, strided, dilated."""
    while True:
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        padding = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        height, width = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        span_h, span_w = dilation[0] * (fh - 1) + 1, dilation[1] * (fw - 1) + 1
        if span_h <= height + 2 * padding[0] and span_w <= width + 2 * padding[1]:
            break
    c_in, c_out = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    batch = (int(rng.integers(1, 3)),) if rng.random() < 0.3 else ()
    return {
        "x": rng.standard_normal((*batch, height, width, c_in)),
        "w": rng.standard_normal((fh, fw, c_in, c_out)),
        "kw": {"stride": stride, "padding": padding, "dilation": dilation},
    }


@pytest.mark.parametrize("seed", range(60))
def test_conv2d_matches_loop_on_random_geometry(seed):
    case = random_case(np.random.default_rng(seed))
    x, w, kw = case["x"], case["w"], case["kw"]
    bias = np.random.default_rng(seed + 1000).standard_normal(w.shape[3])
    got = conv2d(x, w, bias, **kw)
    want = conv2d_loop(x, w, bias, **kw)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_conv2d_with_many_output_channels_matches_loop(seed):
    """From 5 output channels the forward GEMM writes channels-last planes per group."""
    rng = np.random.default_rng(seed + 500)
    case = random_case(rng)
    x, kw = case["x"], case["kw"]
    w = rng.standard_normal((*case["w"].shape[:3], int(rng.integers(5, 10))))
    bias = rng.standard_normal(w.shape[3])
    got = conv2d(x, w, bias, **kw)
    want = conv2d_loop(x, w, bias, **kw)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(60))
def test_conv2d_transpose_matches_loop_on_random_geometry(seed):
    rng = np.random.default_rng(seed)
    case = random_case(rng)
    x, w, kw = case["x"], case["w"], case["kw"]
    y = rng.standard_normal(conv2d(x, w, **kw).shape)
    got = conv2d_transpose(y, w, input_shape=x.shape, **kw)
    want = conv2d_transpose_loop(y, w, x.shape, **kw)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_seed_example_by_hand():
    """7×7×3 image, 3×3×3 filter, stride 2, no padding: 3×3×1, each entry a 27-term sum."""
    x = np.arange(7 * 7 * 3, dtype=np.float64).reshape(7, 7, 3) / 10
    w = np.arange(27, dtype=np.float64).reshape(3, 3, 3) - 13
    y = conv2d(x, w, stride=2)
    assert y.shape == (3, 3, 1)
    for h in range(3):
        for col in range(3):
            window = x[2 * h : 2 * h + 3, 2 * col : 2 * col + 3, :]
            assert y[h, col, 0] == pytest.approx(np.sum(window * w), rel=1e-13)
    np.testing.assert_allclose(y, conv2d_loop(x, w, stride=2), rtol=1e-13)


@pytest.mark.parametrize("c_out", [2, 8])
@pytest.mark.parametrize("stride", [1, 2, (3, 2)])
def test_large_image_matches_loop_on_the_border_and_a_window(stride, c_out):
    """The blocked fast path (many row blocks) agrees with the loop on a wide image."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((70, 300, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, c_out)).astype(np.float32)
    kw = {"stride": stride, "padding": 1}
    got = conv2d(x, w, **kw)
    want = conv2d_loop(x, w, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    y = rng.standard_normal(got.shape).astype(np.float32)
    got_t = conv2d_transpose(y, w, input_shape=x.shape, **kw)
    want_t = conv2d_transpose_loop(y, w, x.shape, **kw)
    np.testing.assert_allclose(got_t, want_t, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("c_out", [4, 8])
def test_results_are_deterministic(c_out):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 257, 301, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, c_out)).astype(np.float32)
    first = conv2d(x, w, padding=1)
    assert np.array_equal(first, conv2d(x, w, padding=1))
    y = rng.standard_normal(first.shape).astype(np.float32)
    adj = conv2d_transpose(y, w, input_shape=x.shape, padding=1)
    assert np.array_equal(adj, conv2d_transpose(y, w, input_shape=x.shape, padding=1))


def test_batch_equals_images_one_at_a_time():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 9, 8, 2))
    w = rng.standard_normal((2, 3, 2, 3))
    kw = {"stride": 2, "padding": 1, "dilation": (1, 2)}
    y = conv2d(x, w, 0.5, **kw)
    np.testing.assert_array_equal(y, np.stack([conv2d(xi, w, 0.5, **kw) for xi in x]))
    adj = conv2d_transpose(y, w, input_shape=x.shape, **kw)
    one_by_one = [conv2d_transpose(yi, w, input_shape=x.shape[1:], **kw) for yi in y]
    np.testing.assert_array_equal(adj, np.stack(one_by_one))


# --- dot test -----------------------------------------------------------------------------

# Tolerance of the dot test <A x, y> = <x, Aᵀ y>. Both sides are sums of the same
# n = H_out W_out C_out f_h f_w C_in products w·x·y, grouped differently, so in floating
# point they differ by at most about n · eps · Σ|w x y| (the standard bound for recursive
# summation; pairwise/BLAS summation does better). We bound Σ|w x y| by
# ‖|A| |x|‖ ‖y‖ ≤ ‖w‖₁ ‖x‖ ‖y‖ loosely and use the cheaper scale ‖w‖₁ ‖x‖ ‖y‖ with
# a factor 4 · n · eps: float64 (eps 2.2e-16) gives ~1e-12 relative on these sizes,
# float32 (eps 1.2e-7) ~1e-4. A wrong index (a non-adjoint) shows up as an O(1) error.
DOT_TOLERANCE_FACTOR = 4.0


@st.composite
def geometries(draw):
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    min_h = max(1, dilation[0] * (fh - 1) + 1 - 2 * padding[0])
    min_w = max(1, dilation[1] * (fw - 1) + 1 - 2 * padding[1])
    height = draw(st.integers(min_h, min_h + 12))
    width = draw(st.integers(min_w, min_w + 12))
    c_in, c_out = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    kw = {"stride": stride, "padding": padding, "dilation": dilation}
    return (height, width, c_in), (fh, fw, c_in, c_out), kw, dtype, seed


@settings(max_examples=80, deadline=None)
@given(geometries())
def test_dot_product_adjointness(case):
    input_shape, filter_shape, kw, dtype, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(input_shape).astype(dtype)
    w = rng.standard_normal(filter_shape).astype(dtype)
    ax = conv2d(x, w, **kw)
    y = rng.standard_normal(ax.shape).astype(dtype)
    aty = conv2d_transpose(y, w, input_shape=input_shape, **kw)
    assert ax.dtype == aty.dtype == dtype
    lhs = np.dot(ax.ravel().astype(np.float64), y.ravel().astype(np.float64))
    rhs = np.dot(x.ravel().astype(np.float64), aty.ravel().astype(np.float64))
    n_terms = ax.size * filter_shape[0] * filter_shape[1] * filter_shape[2]
    scale = np.abs(w).sum() * np.linalg.norm(x) * np.linalg.norm(y)
    tol = DOT_TOLERANCE_FACTOR * n_terms * np.finfo(dtype).eps * scale
    assert abs(lhs - rhs) <= tol, (lhs, rhs, tol)


# --- dtypes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.int32, np.float64),
        (np.int64, np.float64),
        (np.uint8, np.float64),
        (np.bool_, np.float64),
    ],
)
def test_dtype_is_kept_or_promoted(dtype, expected):
    x = (np.arange(5 * 6 * 2) % 3).reshape(5, 6, 2).astype(dtype)
    w = np.ones((2, 2, 2), dtype=np.float32)
    y = conv2d(x, w)
    assert y.dtype == expected
    adj = conv2d_transpose(y, w, input_shape=x.shape)
    assert adj.dtype == expected
    np.testing.assert_allclose(y, conv2d_loop(x.astype(np.float64), w), rtol=1e-6)


def test_integer_filter_with_float32_image_stays_float32():
    x = np.ones((4, 4, 1), dtype=np.float32)
    assert conv2d(x, np.ones((2, 2, 1), dtype=np.int64)).dtype == np.float32


# --- PyTorch parity -----------------------------------------------------------------------

TORCH_CASES = [
    # (H, W, C_in, f_h, f_w, C_out, stride, padding, dilation)
    (7, 7, 3, 3, 3, 1, 2, 0, 1),
    (16, 13, 3, 3, 3, 8, 1, 1, 1),
    (16, 13, 2, 3, 2, 3, (2, 3), (1, 0), (2, 1)),
    (11, 12, 3, 3, 3, 2, 2, 1, 2),
    (10, 9, 1, 2, 2, 1, 3, 0, 1),  # stride larger than the filter
    (9, 10, 2, 1, 1, 2, (4, 3), 2, 1),  # 1×1 filter, big stride
    (12, 12, 4, 3, 3, 3, 3, 2, 2),
]


@pytest.mark.parametrize("case", TORCH_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_pytorch(case, dtype):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    height, width, c_in, fh, fw, c_out, stride, padding, dilation = case
    kw = {"stride": stride, "padding": padding, "dilation": dilation}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, height, width, c_in)).astype(dtype)
    w = rng.standard_normal((fh, fw, c_in, c_out)).astype(dtype)
    bias = rng.standard_normal(c_out).astype(dtype)
    x_t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW
    w_t = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))  # OIHW
    want = functional.conv2d(x_t, w_t, torch.from_numpy(bias), **kw).numpy().transpose(0, 2, 3, 1)
    got = conv2d(x, w, bias, **kw)
    rtol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)

    y = rng.standard_normal(got.shape).astype(dtype)
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    # output_padding adds the rows/columns the forward pass skipped, so the sizes match.
    full_h = (y.shape[1] - 1) * sh - 2 * ph + dh * (fh - 1) + 1
    full_w = (y.shape[2] - 1) * sw - 2 * pw + dw * (fw - 1) + 1
    output_padding = (height - full_h, width - full_w)
    y_t = torch.from_numpy(np.ascontiguousarray(y.transpose(0, 3, 1, 2)))
    want_t = functional.conv_transpose2d(y_t, w_t, output_padding=output_padding, **kw)
    want_t = want_t.numpy().transpose(0, 2, 3, 1)
    got_t = conv2d_transpose(y, w, input_shape=x.shape, **kw)
    np.testing.assert_allclose(got_t, want_t, rtol=rtol, atol=rtol)


# --- validation ---------------------------------------------------------------------------

IMAGE = np.ones((5, 5, 3))
FILTER = np.ones((3, 3, 3, 2))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": np.ones((5, 5))}, "x"),
        ({"x": np.ones((1, 1, 5, 5, 3))}, "x"),
        ({"weights": np.ones((3, 3))}, "weights"),
        ({"weights": np.ones((3, 3, 3, 2, 1))}, "weights"),
        ({"weights": np.ones((3, 3, 2, 2))}, "channel mismatch"),
        ({"stride": 0}, "stride"),
        ({"stride": (1, -1)}, "stride"),
        ({"dilation": 0}, "dilation"),
        ({"padding": -1}, "padding"),
        ({"padding": (0, -2)}, "padding"),
        ({"weights": np.ones((7, 3, 3))}, "empty output"),
        ({"weights": np.ones((3, 3, 3)), "dilation": 3}, "empty output"),
        ({"x": np.full((5, 5, 3), np.nan)}, "x"),
        ({"x": np.full((5, 5, 3), np.inf)}, "x"),
        ({"weights": np.full((3, 3, 3), -np.inf)}, "weights"),
        ({"bias": np.ones(3)}, "bias"),
        ({"bias": np.ones((2, 2))}, "bias"),
        ({"bias": np.nan}, "bias"),
        ({"x": np.full((5, 5, 3), "a")}, "x"),
        ({"x": np.ones((5, 5, 3), dtype=complex)}, "x"),
        ({"x": np.empty((5, 5, 3), dtype=object)}, "x"),
        ({"weights": np.ones((3, 3, 3), dtype=complex)}, "weights"),
        ({"bias": "one"}, "bias"),
    ],
)
def test_conv2d_rejects_bad_input(kwargs, match):
    args = {"x": IMAGE, "weights": FILTER, **kwargs}
    with pytest.raises(ValueError, match=match):
        conv2d(**args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": np.ones((3, 3))}, "y"),
        ({"y": np.ones((3, 3, 3))}, "y"),  # wrong C_out
        ({"y": np.ones((4, 3, 2))}, "y"),  # wrong H_out
        ({"y": np.full((3, 3, 2), np.nan)}, "y"),
        ({"y": np.ones((3, 3, 2), dtype=complex)}, "y"),
        ({"weights": np.ones((3, 3))}, "weights"),
        ({"input_shape": (5, 5)}, "input_shape"),
        ({"input_shape": (5, 5, 0)}, "input_shape"),
        ({"input_shape": (5, 5.0, 3)}, "input_shape"),
        ({"input_shape": (5, 5, 2)}, "channel mismatch"),
        ({"input_shape": (1, 1, 3)}, "empty output"),
        ({"stride": 0}, "stride"),
        ({"padding": -1}, "padding"),
        ({"dilation": (1, 0)}, "dilation"),
    ],
)
def test_conv2d_transpose_rejects_bad_input(kwargs, match):
    args = {"y": np.ones((3, 3, 2)), "weights": FILTER, "input_shape": (5, 5, 3), **kwargs}
    with pytest.raises(ValueError, match=match):
        conv2d_transpose(**args)


def test_batched_input_shape_must_match_y_batch():
    y = np.ones((2, 3, 3, 2))
    with pytest.raises(ValueError, match="input_shape"):
        conv2d_transpose(y, FILTER, input_shape=(3, 5, 5, 3))
    assert conv2d_transpose(y, FILTER, input_shape=(2, 5, 5, 3)).shape == (2, 5, 5, 3)
    with pytest.raises(ValueError, match="input_shape"):
        conv2d_transpose(y[0], FILTER, input_shape=(1, 5, 5, 3))  # batch axis but y has none
    # a per-image input_shape with a batched y is accepted and applies to every image
    assert conv2d_transpose(y, FILTER, input_shape=(5, 5, 3)).shape == (2, 5, 5, 3)


def test_finite_check_survives_an_overflowing_sum_and_finds_a_single_nan():
    # The finiteness check first sums the array; a float32 sum of large finite values
    # overflows to inf, which must fall back to the element-wise check (accepted), and
    # one NaN or inf among a million values must still be found.
    big = np.full((64, 64, 3), 3e38, dtype=np.float32)
    w = np.ones((1, 1, 3, 1), dtype=np.float32) * 1e-3
    assert np.isfinite(conv2d(big, w)).all()
    for bad in (np.nan, np.inf, -np.inf):
        x = np.zeros((512, 512, 3), dtype=np.float32)
        x[300, 7, 2] = bad
        with pytest.raises(ValueError, match="x contains NaN or inf"):
            conv2d(x, w)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_in_x_is_found_through_zero_weights_unread_pixels_and_groups(bad):
    # conv2d looks for NaN/inf in x through the result when every pixel of x is read;
    # a pixel read only by zero weights, or never read at all, must still be reported.
    rng = np.random.default_rng(3)
    cross = np.zeros((3, 3, 3, 2))
    cross[1, :] = cross[:, 1] = 1.0  # zero corners
    cases = [
        ({"weights": cross, "stride": 2, "padding": 1}, (0, 0, 1)),  # corner taps only
        ({"weights": cross, "stride": 2, "padding": 0}, (4, 4, 0)),
        ({"weights": np.ones((1, 1, 3, 1)), "stride": 3}, (1, 1, 2)),  # never read
        ({"weights": np.ones((3, 3, 3, 1)), "stride": 4}, (3, 5, 0)),  # never read
        ({"weights": rng.standard_normal((3, 3, 1, 3)), "groups": 3, "padding": 1}, (2, 3, 1)),
        ({"weights": cross, "padding": 2, "padding_mode": "reflect"}, (6, 0, 2)),
    ]
    for kwargs, pixel in cases:
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((7, 8, 3)).astype(dtype)
            x[pixel] = bad
            with pytest.raises(ValueError, match="x contains NaN or inf"):
                conv2d(x, **kwargs)
