"""The asker's second guess (per-slice np.linalg.pinv) against literal loops and dense A."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import (
    ConvOperator,
    conv2d,
    make_filter,
    question_deconv,
    question_inverse_check,
)
from deconv_gui.core.analysis.second_guess import INVERSE_CANDIDATES
from deconv_gui.io.images import seed_toy_image


def relu(x):
    return np.maximum(x, 0)


def deConv_pinv(Z, cashe):
    """The question's loop with its commented-out line used instead of the transpose."""
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
                        inverse_W = np.linalg.pinv(W[:, :, x, c])
                        X_curr[i, h * s : h * s + f, w * s : w * s + f, x] += (
                            Z[i, h, w, c] * inverse_W
                        )
                    X_curr[i, h * s : h * s + f, w * s : w * s + f, :] += b[:, :, :, c]
    X_curr = relu(X_curr)
    return X_curr


CASES = [
    # (m, input_shape, f, n_C, stride)
    (1, (7, 7, 3), 3, 1, 2),  # the seed's shapes
    (2, (7, 7, 3), 3, 2, 2),
    (1, (6, 8, 2), 2, 3, 1),
    (2, (9, 10, 1), 3, 2, 3),
]


@pytest.mark.parametrize("case", CASES)
def test_pinv_slices_match_the_literal_loop(case):
    m, input_shape, f, n_c, s = case
    rng = np.random.default_rng(sum(input_shape) + 7 * m)
    w = rng.standard_normal((f, f, input_shape[2], n_c))
    w[0, 0, 0, 0] = w[1, 1, 0, 0] = 0.0  # a singular 2×2 slice needs the pseudo-inverse
    w[0, 1, 0, 0] = w[1, 0, 0, 0] = 0.0
    b = rng.standard_normal((1, 1, 1, n_c))
    x_prev = rng.random((m, *input_shape))
    z = conv2d(x_prev, w, b.ravel(), stride=s)
    expected = deConv_pinv(z, (x_prev, w, b, s, 0))
    got = question_deconv(z, w, b, input_shape=x_prev.shape, stride=s, slices="pinv")
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10 * scale)
    single = question_deconv(z[0], w, b.ravel(), input_shape=input_shape, stride=s, slices="pinv")
    np.testing.assert_allclose(single, expected[0], rtol=1e-10, atol=1e-10 * scale)


@pytest.mark.parametrize("case", CASES)
def test_inverse_check_against_dense_matrices(case):
    _, input_shape, f, n_c, s = case
    rng = np.random.default_rng(100 + sum(input_shape))
    w = rng.standard_normal((f, f, input_shape[2], n_c))
    bias = rng.standard_normal(n_c)
    x = rng.random(input_shape)
    rows = question_inverse_check(x, w, bias, stride=s)
    assert tuple(r.key for r in rows) == tuple(INVERSE_CANDIDATES)
    A = ConvOperator.from_weights(w, input_shape=input_shape, stride=s).to_dense()
    y = A @ x.ravel() + np.tile(bias, A.shape[0] // n_c)
    centred = y - np.tile(bias, A.shape[0] // n_c)
    z = y.reshape(*conv2d(x, w, stride=s).shape)
    expected_images = {
        "pinv_slices": deConv_pinv(z[None], (x[None], w, bias.reshape(1, 1, 1, -1), s, 0))[0],
        "question": question_deconv(z, w, bias, input_shape=input_shape, stride=s),
        "transposed": (A.T @ centred).reshape(input_shape),
        "pinv": (np.linalg.pinv(A) @ centred).reshape(input_shape),
    }
    for row in rows:
        image = expected_images[row.key]
        np.testing.assert_allclose(row.image, image, rtol=1e-8, atol=1e-8 * np.abs(image).max())
        back = A @ image.ravel()
        residual = np.linalg.norm(back - centred) / np.linalg.norm(centred)
        alpha = back @ centred / (back @ back)
        scaled = np.linalg.norm(alpha * back - centred) / np.linalg.norm(centred)
        error = np.linalg.norm(image - x) / np.linalg.norm(x)
        assert row.residual == pytest.approx(residual, rel=1e-8, abs=1e-12)
        assert row.scaled_residual == pytest.approx(scaled, rel=1e-6, abs=1e-10)
        assert row.error == pytest.approx(error, rel=1e-8)
    by_key = {r.key: r for r in rows}
    assert by_key["pinv"].residual < 1e-10  # A⁺ gives y back
    assert by_key["pinv_slices"].residual > 0.1  # the per-slice pseudo-inverse does not


def test_seed_question_numbers():
    # the question's own image and filter: the numbers the guide quotes
    rows = {
        r.key: r
        for r in question_inverse_check(seed_toy_image(), make_filter("seed_question"), stride=2)
    }
    assert rows["pinv_slices"].residual == pytest.approx(5.03, abs=0.01)
    assert rows["pinv_slices"].scaled_residual == pytest.approx(0.63, abs=0.01)
    assert rows["transposed"].residual == pytest.approx(57.28, abs=0.01)
    assert rows["pinv"].residual < 1e-12
    # A⁺ is the smallest image that gives y back; every candidate misses x itself
    assert all(r.error > 0.9 for r in rows.values())
    assert rows["pinv"].error < min(r.error for k, r in rows.items() if k != "pinv")


def test_noisy_measurement_and_bad_arguments():
    x = np.random.default_rng(1).random((7, 7, 3))
    w = make_filter("seed_question")
    y = conv2d(x, w, stride=2) + 0.1
    rows = {r.key: r for r in question_inverse_check(x, w, stride=2, y=y)}
    assert rows["pinv"].residual < 1e-10  # 9 equations, 147 unknowns: any y is reached
    with pytest.raises(ValueError, match="stride"):
        question_inverse_check(x, w, stride=(2, 1))
    with pytest.raises(ValueError, match="y must have shape"):
        question_inverse_check(x, w, stride=2, y=np.ones((4, 4, 1)))
    with pytest.raises(ValueError, match="square"):
        question_inverse_check(x, np.ones((3, 2, 3)), stride=2)
    with pytest.raises(ValueError, match="x must be an image"):
        question_inverse_check(np.ones((7, 7)), w, stride=2)
    with pytest.raises(ValueError, match="slices"):
        question_deconv(np.ones((3, 3, 1)), w, input_shape=(7, 7, 3), stride=2, slices="inv")


def test_a_known_pseudo_inverse_is_used_and_checked():
    x = np.random.default_rng(2).random((7, 7, 3))
    w = make_filter("seed_question")
    rows = question_inverse_check(x, w, stride=2)
    shifted = rows[-1].image + 1.0  # not A⁺y: the given image is measured as it is
    again = question_inverse_check(x, w, stride=2, x_pinv=shifted)
    assert again[-1].error == pytest.approx(np.linalg.norm(shifted - x) / np.linalg.norm(x))
    assert again[-1].residual > rows[-1].residual
    assert [r.residual for r in again[:-1]] == [r.residual for r in rows[:-1]]
    with pytest.raises(ValueError, match="x_pinv"):
        question_inverse_check(x, w, stride=2, x_pinv=np.ones((7, 7, 1)))
