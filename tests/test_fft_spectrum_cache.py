"""The FFT kernels keep filters' spectra between calls: the answers stay the literal loops',
a filter changed in place is not served its old spectrum, and the cache keeps to its bytes;
the plane kernels, not the FFT, run a ResNet stem (many output channels)."""

from __future__ import annotations

import numpy as np
from reference import conv2d_loop, conv2d_transpose_loop

from deconv_gui.core import _fft_kernels as fft_kernels
from deconv_gui.core import _kernels
from deconv_gui.core.geometry import ConvGeometry


def _case(rng):
    w = rng.standard_normal((7, 7, 3, 4))
    geom = ConvGeometry((20, 18, 3), w.shape, stride=(2, 2), padding=(3, 3))
    return w, geom, rng.standard_normal((20, 18, 3)), rng.standard_normal(geom.output_shape)


def test_cached_spectra_give_the_literal_loops_answers_and_follow_a_filter_changed_in_place():
    rng = np.random.default_rng(0)
    w, geom, x, y = _case(rng)
    fft_kernels._SPECTRA.clear()
    for _ in range(2):  # the second time from the cache
        forward = fft_kernels.forward(x[None], w, geom)[0]
        adjoint = fft_kernels.adjoint(y[None], w, geom)[0]
        np.testing.assert_allclose(forward, conv2d_loop(x, w, stride=2, padding=3), atol=1e-10)
        want = conv2d_transpose_loop(y, w, x.shape, stride=2, padding=3)
        np.testing.assert_allclose(adjoint, want, atol=1e-10)
    assert len(fft_kernels._SPECTRA) == 1
    w[3, 3] += 1.0  # the same array, new values
    forward = fft_kernels.forward(x[None], w, geom)[0]
    np.testing.assert_allclose(forward, conv2d_loop(x, w, stride=2, padding=3), atol=1e-10)
    assert len(fft_kernels._SPECTRA) == 2


def test_the_cache_keeps_to_its_bytes_and_its_spectra_are_read_only(monkeypatch):
    rng = np.random.default_rng(1)
    w, geom, x, _y = _case(rng)
    fft_kernels._SPECTRA.clear()
    fft_kernels.forward(x[None], w, geom)
    (spectrum,) = fft_kernels._SPECTRA.values()
    assert not spectrum.flags.writeable
    monkeypatch.setattr(fft_kernels, "CACHE_BYTES", 4 * spectrum.nbytes)
    for k in range(6):
        fft_kernels.forward(x[None], w + k, geom)
    assert len(fft_kernels._SPECTRA) == 4  # the least recently used left
    monkeypatch.setattr(fft_kernels, "CACHE_BYTES", spectrum.nbytes)
    fft_kernels._SPECTRA.clear()
    fft_kernels.forward(x[None], w, geom)  # too large a share of the budget: not kept
    assert not fft_kernels._SPECTRA


def test_a_resnet_stem_runs_on_the_planes_and_a_large_filter_on_the_fft():
    # measured: the 7×7 stride-2 3 → 16 stem at 128² is twice as fast on the planes
    stem = np.zeros((7, 7, 3, 16))
    geom = ConvGeometry((128, 128, 3), stem.shape, stride=(2, 2), padding=(3, 3))
    assert fft_kernels.use_fft(stem, geom)  # the one-channel calibration alone chose the FFT
    assert not fft_kernels.use_fft(stem, geom, speedup=fft_kernels.planes_speedup(16))
    large = np.zeros((15, 15, 3, 16))
    geom = ConvGeometry((128, 128, 3), large.shape, stride=(2, 2), padding=(7, 7))
    assert fft_kernels.use_fft(large, geom, speedup=fft_kernels.planes_speedup(16))
    rng = np.random.default_rng(2)
    w = rng.standard_normal((7, 7, 3, 16))
    x = rng.standard_normal((1, 30, 26, 3))
    geom = ConvGeometry(x.shape[1:], w.shape, stride=(2, 2), padding=(3, 3))
    want = conv2d_loop(x[0], w, stride=2, padding=3)
    np.testing.assert_allclose(_kernels.forward(x, w, geom)[0], want, atol=1e-10)
