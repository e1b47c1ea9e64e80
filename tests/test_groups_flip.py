"""groups and flip (true convolution) against PyTorch, dense matrices and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from deconv_gui.core import ConvGeometry, ConvOperator, conv2d, conv2d_transpose
from deconv_gui.core.padding import PADDING_MODES


def _case(rng, groups, mode):
    while True:
        h, w = (int(v) for v in rng.integers(3, 10, 2))
        c_in = groups * int(rng.integers(1, 3))
        c_out = groups * int(rng.integers(1, 3))
        fh, fw = (int(v) for v in rng.integers(1, 4, 2))
        stride = tuple(int(v) for v in rng.integers(1, 3, 2))
        padding = tuple(int(v) for v in rng.integers(0, 3, 2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
        try:
            return ConvGeometry(
                (h, w, c_in),
                (fh, fw, c_in // groups, c_out),
                stride,
                padding,
                dilation,
                mode,
                groups,
            )
        except ValueError:
            continue


@pytest.mark.parametrize("groups", [1, 2, 3])
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch_and_its_gradient(groups, flip, mode, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(groups * 100 + flip * 10 + PADDING_MODES.index(mode))
    g = _case(rng, groups, mode)
    w = rng.standard_normal(g.filter_shape).astype(dtype)
    x = rng.standard_normal((2, *g.input_shape)).astype(dtype)
    kw = {
        "stride": g.stride,
        "padding": g.padding,
        "dilation": g.dilation,
        "padding_mode": mode,
        "groups": groups,
        "flip": flip,
    }
    ours = conv2d(x, w, **kw)
    layer = torch.nn.Conv2d(
        g.input_shape[2],
        g.filter_shape[3],
        g.filter_shape[:2],
        stride=g.stride,
        padding=g.padding,
        dilation=g.dilation,
        padding_mode=mode,
        groups=groups,
        bias=False,
    ).to(torch.float32 if dtype == np.float32 else torch.float64)
    w_used = w[::-1, ::-1] if flip else w
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w_used)).permute(3, 2, 0, 1))
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_(True)
    theirs = layer(xt)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(
        ours, theirs.detach().permute(0, 2, 3, 1).numpy(), rtol=tol, atol=tol
    )
    y = rng.standard_normal(ours.shape).astype(dtype)
    (grad,) = torch.autograd.grad(theirs, xt, torch.from_numpy(y).permute(0, 3, 1, 2))
    back = conv2d_transpose(y, w, input_shape=x.shape, **kw)
    np.testing.assert_allclose(back, grad.permute(0, 2, 3, 1).numpy(), rtol=tol, atol=tol)
    op = ConvOperator(g if not flip else _with_flip(g), w.astype(np.float64))
    np.testing.assert_allclose(op.to_sparse().toarray(), op.to_dense(), atol=1e-12)


def _with_flip(g):
    return ConvGeometry(
        g.input_shape,
        g.filter_shape,
        g.stride,
        g.padding,
        g.dilation,
        g.padding_mode,
        g.groups,
        True,
    )


def test_flip_is_scipy_convolve():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((9, 8, 1)), rng.standard_normal((3, 4, 1))
    ours = conv2d(x, w, flip=True)[:, :, 0]
    np.testing.assert_allclose(ours, signal.convolve2d(x[:, :, 0], w[:, :, 0], mode="valid"))


def test_depthwise_rank_grows_with_the_groups():
    from deconv_gui.core import rank_info

    rng = np.random.default_rng(1)
    summed = ConvOperator.from_weights(rng.random((3, 3, 3, 1)), input_shape=(8, 8, 3), stride=2)
    depthwise = ConvOperator.from_weights(
        rng.random((3, 3, 1, 3)), input_shape=(8, 8, 3), stride=2, groups=3
    )
    assert rank_info(summed).rank == 9 and rank_info(depthwise).rank == 27  # 3×3 outputs


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"groups": 0}, "groups"),
        ({"groups": 2}, "groups"),  # does not divide C_in = 3
        ({"groups": 1.0}, "groups"),
        ({"groups": True}, "groups"),
        ({"flip": "yes"}, "flip"),
        ({"flip": 1}, "flip"),
    ],
)
def test_bad_groups_and_flip_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        conv2d(np.ones((5, 5, 3)), np.ones((3, 3, 3, 3)), **kwargs)


def test_groups_needs_the_grouped_filter_shape():
    with pytest.raises(ValueError, match="groups"):
        conv2d(np.ones((5, 5, 4)), np.ones((3, 3, 4, 2)), groups=2)
    assert conv2d(np.ones((5, 5, 4)), np.ones((3, 3, 2, 2)), groups=2).shape == (3, 3, 2)
