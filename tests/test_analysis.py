"""Issue 6's analysis functions against independent references.

References: a dense matrix of ``A`` built entry by entry from the definition of the
strided cross-correlation (no code shared with ``deconv_gui.core``), numpy.linalg
(pinv, matrix_rank, svd), and a literal copy of the seed question's loop.

Tolerances: float64 throughout. Dense-path results are compared at ``1e-10``
(relative to the scale of the quantity): they differ from the reference only by
rounding in LAPACK. Iterative (CGLS) results are compared at ``1e-7``, with the solver
run at ``rtol=1e-12``, well above the solver's stopping error times the condition
numbers of these small random problems. The vectorised question loop differs from
the literal loop only in summation order: ``1e-12``.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deconv_gui.core.analysis import (
    adjoint_dot_test,
    compare_arrays,
    coverage_map,
    effective_kernel,
    nullspace_component,
    operator_rank,
    question_deconv,
    rank_bounds,
    rank_info,
    receptive_field,
    reconstruction_metrics,
    recoverable_component,
    relative_residual,
    singular_values,
    split_components,
    tikhonov_curve,
    touching_outputs,
)
from deconv_gui.core.conv import conv2d, conv2d_transpose
from deconv_gui.core.geometry import ConvGeometry
from deconv_gui.core.solvers import SolveCancelled

# ----------------------------------------------------------------------------- references


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def dense_matrix(input_shape, w, stride=1, padding=0, dilation=1):
    """``A`` entry by entry: row (h, w, o), column (r, k, c), as ``ravel`` orders them."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 3:
        w = w[..., None]
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    height, width, c_in = input_shape
    fh, fw, _, c_out = w.shape
    h_out = (height + 2 * ph - dh * (fh - 1) - 1) // sh + 1
    w_out = (width + 2 * pw - dw * (fw - 1) - 1) // sw + 1
    matrix = np.zeros((h_out * w_out * c_out, height * width * c_in))
    for h in range(h_out):
        for col in range(w_out):
            for o in range(c_out):
                row = (h * w_out + col) * c_out + o
                for i in range(fh):
                    for j in range(fw):
                        r, k = sh * h + dh * i - ph, sw * col + dw * j - pw
                        if 0 <= r < height and 0 <= k < width:
                            for c in range(c_in):
                                matrix[row, (r * width + k) * c_in + c] += w[i, j, c, o]
    return matrix


def relu(x):
    return np.maximum(x, 0)


# The seed question's loop, copied verbatim (only re-indented and black-formatted).
def deConv(Z, cashe):
    (X_prev, W, b, s, p) = cashe  # noqa: RUF059  (the loop ignores the padding p)
    (m, n_H_prev, n_W_prev, n_C_prev) = X_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    (m, n_H, n_W, n_C) = Z.shape
    X_curr = np.zeros((m, n_H_prev, n_W_prev, n_C_prev))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    for x in range(n_C_prev):
                        # inverse_W = np.linalg.pinv(W[:, :, x, c])
                        transpose_W = np.transpose(W[:, :, x, c])
                        X_curr[i, h * s : h * s + f, w * s : w * s + f, x] += (
                            Z[i, h, w, c] * transpose_W
                        )
                    X_curr[i, h * s : h * s + f, w * s : w * s + f, :] += b[:, :, :, c]
    X_curr = relu(X_curr)
    return X_curr


RNG = np.random.default_rng(20240606)

# (input_shape, filter_shape, stride, padding, dilation): the seed's case first
GEOMETRIES = [
    ((7, 7, 3), (3, 3, 3, 1), 2, 0, 1),
    ((8, 7, 2), (3, 2, 2, 2), (2, 1), 1, 1),
    ((9, 9, 1), (2, 3, 1, 3), 3, (0, 2), (2, 1)),
    ((6, 6, 2), (3, 3, 2, 1), 1, 1, 1),
    ((7, 9, 2), (4, 4, 2, 2), 3, 0, 1),
]
IDS = ["seed", "pad-cout2", "dilated", "stride1", "k4s3"]


def _case(geometry, seed=0):
    input_shape, filter_shape, stride, padding, dilation = geometry
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(filter_shape)
    x = rng.random(input_shape)
    matrix = dense_matrix(input_shape, w, stride, padding, dilation)
    hyper = {"stride": stride, "padding": padding, "dilation": dilation}
    return w, x, matrix, hyper


