"""Layers with many channels (the GEMM kernels) against PyTorch, its autograd and dot tests.

Small images keep the tests quick; the channel counts (8 to 48 per group) are those at
which the kernels multiply by BLAS, one product per filter tap. Forward: ``F.pad`` then
an unpadded ``conv2d`` for every padding mode; adjoint: ``conv_transpose2d`` (zeros) and
the gradient of the forward pass (every mode), as torch computes them.
"""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvGeometry, _gemm, conv2d, conv2d_transpose
from deconv_gui.core.padding import PADDING_MODES


def _case(rng: np.random.Generator, mode: str) -> ConvGeometry:
    """A random many-channel geometry valid for ``mode`` that the GEMM kernels run."""
    while True:
        groups = int(rng.choice([1, 1, 2, 4]))
        c_in = groups * int(rng.integers(8, 33))
        c_out = groups * int(rng.integers(16, 49))
        h, w = (int(v) for v in rng.integers(3, 13, 2))
        fh, fw = (int(v) for v in rng.integers(1, 6, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        padding = tuple(int(v) for v in rng.integers(0, 4, 2))
        if rng.random() < 0.5:  # four sides, as TF/Keras/ONNX write them
            padding = tuple(tuple(int(v) for v in rng.integers(0, 4, 2)) for _ in range(2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
        try:
            g = ConvGeometry(
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
        w_probe = np.zeros(g.filter_shape)
        if _gemm.applies(w_probe, g, adjoint=False) and _gemm.applies(w_probe, g, adjoint=True):
            return g


def _torch_layer(torch, g: ConvGeometry, w: np.ndarray):
    """torch's forward on an NCHW tensor: F.pad of the four sides with the mode, then conv2d."""
    functional = torch.nn.functional
    wt = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))
    ((top, bottom), (left, right)) = g.pads
    mode = "constant" if g.padding_mode == "zeros" else g.padding_mode

    def forward(xt):
        xt = functional.pad(xt, (left, right, top, bottom), mode=mode)
        return functional.conv2d(xt, wt, stride=g.stride, dilation=g.dilation, groups=g.groups)

    return forward, wt


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(6))
def test_many_channels_match_torch_and_autograd(mode, dtype, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(100 + seed)
    g = _case(rng, mode)
    w = rng.standard_normal(g.filter_shape).astype(dtype)
    x = rng.standard_normal((2, *g.input_shape)).astype(dtype)
    kw = {
        "stride": g.stride,
        "padding": g.pads,
        "dilation": g.dilation,
        "padding_mode": mode,
        "groups": g.groups,
    }
    ours = conv2d(x, w, **kw)
    forward, wt = _torch_layer(torch, g, w)
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_(True)
    theirs = forward(xt)
    rtol, atol = (2e-4, 2e-4) if dtype == np.float32 else (1e-11, 1e-10)
    np.testing.assert_allclose(ours, theirs.detach().permute(0, 2, 3, 1).numpy(), rtol, atol)

    y = rng.standard_normal(ours.shape).astype(dtype)
    yt = torch.from_numpy(y).permute(0, 3, 1, 2)
    back = conv2d_transpose(y, w, input_shape=x.shape, **kw)
    (grad,) = torch.autograd.grad(theirs, xt, yt)
    np.testing.assert_allclose(back, grad.permute(0, 2, 3, 1).numpy(), rtol, atol)
    if mode == "zeros" and g.symmetric:
        out_pad = tuple(
            g.input_shape[a]
            - (
                (g.output_shape[a] - 1) * g.stride[a]
                - 2 * g.padding[a]
                + g.dilation[a] * (g.filter_shape[a] - 1)
                + 1
            )
            for a in (0, 1)
        )
        if max(out_pad[a] - max(g.stride[a], g.dilation[a]) for a in (0, 1)) < 0:
            transposed = torch.nn.functional.conv_transpose2d(
                yt,
                wt,
                stride=g.stride,
                padding=g.padding,
                dilation=g.dilation,
                groups=g.groups,
                output_padding=out_pad,
            )
            np.testing.assert_allclose(back, transposed.permute(0, 2, 3, 1).numpy(), rtol, atol)


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("seed", range(4))
def test_many_channels_dot_test(mode, seed):
    """<A x, y> = <x, Aᵀ y> to rounding, flipped filters included."""
    rng = np.random.default_rng(200 + seed)
    g = _case(rng, mode)
    w = rng.standard_normal(g.filter_shape)
    x = rng.standard_normal(g.input_shape)
    kw = {
        "stride": g.stride,
        "padding": g.pads,
        "dilation": g.dilation,
        "padding_mode": mode,
        "groups": g.groups,
        "flip": bool(seed % 2),
    }
    ax = conv2d(x, w, **kw)
    y = rng.standard_normal(ax.shape)
    aty = conv2d_transpose(y, w, input_shape=x.shape, **kw)
    lhs, rhs = np.vdot(ax, y), np.vdot(x, aty)
    assert abs(lhs - rhs) <= 1e-12 * np.linalg.norm(ax) * np.linalg.norm(y) * 10


def test_the_benchmark_layers_run_on_the_gemm_kernels():
    """The many-channel layers of ``benchmarks/bench_operator.py`` take this path."""
    for shape, filt, stride in [
        ((56, 56, 64), (3, 3, 64, 64), 1),
        ((56, 56, 64), (3, 3, 64, 128), 2),
        ((112, 112, 32), (3, 3, 32, 64), 2),
        ((28, 28, 128), (3, 3, 128, 256), 2),
    ]:
        g = ConvGeometry(shape, filt, stride, 1)
        assert _gemm.applies(np.zeros(filt), g, adjoint=False)
        assert _gemm.applies(np.zeros(filt), g, adjoint=True)


@pytest.mark.parametrize("c_in", [3, 24])  # whole rows of taps, one window per tap
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_both_ways_of_threading_agree(monkeypatch, c_in, dtype):
    """BLAS on one thread: numpy's matmul on the pool's threads; else scipy's gemm, on a
    gathered matrix or one product per tap accumulated in place."""
    from deconv_gui.core import threads

    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 33, 30, c_in)).astype(dtype)
    groups = 1 if c_in == 3 else 2
    w = rng.standard_normal((3, 3, c_in // groups, 32)).astype(dtype)
    kw = {"stride": (2, 1), "padding": 1, "groups": groups}
    y = rng.standard_normal((2, 17, 30, 32)).astype(dtype)
    results, backs = [], []
    # numpy's matmul on the pool; scipy's gemm on gathered blocks; one gemm per tap
    # (the adjoint: one gemm per tap, or per phase on its taps' gathered slices)
    # (groups with BLAS threads: one BLAS thread, the blocks on the calling thread or shared
    # among the pool's threads; BLAS's threads when the kernels have one thread)
    old_threads, share_work = threads.get_num_threads(), _gemm._SHARE_MIN_WORK
    settings = ((1, 0, 2), (2, 10**9, 2), (2, 10**9, 1), (2, 0, 2), (2, 10**9, 2, 0))
    try:
        for blas_threads, accumulate_from, kernel_threads, *share_from in settings:
            monkeypatch.setattr(threads, "blas_threads", lambda n=blas_threads: n)
            monkeypatch.setattr(_gemm, "_ACCUMULATE_MIN_PIXELS", accumulate_from)
            share = share_from[0] if share_from else share_work
            monkeypatch.setattr(_gemm, "_SHARE_MIN_WORK", share)
            threads.set_num_threads(kernel_threads, blas=False)
            assert _gemm.applies(w, ConvGeometry(x.shape[1:], w.shape, **kw), adjoint=False)
            results.append(conv2d(x, w, **kw))
            backs.append(conv2d_transpose(y, w, input_shape=x.shape, **kw))
    finally:
        threads.set_num_threads(old_threads, blas=False)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for other, back in zip(results[1:], backs[1:], strict=True):
        np.testing.assert_allclose(other, results[0], rtol=tol, atol=tol)
        np.testing.assert_allclose(back, backs[0], rtol=tol, atol=tol)


def test_gemm_kernels_run_in_place_on_blocks(monkeypatch):
    """Several row blocks (a small block size) give the same result as one."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 19, 17, 24))
    w = rng.standard_normal((3, 3, 12, 32))
    kw = {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2}
    whole = conv2d(x, w, **kw)
    y = rng.standard_normal(whole.shape)
    back = conv2d_transpose(y, w, input_shape=x.shape, **kw)
    from deconv_gui.core import _gemm_util

    monkeypatch.setattr(_gemm_util, "BLOCK_BYTES", 1)
    monkeypatch.setattr(_gemm_util, "GATHERED_BLOCK_BYTES", 1)
    monkeypatch.setattr(_gemm_util, "MATRIX_BYTES", 1)
    np.testing.assert_allclose(conv2d(x, w, **kw), whole, rtol=1e-13, atol=1e-12)
    again = conv2d_transpose(y, w, input_shape=x.shape, **kw)
    np.testing.assert_allclose(again, back, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("blas_threads", [1, 2])
@pytest.mark.parametrize("seed", range(8))
def test_few_input_channels_match_torch(monkeypatch, blas_threads, seed):
    """The rows-of-taps forward pass (1-8 input channels, many output channels): each
    output pixel's run of an image row, borders, dilation gaps and both threadings."""
    torch = pytest.importorskip("torch")
    from deconv_gui.core import _gemm_rows, threads

    monkeypatch.setattr(threads, "blas_threads", lambda: blas_threads)
    rng = np.random.default_rng(300 + seed)
    while True:
        c_in, c_out = int(rng.integers(1, 9)), int(rng.integers(16, 40))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
        pads = tuple(tuple(int(v) for v in rng.integers(0, 4, 2)) for _ in range(2))
        size = tuple(int(v) for v in rng.integers(5, 30, 2))
        fshape = (*(int(v) for v in rng.integers(1, 8, 2)), c_in, c_out)
        try:
            g = ConvGeometry((*size, c_in), fshape, stride, pads, dilation)
        except ValueError:
            continue
        if _gemm_rows.applies(g) and _gemm.applies(np.zeros(fshape), g, adjoint=False):
            break
    w = rng.standard_normal(fshape)
    x = rng.standard_normal((2, *g.input_shape))
    ours = conv2d(x, w, stride=stride, padding=pads, dilation=dilation)
    forward, _ = _torch_layer(torch, g, w)
    theirs = forward(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-10)


@pytest.mark.parametrize("c_in", [3, 32])
def test_strided_input_gives_the_contiguous_result(c_in):
    """The windows are copied as runs of channels: an image whose channels are not
    contiguous (a view) gives the result of its contiguous copy."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 15, 13, 2 * c_in))[..., ::2]
    w = rng.standard_normal((3, 3, c_in // 2 if c_in > 3 else c_in, 32))
    kw = {"stride": 2, "padding": 1, "groups": 2 if c_in > 3 else 1}
    g = ConvGeometry(x.shape[1:], w.shape, **kw)
    assert _gemm.applies(w, g, adjoint=False)
    np.testing.assert_array_equal(conv2d(x, w, **kw), conv2d(np.ascontiguousarray(x), w, **kw))
