"""The least-squares decoder against a literal least-squares solve and PyTorch's layer."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import conv2d
from deconv_gui.core.decoder import decoder_geometry, fit_decoder


def _literal_design(y, x_hw, stride, pad, k):
    """Φ by loops from PyTorch's rule: output i gets y[j] through tap u when i = j s − p + u."""
    (h, w), (n_y, m_y, c_y) = x_hw, y.shape
    phi = np.zeros((h, w, k, k, c_y))
    for j in range(n_y):
        for jj in range(m_y):
            for u in range(k):
                for v in range(k):
                    i, ii = j * stride - pad[0] + u, jj * stride - pad[1] + v
                    if 0 <= i < h and 0 <= ii < w:
                        phi[i, ii, u, v] += y[j, jj]
    flat = phi.reshape(h * w, -1)
    return np.hstack([flat, np.ones((h * w, 1))])


@pytest.mark.parametrize(
    ("stride", "k", "size", "c_x", "c_y"), [(2, 3, 9, 1, 1), (2, 4, 8, 3, 2), (3, 5, 12, 2, 3)]
)
def test_training_loss_is_the_least_squares_optimum(stride, k, size, c_x, c_y):
    rng = np.random.default_rng(stride * 10 + k)
    w = rng.standard_normal((3, 3, c_x, c_y))
    xs = [rng.random((size, size, c_x)) for _ in range(4)]
    pairs = [(x, conv2d(x, w, stride=stride, padding=1)) for x in xs]
    fit = fit_decoder(pairs, stride=stride, kernel_size=k)
    pad, _ = decoder_geometry((size, size), pairs[0][1].shape[:2], stride, k)
    design = np.vstack([_literal_design(y, (size, size), stride, pad, k) for _, y in pairs])
    targets = np.vstack([x.reshape(-1, c_x) for x, _ in pairs])
    theta = np.linalg.lstsq(design, targets, rcond=None)[0]
    optimum = float(np.sum((design @ theta - targets) ** 2)) / targets.size
    assert fit.mse == pytest.approx(optimum, rel=1e-8, abs=1e-12)
    # the decoder as applied reaches that loss on the training images
    applied = sum(float(np.sum((fit.decoder.apply(y) - x) ** 2)) for x, y in pairs) / targets.size
    assert applied == pytest.approx(optimum, rel=1e-8, abs=1e-12)
    assert fit.n_images == 4


def test_decoder_is_pytorchs_conv_transpose2d():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    xs = [rng.random((10, 10, 2)) for _ in range(3)]
    w = rng.standard_normal((3, 3, 2, 3))
    pairs = [(x, conv2d(x, w, stride=2, padding=1)) for x in xs]
    dec = fit_decoder(pairs, stride=2, kernel_size=4).decoder
    y = pairs[0][1]
    w_t = torch.from_numpy(dec.weights.transpose(3, 2, 0, 1).copy())  # (C_y, C_x, K, K)
    ref = (
        torch.nn.functional.conv_transpose2d(
            torch.from_numpy(y.transpose(2, 0, 1)[None].copy()),
            w_t,
            torch.from_numpy(dec.bias),
            stride=dec.stride,
            padding=dec.padding,
            output_padding=dec.output_padding,
        )[0]
        .numpy()
        .transpose(1, 2, 0)
    )
    assert np.allclose(dec.apply(y), ref, atol=1e-10)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="images: no images"):
        fit_decoder([], stride=2, kernel_size=3)
    x = np.zeros((8, 8, 1))
    with pytest.raises(ValueError, match="one size"):
        fit_decoder(
            [(x, x[::2, ::2]), (np.zeros((6, 6, 1)), np.zeros((3, 3, 1)))], stride=2, kernel_size=2
        )
    with pytest.raises(ValueError, match="kernel_size 1"):  # 1 pixel at stride 2 reaches 1 or 2
        fit_decoder([(x, x[:1, :1])], stride=2, kernel_size=1)
    with pytest.raises(ValueError, match="finite"):
        fit_decoder([(np.full((4, 4, 1), np.nan), np.zeros((2, 2, 1)))], stride=2, kernel_size=2)


def test_cancel_and_progress():
    x = np.zeros((4, 4, 1))
    seen = []
    fit_decoder([(x, x[::2, ::2])] * 3, stride=2, kernel_size=2, progress=seen.append)
    assert seen == [1, 2, 3]
    with pytest.raises(InterruptedError):
        fit_decoder([(x, x[::2, ::2])], stride=2, kernel_size=2, cancel=lambda: True)