# ----------------------------------------------------------------------------- null space


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_nullspace_component_is_annihilated_and_orthogonal_to_row_space(geometry):
    w, x, matrix, hyper = _case(geometry)
    lost = nullspace_component(x, w, **hyper)
    recovered = recoverable_component(x, w, **hyper)
    scale = np.linalg.norm(x) * np.linalg.norm(matrix, 2)
    assert np.linalg.norm(matrix @ lost.ravel()) <= 1e-10 * scale
    _, sigma, vt = np.linalg.svd(matrix)
    row_space = vt[: np.count_nonzero(sigma > sigma[0] * 1e-12)]
    assert np.linalg.norm(row_space @ lost.ravel()) <= 1e-10 * np.linalg.norm(x)
    expected = np.linalg.pinv(matrix) @ matrix @ x.ravel()
    np.testing.assert_allclose(recovered.ravel(), expected, atol=1e-10 * np.linalg.norm(x))
    np.testing.assert_allclose(lost + recovered, x, atol=1e-12)


def test_split_components_seed_case_loses_most_of_the_image():
    w, x, _, hyper = _case(GEOMETRIES[0])
    split = split_components(x, w, **hyper)
    assert split.report.converged
    assert split.recoverable_fraction**2 + split.lost_fraction**2 == pytest.approx(1, abs=1e-10)
    assert split.lost_fraction > split.recoverable_fraction  # 138 of 147 dimensions lost


def test_split_components_matrix_free_path_matches_dense_pinv():
    # 40*40*3 = 4800 unknowns > DENSE_COLUMN_LIMIT: the pinv solve is iterative
    rng = np.random.default_rng(3)
    w = rng.standard_normal((3, 3, 3, 1))
    x = rng.random((40, 40, 3))
    matrix = dense_matrix(x.shape, w, 2)
    split = split_components(x, w, stride=2, rtol=1e-12)
    assert split.report.method != "dense"
    # A has full row rank here (one output channel, no padding), so A⁺ = Aᵀ(AAᵀ)⁻¹
    expected = matrix.T @ np.linalg.solve(matrix @ matrix.T, matrix @ x.ravel())
    np.testing.assert_allclose(split.recoverable.ravel(), expected, atol=1e-7 * np.linalg.norm(x))
    assert np.linalg.norm(matrix @ split.lost.ravel()) <= 1e-7 * np.linalg.norm(matrix @ x.ravel())


def test_nullspace_component_keeps_float32_and_accepts_2d():
    w = RNG.standard_normal((3, 3, 1))
    x = RNG.random((7, 7)).astype(np.float32)
    lost = nullspace_component(x, w, stride=2)
    assert lost.dtype == np.float32 and lost.shape == (7, 7, 1)


def test_nullspace_component_passes_cancel_to_the_solver():
    rng = np.random.default_rng(1)
    event = threading.Event()
    event.set()
    with pytest.raises(SolveCancelled):
        nullspace_component(
            rng.random((40, 40, 3)), rng.standard_normal((3, 3, 3)), stride=2, cancel=event
        )


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"stride": 0}, "stride"), ({"padding": -1}, "padding"), ({"dilation": (1, 0)}, "dilation")],
)
def test_nullspace_component_names_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        nullspace_component(np.ones((7, 7, 3)), np.ones((3, 3, 3)), **kwargs)


def test_nullspace_component_rejects_channel_mismatch():
    with pytest.raises(ValueError, match="channel"):
        nullspace_component(np.ones((7, 7, 2)), np.ones((3, 3, 3)))


# ----------------------------------------------------------------------------- coverage


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_coverage_map_is_adjoint_of_ones(geometry):
    w, x, matrix, hyper = _case(geometry)
    cover = coverage_map(w, input_shape=x.shape, **hyper)
    np.testing.assert_allclose(cover.ravel(), matrix.T @ np.ones(matrix.shape[0]), atol=1e-12)


# ----------------------------------------------------------------------------- rank


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_operator_rank_matches_matrix_rank(geometry):
    w, x, matrix, hyper = _case(geometry)
    assert operator_rank(w, input_shape=x.shape, **hyper) == np.linalg.matrix_rank(matrix)


