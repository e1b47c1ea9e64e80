"""Depthwise layers (groups = C_in = C_out): the dedicated kernels against PyTorch and dot tests.

The geometries below reach the depthwise kernels (stride 1, and 16 channels at any
stride) as well as the dense block-diagonal filter (2-3 channels at stride 2), for
every padding mode and with the kernel flipped.
"""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvGeometry, conv2d, conv2d_transpose
from deconv_gui.core.groups import dense_filter
from deconv_gui.core.padding import PADDING_MODES


def _geometry(rng, channels, stride, mode):
    while True:
        h, w = (int(v) for v in rng.integers(4, 14, 2))
        fh, fw = (int(v) for v in rng.integers(1, 5, 2))
        padding = tuple(int(v) for v in rng.integers(0, 3, 2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
        try:
            return ConvGeometry(
                (h, w, channels), (fh, fw, 1, channels), stride, padding, dilation, mode, channels
            )
        except ValueError:
            continue


CASES = [(c, s) for c in (2, 3, 4, 16) for s in ((1, 1), (2, 1), (2, 3))]


@pytest.mark.parametrize(("channels", "stride"), CASES)
@pytest.mark.parametrize("mode", PADDING_MODES)
def test_depthwise_equals_the_dense_filter_and_its_adjoint(channels, stride, mode):
    rng = np.random.default_rng(channels * 100 + stride[0] * 10 + stride[1])
    for flip in (False, True):
        g = _geometry(rng, channels, stride, mode)
        kw = {
            "stride": g.stride,
            "padding": g.padding,
            "dilation": g.dilation,
            "padding_mode": mode,
        }
        w = rng.standard_normal(g.filter_shape)
        x = rng.standard_normal((2, *g.input_shape))
        y = conv2d(x, w, groups=channels, flip=flip, **kw)
        dense = dense_filter(w, channels, flip)
        np.testing.assert_allclose(y, conv2d(x, dense, **kw), rtol=1e-12, atol=1e-12)
        v = rng.standard_normal(y.shape)
        back = conv2d_transpose(v, w, input_shape=x.shape, groups=channels, flip=flip, **kw)
        reference = conv2d_transpose(v, dense, input_shape=x.shape, **kw)
        np.testing.assert_allclose(back, reference, rtol=1e-12, atol=1e-12)
        assert abs(np.vdot(y, v) - np.vdot(x, back)) <= 1e-12 * np.abs(y).sum() * np.abs(v).max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels", [3, 16])
def test_depthwise_matches_torch(dtype, channels):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((2, 17, 23, channels)).astype(dtype)
    w = rng.standard_normal((3, 5, 1, channels)).astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for stride, padding, mode in (((1, 1), (1, 2), "zeros"), ((2, 1), (2, 1), "reflect")):
        layer = torch.nn.Conv2d(
            channels, channels, (3, 5), stride, padding, 1, channels, False, mode
        ).to(torch.float32 if dtype == np.float32 else torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w).permute(3, 2, 0, 1))
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_(True)
        theirs = layer(xt)
        kw = {"stride": stride, "padding": padding, "padding_mode": mode, "groups": channels}
        ours = conv2d(x, w, **kw)
        np.testing.assert_allclose(
            ours, theirs.detach().permute(0, 2, 3, 1).numpy(), rtol=tol, atol=tol
        )
        v = rng.standard_normal(ours.shape).astype(dtype)
        (grad,) = torch.autograd.grad(theirs, xt, torch.from_numpy(v).permute(0, 3, 1, 2))
        back = conv2d_transpose(v, w, input_shape=x.shape, **kw)
        np.testing.assert_allclose(back, grad.permute(0, 2, 3, 1).numpy(), rtol=tol, atol=tol)
