"""Padding modes against PyTorch (F.pad, then an unpadded conv), dense matrices and pinv."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import (
    ConvGeometry,
    ConvOperator,
    conv2d,
    conv2d_transpose,
    pinv_reconstruction,
)
from deconv_gui.core.padding import PADDING_MODES, fold, pad

MODES = PADDING_MODES


def _geometry(rng, mode):
    """A random geometry valid for ``mode`` (drawn again until it is)."""
    while True:
        h, w = (int(v) for v in rng.integers(2, 11, 2))
        c_in, c_out = (int(v) for v in rng.integers(1, 4, 2))
        fh, fw = (int(v) for v in rng.integers(1, 4, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        padding = tuple(int(v) for v in rng.integers(0, 4, 2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
        try:
            return ConvGeometry(
                (h, w, c_in), (fh, fw, c_in, c_out), stride, padding, dilation, mode
            )
        except ValueError:
            continue


def _torch_forward(torch, x, w, g):
    xt = torch.from_numpy(x).permute(0, 3, 1, 2)
    wt = torch.from_numpy(w).permute(3, 2, 0, 1)
    if g.padding_mode == "zeros":
        return torch.nn.functional.conv2d(
            xt, wt, stride=g.stride, padding=g.padding, dilation=g.dilation
        )
    (ph, pw) = g.padding
    xt = torch.nn.functional.pad(xt, (pw, pw, ph, ph), mode=g.padding_mode)
    return torch.nn.functional.conv2d(xt, wt, stride=g.stride, dilation=g.dilation)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(8))
def test_forward_and_adjoint_match_torch(mode, dtype, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    g = _geometry(rng, mode)
    w = rng.standard_normal(g.filter_shape).astype(dtype)
    x = rng.standard_normal((3, *g.input_shape)).astype(dtype)  # a batch
    kw = {"stride": g.stride, "padding": g.padding, "dilation": g.dilation, "padding_mode": mode}
    ours = conv2d(x, w, **kw)
    assert ours.dtype == dtype
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_(True)
    wt = torch.from_numpy(w).permute(3, 2, 0, 1)
    # nn.Conv2d's own padding_mode, the layer people write
    layer = torch.nn.Conv2d(
        g.input_shape[2],
        g.filter_shape[3],
        g.filter_shape[:2],
        stride=g.stride,
        padding=g.padding,
        dilation=g.dilation,
        padding_mode=mode,
        bias=False,
    ).to(torch.float32 if dtype == np.float32 else torch.float64)
    with torch.no_grad():
        layer.weight.copy_(wt)
    theirs = layer(xt)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(
        ours, theirs.detach().permute(0, 2, 3, 1).numpy(), rtol=tol, atol=tol
    )
    np.testing.assert_allclose(
        ours, _torch_forward(torch, x, w, g).permute(0, 2, 3, 1).numpy(), rtol=tol, atol=tol
    )
    # the adjoint: the gradient of <A x, y> with respect to x is Aᵀ y
    y = rng.standard_normal(ours.shape).astype(dtype)
    (grad,) = torch.autograd.grad(theirs, xt, grad_outputs=torch.from_numpy(y).permute(0, 3, 1, 2))
    back = conv2d_transpose(y, w, input_shape=x.shape, **kw)
    assert back.dtype == dtype and back.shape == x.shape
    np.testing.assert_allclose(back, grad.permute(0, 2, 3, 1).numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(6))
def test_dot_test_dense_and_sparse(mode, seed):
    rng = np.random.default_rng(100 + seed)
    g = _geometry(rng, mode)
    op = ConvOperator(g, rng.standard_normal(g.filter_shape))
    x = rng.standard_normal(g.input_shape)
    y = rng.standard_normal(g.output_shape)
    lhs, rhs = np.vdot(op.apply(x), y), np.vdot(x, op.apply_adjoint(y))
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))
    dense = op.to_dense()
    # the dense matrix, column by column from the adjoint: the same matrix transposed
    eye = np.eye(op.shape[0]).reshape(op.shape[0], *g.output_shape)
    np.testing.assert_allclose(op.apply_adjoint(eye).reshape(op.shape[0], -1), dense, atol=1e-12)
    np.testing.assert_allclose(op.to_sparse().toarray(), dense, atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "circular", "replicate"])
@pytest.mark.parametrize("seed", range(4))
def test_pinv_matches_numpy_pinv(mode, seed):
    rng = np.random.default_rng(200 + seed)
    g = _geometry(rng, mode)
    op = ConvOperator(g, rng.standard_normal(g.filter_shape))
    y = rng.standard_normal(g.output_shape)
    expected = (np.linalg.pinv(op.to_dense()) @ y.ravel()).reshape(g.input_shape)
    got = pinv_reconstruction(y, op, rtol=1e-12, max_iter=5000).image
    np.testing.assert_allclose(got, expected, atol=1e-6 * max(1.0, np.abs(expected).max()))


def test_pad_and_fold_are_adjoint_and_match_numpy():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 4, 3))
    for mode, np_mode in (("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")):
        for padding in ((1, 2), (3, 0), (4, 3)):
            if mode == "reflect" and (padding[0] >= 5 or padding[1] >= 4):
                continue
            if mode == "circular" and (padding[0] > 5 or padding[1] > 4):
                continue
            xp = pad(x, padding, mode)
            widths = ((0, 0), (padding[0],) * 2, (padding[1],) * 2, (0, 0))
            np.testing.assert_array_equal(xp, np.pad(x, widths, mode=np_mode))
            z = rng.standard_normal(xp.shape)
            assert np.isclose(np.vdot(xp, z), np.vdot(x, fold(z, padding, mode)))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"padding_mode": "mirror"}, "padding_mode"),
        ({"padding_mode": None}, "padding_mode"),
        ({"padding_mode": "reflect", "padding": 5}, "padding"),
        ({"padding_mode": "reflect", "padding": (0, 6)}, "padding"),
        ({"padding_mode": "circular", "padding": 6}, "padding"),
    ],
)
def test_bad_padding_modes_name_the_argument(kwargs, name):
    args = {"padding": 1} | kwargs
    with pytest.raises(ValueError, match=name):
        conv2d(np.ones((5, 6, 1)), np.ones((3, 3, 1)), **args)
    with pytest.raises(ValueError, match=name):
        ConvOperator.from_weights(np.ones((3, 3, 1)), input_shape=(5, 6, 1), **args)


def test_replicate_takes_any_padding_and_zeros_is_unchanged():
    x = np.arange(12.0).reshape(3, 4, 1)
    y = conv2d(x, np.ones((1, 1, 1)), padding=5, padding_mode="replicate")
    assert y.shape == (13, 14, 1) and y[0, 0, 0] == 0.0 and y[-1, -1, 0] == 11.0
    w = np.random.default_rng(0).random((3, 3, 1))
    np.testing.assert_array_equal(
        conv2d(x, w, padding=1, padding_mode="zeros"), conv2d(x, w, padding=1)
    )


def test_operator_disagreement_is_named():
    op = ConvOperator.from_weights(np.ones((3, 3, 1)), input_shape=(5, 5, 1), padding=1)
    with pytest.raises(ValueError, match="padding_mode"):
        pinv_reconstruction(np.ones((5, 5, 1)), op, padding_mode="reflect")


def test_large_filters_take_the_fft_path_with_every_mode():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 40, 1))
    w = rng.standard_normal((21, 21, 1))
    for mode in MODES:
        op = ConvOperator.from_weights(w, input_shape=x.shape, padding=10, padding_mode=mode)
        y = rng.standard_normal(op.geometry.output_shape)
        lhs, rhs = np.vdot(op.apply(x), y), np.vdot(x, op.apply_adjoint(y))
        assert abs(lhs - rhs) <= 1e-10 * abs(lhs)
        xs = op.to_sparse()
        np.testing.assert_allclose(xs @ x.ravel(), op.apply(x).ravel(), rtol=1e-9, atol=1e-9)


def test_params_cli_and_session_carry_the_padding_mode(tmp_path, capsys):
    import json

    from deconv_gui.cli import main
    from deconv_gui.core import Params, make_filter, run_pipeline

    argv = ["info", "--image", "seed_toy", "--filter", "box", "--padding", "2", "--json"]
    assert main([*argv, "--padding-mode", "circular"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["padding_mode"] == "circular"
    assert main([*argv, "--padding-mode", "mirror"]) == 2
    assert "padding_mode" in capsys.readouterr().err
    # a padding the image cannot take is a usage error naming --padding (exit 2)
    assert main([*argv, "--padding", "7", "--padding-mode", "reflect"]) == 2
    assert "--padding" in capsys.readouterr().err
    params = Params(make_filter("gaussian"), padding_mode="replicate", stride=1)
    assert Params.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    x = np.random.default_rng(0).random((8, 8, 3))
    result = run_pipeline(x, params.replace(methods=("transposed",)))
    op = ConvOperator(result.geometry, params.weights)
    np.testing.assert_allclose(result.forward_output, op.apply(x), atol=1e-12)
    assert result.geometry.padding_mode == "replicate"