def test_operator_rank_of_rank_deficient_filter_bank():
    # two identical output channels: the rows repeat, so the rank is that of one channel
    single = RNG.standard_normal((3, 3, 2, 1))
    w = np.concatenate([single, single], axis=3)
    matrix = dense_matrix((8, 8, 2), w, 1)
    rank = operator_rank(w, input_shape=(8, 8, 2))
    assert rank == np.linalg.matrix_rank(matrix) == np.linalg.matrix_rank(matrix[::2])
    assert operator_rank(np.zeros((3, 3, 2)), input_shape=(8, 8, 2)) == 0


def test_rank_info_seed_case_text():
    w = RNG.standard_normal((3, 3, 3))
    info = rank_info(w, input_shape=(7, 7, 3), stride=2)
    assert (info.rank, info.nullity, info.exact) == (9, 138, True)
    assert info.describe() == "rank 9, nullity 138 (exact)"


def test_rank_of_large_problem_is_a_bound_not_an_exception():
    w = np.ones((3, 3, 3))
    with pytest.raises(ValueError, match=r"rank ≤ min\(equations, unknowns\) = 961"):
        operator_rank(w, input_shape=(64, 64, 3), stride=2)
    info = rank_info(w, input_shape=(64, 64, 3), stride=2)
    assert not info.exact and info.rank is None
    assert (info.rank_upper, info.nullity_lower) == (961, 64 * 64 * 3 - 961)
    assert "nullity ≥ 11,327" in info.describe()
    assert rank_bounds(ConvGeometry((64, 64, 3), (3, 3, 3), 2)) == info


# ----------------------------------------------------------------------------- singular values


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_singular_values_match_numpy_svd(geometry):
    w, x, matrix, hyper = _case(geometry)
    values, exact = singular_values(w, input_shape=x.shape, **hyper)
    assert exact
    expected = np.linalg.svd(matrix, compute_uv=False)
    np.testing.assert_allclose(values, expected, atol=1e-10 * expected[0])


def test_symbol_approximation_is_close_in_the_bulk_and_labelled():
    # periodic approximation: borders ignored, so only a loose agreement is expected
    w = np.random.default_rng(5).standard_normal((3, 3, 2, 2))
    exact = singular_values(w, input_shape=(24, 24, 2), stride=2).values
    approx, is_exact = singular_values(w, input_shape=(24, 24, 2), stride=2, method="symbol")
    assert not is_exact and approx.shape == exact.shape
    assert np.all(np.diff(approx) <= 0)
    assert approx[0] == pytest.approx(exact[0], rel=0.05)
    assert np.linalg.norm(approx - exact) <= 0.05 * np.linalg.norm(exact)


def test_singular_values_fall_back_to_symbol_for_large_problems():
    values, exact = singular_values(np.ones((3, 3, 1)), input_shape=(80, 80, 1), stride=2)
    assert not exact and values.shape == (39 * 39,)
    # all-ones 3×3 filter: autocorrelation R[δ] = (3 − |δ_r|)(3 − |δ_c|); at frequency
    # zero the symbol is Σ_Δ R[2Δ] = (1 + 3 + 1)² = 25, so σ_max = 5
    assert values[0] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="too large"):
        singular_values(np.ones((3, 3, 1)), input_shape=(80, 80, 1), method="exact")


# ----------------------------------------------------------------------------- question loop


QUESTION_CASES = [
    # (m, input_shape, f, n_C, stride)
    (1, (7, 7, 3), 3, 1, 2),  # the seed's case
    (2, (7, 7, 3), 3, 2, 2),
    (3, (6, 8, 2), 2, 3, 1),
    (2, (9, 10, 1), 3, 2, 3),
]


@pytest.mark.parametrize("case", QUESTION_CASES)
def test_question_deconv_matches_literal_seed_loop(case):
    m, input_shape, f, n_c, s = case
    rng = np.random.default_rng(sum(input_shape) + m)
    w = rng.standard_normal((f, f, input_shape[2], n_c))
    b = rng.standard_normal((1, 1, 1, n_c))
    x_prev = rng.random((m, *input_shape))
    z = conv2d(x_prev, w, b.ravel(), stride=s)
    expected = deConv(z, (x_prev, w, b, s, 0))
    got = question_deconv(z, w, b, input_shape=x_prev.shape, stride=s)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    single = question_deconv(z[0], w, b.ravel(), input_shape=input_shape, stride=s)
    np.testing.assert_allclose(single, expected[0], rtol=1e-12, atol=1e-12)
    assert (expected < 0).sum() == 0 and (got == 0).any()  # ReLU clipped something


def test_question_deconv_equals_adjoint_only_in_the_special_case():
    rng = np.random.default_rng(9)
    base = rng.random((3, 3, 3, 1))
    symmetric = base + base.transpose(1, 0, 2, 3)  # W[a, b] = W[b, a]
    z = rng.random((3, 3, 1))  # non-negative output and filter: non-negative adjoint
    adjoint = conv2d_transpose(z, symmetric, input_shape=(7, 7, 3), stride=2)
    ours = question_deconv(z, symmetric, 0.0, input_shape=(7, 7, 3), stride=2)
    np.testing.assert_allclose(ours, adjoint, rtol=1e-12)
    # a non-symmetric kernel, a bias or a signed output each break the equality
    for weights, bias, out in (
        (base, 0.0, z),
        (symmetric, 0.5, z),
        (symmetric, 0.0, z - 0.5),
    ):
        adjoint = conv2d_transpose(out, weights, input_shape=(7, 7, 3), stride=2)
        ours = question_deconv(out, weights, bias, input_shape=(7, 7, 3), stride=2)
        assert np.abs(ours - adjoint).max() > 1e-3


def test_question_deconv_rejects_what_the_loop_cannot_run():
    z = np.ones((4, 4, 1))  # a padded forward pass of a 7×7 image: the loop overflows
    with pytest.raises(ValueError, match="padding"):
        question_deconv(z, np.ones((3, 3, 3)), 0.0, input_shape=(7, 7, 3), stride=2)
    with pytest.raises(ValueError, match="square"):
        question_deconv(np.ones((3, 2, 1)), np.ones((3, 2, 3)), input_shape=(7, 7, 3))
    with pytest.raises(ValueError, match="channel"):
        question_deconv(np.ones((3, 3, 1)), np.ones((3, 3, 2)), input_shape=(7, 7, 3), stride=2)


# ----------------------------------------------------------------------------- inspect


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_receptive_field_matches_dense_rows(geometry):
    w, x, matrix, hyper = _case(geometry)
    geom = ConvGeometry(x.shape, w.shape, **hyper)
    h_out, w_out, c_out = geom.output_shape
    height, width, c_in = x.shape
    for h in range(h_out):
        for col in range(w_out):
            field = receptive_field((h, col), input_shape=x.shape, filter_shape=w.shape, **hyper)
            pattern = matrix[(h * w_out + col) * c_out].reshape(height, width, c_in) != 0
            expected = set(zip(*np.nonzero(pattern.any(axis=2)), strict=True))
            assert set(zip(field.rows, field.cols, strict=True)) == expected
            assert len(field.rows) + field.clipped_taps == w.shape[0] * w.shape[1]
            # the tap reported for each pixel carries the matrix entry
            for r, k, i, j in zip(*field[:4], strict=True):
                entry = matrix[(h * w_out + col) * c_out, (r * width + k) * c_in]
                assert entry == w[i, j, 0, 0]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_touching_outputs_matches_dense_columns(geometry):
    w, x, matrix, hyper = _case(geometry)
    geom = ConvGeometry(x.shape, w.shape, **hyper)
    h_out, w_out, c_out = geom.output_shape
    height, width, c_in = x.shape
    for r in range(height):
        for k in range(width):
            links = touching_outputs((r, k, 0), input_shape=x.shape, filter_shape=w.shape, **hyper)
            column = matrix[:, (r * width + k) * c_in].reshape(h_out, w_out, c_out) != 0
            expected = set(zip(*np.nonzero(column.any(axis=2)), strict=True))
            assert set(zip(links.rows, links.cols, strict=True)) == expected
            for h, col, i, j in zip(*links[:4], strict=True):
                entry = matrix[(h * w_out + col) * c_out, (r * width + k) * c_in]
                assert entry == w[i, j, 0, 0]


def test_inspect_names_bad_pixels():
    kwargs = {"input_shape": (7, 7, 3), "filter_shape": (3, 3, 3, 1), "stride": 2}
    with pytest.raises(ValueError, match="output_pixel"):
        receptive_field((3, 0), **kwargs)
    with pytest.raises(ValueError, match="input_pixel"):
        touching_outputs((0, 0, 3), **kwargs)
    with pytest.raises(ValueError, match="pixel"):
        effective_kernel(np.ones((3, 3, 3)), "a", input_shape=(7, 7, 3), stride=2)


@pytest.mark.parametrize("method", ["dense", "iterative", "cgls"])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_effective_kernel_is_a_row_of_the_dense_pinv(geometry, method):
    w, x, matrix, hyper = _case(geometry)
    pinv = np.linalg.pinv(matrix)
    height, width, c_in = x.shape
    geom = ConvGeometry(x.shape, w.shape, **hyper)
    tol = 1e-10 if method == "dense" else 1e-7
    for pixel in [(0, 0, 0), (height // 2, width // 2, c_in - 1), (height - 1, width - 1, 0)]:
        row = effective_kernel(
            w, pixel, input_shape=x.shape, method=method, rtol=1e-12, **hyper
        ).image
        assert row.shape == geom.output_shape
        expected = pinv[(pixel[0] * width + pixel[1]) * c_in + pixel[2]]
        np.testing.assert_allclose(row.ravel(), expected, atol=tol * np.abs(pinv).max())


def test_effective_kernel_with_reg_is_a_row_of_the_tikhonov_inverse():
    w, x, matrix, hyper = _case(GEOMETRIES[1])
    reg = 0.3
    tikhonov = np.linalg.solve(matrix.T @ matrix + reg * np.eye(matrix.shape[1]), matrix.T)
    for method in ("dense", "iterative", "cgls"):
        kernel = effective_kernel(
            w, (4, 3, 1), input_shape=x.shape, reg=reg, method=method, rtol=1e-12, **hyper
        ).image
        expected = tikhonov[(4 * x.shape[1] + 3) * x.shape[2] + 1]
        np.testing.assert_allclose(kernel.ravel(), expected, atol=1e-9 * np.abs(expected).max())


def test_effective_kernel_is_non_local_unlike_the_adjoint_row():
    # stride 1, 3×3 filter on 10×10: Aᵀ's row touches 9 outputs, A⁺'s spreads further
    w = np.random.default_rng(2).standard_normal((3, 3, 1))
    result = effective_kernel(w, (5, 5), input_shape=(10, 10, 1), method="iterative", rtol=1e-10)
    assert result.report.converged and result.report.method == "pcg-adjoint"
    significant = np.abs(result.image) > 1e-3 * np.abs(result.image).max()
    assert significant.sum() > 9


def test_effective_kernel_cancel():
    event = threading.Event()
    event.set()
    with pytest.raises(SolveCancelled):
        effective_kernel(
            np.ones((3, 3, 1)), (1, 1), input_shape=(9, 9, 1), method="iterative", cancel=event
        )


# ----------------------------------------------------------------------------- Tikhonov curve


def test_tikhonov_curve_is_monotonic_and_starts_at_the_pinv():
    w, x, matrix, hyper = _case(GEOMETRIES[1])
    bias = np.array([0.2, -0.1])
    y = conv2d(x, w, bias, **hyper)
    regs = [0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
    calls = []
    curve = tikhonov_curve(
        y,
        w,
        bias,
        regs,
        input_shape=x.shape,
        reference=x,
        progress=lambda *a: calls.append(a),
        **hyper,
    )
    assert np.all(np.diff(curve.solution_norms) < 0)
    assert np.all(np.diff(curve.residual_norms) > 0)
    pinv_image = np.linalg.pinv(matrix) @ (y - bias).ravel()
    assert curve.solution_norms[0] == pytest.approx(np.linalg.norm(pinv_image), rel=1e-10)
    assert curve.relative_residuals[0] < 1e-10
    assert np.isfinite(curve.psnr).all() and np.isfinite(curve.ssim).all()
    assert calls[-1] == (len(regs), 1.0) and len(calls) == len(regs)


def test_tikhonov_curve_cancel_and_validation():
    w, x, _, hyper = _case(GEOMETRIES[0])
    y = conv2d(x, w, **hyper)
    with pytest.raises(SolveCancelled):
        tikhonov_curve(y, w, None, [0.1, 1.0], input_shape=x.shape, cancel=lambda: True, **hyper)
    with pytest.raises(ValueError, match="regs"):
        tikhonov_curve(y, w, None, [-1.0], input_shape=x.shape, **hyper)
    with pytest.raises(ValueError, match="reference"):
        tikhonov_curve(y, w, None, [1.0], input_shape=x.shape, reference=np.ones(3), **hyper)


# ----------------------------------------------------------------------------- metrics


@pytest.mark.parametrize(
    ("shape", "win"), [((16, 16, 3), 7), ((5, 6, 1), 5), ((4, 4, 3), 3), ((6, 6), 5)]
)
def test_reconstruction_metrics_finite_on_small_images(shape, win):
    rng = np.random.default_rng(4)
    reference = rng.random(shape)
    estimate = reference + 0.05 * rng.standard_normal(shape)
    scores = reconstruction_metrics(reference, estimate)
    assert np.isfinite(scores["psnr"]) and scores["psnr"] > 15
    assert -1 <= scores["ssim"] <= 1
    assert scores["ssim_win_size"] == win
    mse = np.mean((reference - estimate) ** 2)
    data_range = reference.max() - reference.min()
    assert scores["psnr"] == pytest.approx(10 * np.log10(data_range**2 / mse), rel=1e-10)


def test_reconstruction_metrics_edge_cases():
    tiny = reconstruction_metrics(np.array([[0.0, 1.0], [1.0, 0.0]]), np.zeros((2, 2)))
    assert tiny["ssim"] is None and "3×3" in tiny["notes"][0] and np.isfinite(tiny["psnr"])
    perfect = reconstruction_metrics(np.eye(8), np.eye(8))
    assert perfect["psnr"] == float("inf") and perfect["ssim"] == pytest.approx(1.0)
    flat = reconstruction_metrics(np.ones((8, 8)), np.zeros((8, 8)))
    assert flat["psnr"] is None and flat["ssim"] is None and flat["notes"]
    with pytest.raises(ValueError, match="estimate"):
        reconstruction_metrics(np.ones((8, 8)), np.ones((8, 7)))


def test_relative_residual_against_dense():
    w, x, matrix, hyper = _case(GEOMETRIES[1])
    bias = np.array([1.0, 2.0])
    y = conv2d(x, w, bias, **hyper)
    pinv_image = (np.linalg.pinv(matrix) @ (y - bias).ravel()).reshape(x.shape)
    assert relative_residual(pinv_image, y, w, bias, **hyper) < 1e-12
    guess = np.zeros_like(x) + 0.5
    expected = np.linalg.norm(matrix @ guess.ravel() - (y - bias).ravel()) / np.linalg.norm(
        y - bias
    )
    assert relative_residual(guess, y, w, bias, **hyper) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="y must have shape"):
        relative_residual(guess, y[:-1], w, bias, **hyper)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_adjoint_dot_test_is_at_rounding_level(geometry):
    _, x, _, hyper = _case(geometry)
    w = RNG.standard_normal(geometry[1])
    assert adjoint_dot_test(w, input_shape=x.shape, **hyper) < 1e-14
    assert adjoint_dot_test(w, input_shape=x.shape, dtype=np.float32, **hyper) < 1e-5


# ----------------------------------------------------------------------------- check my code


def test_compare_arrays_verdicts_and_shapes():
    reference = RNG.random((5, 5, 1))
    same = compare_arrays(reference[..., 0], reference, what="the forward output")
    assert same.matches and same.max_abs_error == 0 and "float64 rounding" in same.verdict
    near = compare_arrays(reference.astype(np.float32), reference)
    assert near.matches and near.relative_error > 0
    off = compare_arrays(reference + 1, reference)
    assert not off.matches and "differs" in off.verdict
    np.testing.assert_allclose(off.difference, 1.0)
    with pytest.raises(ValueError, match=r"candidate has shape \(4, 5\)"):
        compare_arrays(np.ones((4, 5)), reference)


def test_reconstruction_metrics_agree_with_skimage_in_float32_and_float64():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    rng = np.random.default_rng(5)
    reference = rng.random((24, 20, 3))
    estimate = reference + 0.1 * rng.standard_normal(reference.shape)
    kwargs = {"data_range": float(np.ptp(reference))}
    psnr = peak_signal_noise_ratio(reference, estimate, **kwargs)
    ssim = structural_similarity(reference, estimate, channel_axis=-1, **kwargs)
    scores64 = reconstruction_metrics(reference, estimate)
    # PSNR by the same formula, summed in another order: equal to ~1e-12 relative
    assert scores64["psnr"] == pytest.approx(psnr, rel=1e-12)
    assert scores64["ssim"] == pytest.approx(ssim, rel=1e-12)  # skimage itself in float64
    scores32 = reconstruction_metrics(reference.astype(np.float32), estimate.astype(np.float32))
    # float32 inputs: SSIM in float32 (rounding ~1e-7 per moment) vs float64: ≤ 1e-5
    assert scores32["ssim"] == pytest.approx(ssim, abs=1e-5)
    assert scores32["psnr"] == pytest.approx(psnr, rel=1e-5)  # inputs rounded to float32
    fast = reconstruction_metrics(reference, estimate, ssim=False)
    assert fast["psnr"] == scores64["psnr"] and fast["ssim"] is None


@pytest.mark.parametrize(
    ("shape", "hyper"),
    [
        ((7, 7, 3), {"stride": 2}),  # the seed's 9×147 example
        ((6, 5, 2), {"stride": 1, "padding": 1}),  # more equations than unknowns
        ((8, 8, 1), {"stride": (2, 1), "dilation": 2}),
    ],
)
def test_dense_matrices_against_to_dense_and_numpy_pinv(shape, hyper):
    from deconv_gui.core import ConvGeometry, ConvOperator, dense_matrices

    w = np.random.default_rng(2).standard_normal((3, 3, shape[2], 2 if shape[2] == 2 else 1))
    dense = dense_matrices(w, input_shape=shape, **hyper)
    geometry = ConvGeometry(shape, w.shape, **hyper)
    reference = ConvOperator(geometry, w).to_dense()
    np.testing.assert_array_equal(dense.A, reference)  # the same operator applied to I
    np.testing.assert_array_equal(dense.A_transpose, reference.T)
    # numpy's pinv of the same matrix: identical computation, so equal to rounding
    np.testing.assert_allclose(dense.A_pinv, np.linalg.pinv(reference), atol=1e-12)
    assert not dense.A_pinv.flags.writeable
    # and A⁺ is the Moore–Penrose inverse: A A⁺ A = A
    np.testing.assert_allclose(dense.A @ dense.A_pinv @ dense.A, dense.A, atol=1e-10)


def test_dense_matrices_refuse_big_problems():
    from deconv_gui.core import dense_matrices

    with pytest.raises(ValueError, match="dense limit"):
        dense_matrices(np.ones((3, 3, 3)), input_shape=(64, 64, 3), stride=2)
    with pytest.raises(ValueError, match="input_shape"):
        dense_matrices(np.ones((3, 3, 3)), input_shape=None)


@pytest.mark.parametrize(("stride", "padding", "f"), [(2, 1, 3), (3, 0, 5), (1, 2, 3)])
def test_corresponding_pixels_follow_the_receptive_field(stride, padding, f):
    from deconv_gui.core import corresponding_pixels

    geometry = ConvGeometry((20, 17, 1), (f, f, 1, 1), stride=stride, padding=padding)
    h_out, _w_out, _ = geometry.output_shape
    for o_r in range(h_out):
        (r, c), out = corresponding_pixels(geometry, o_r, 0, in_output=True)
        assert out == (o_r, 0)
        # the centre tap of output o reads input row o*s - p + (f-1)/2 (clipped to the image)
        assert r == min(max(o_r * stride - padding + (f - 1) // 2, 0), 19)
        if 0 <= o_r * stride - padding + (f - 1) // 2 < 20:
            assert corresponding_pixels(geometry, r, c)[1][0] == o_r


def test_exact_rank_feasible_is_what_rank_info_does():
    from deconv_gui.core import exact_rank_feasible, rank_info

    w = np.ones((3, 3, 1, 2))
    for shape in [(7, 7, 1), (64, 64, 1), (65, 64, 1), (200, 200, 1)]:
        geometry = ConvGeometry(shape, w.shape, stride=1, padding=1)
        info = rank_info(w, input_shape=shape, stride=1, padding=1)
        assert info.exact == exact_rank_feasible(geometry)
