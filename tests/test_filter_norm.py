"""The filter's norm (the tall conv's ‖A‖ for its stopping rule) against dense references.

A stride-1 circular conv on an ``N × N`` image is the periodic operator whose symbol the
function samples on the ``N × N`` grid: there its value is ``‖A‖₂`` of the dense matrix
exactly, whatever the channels and groups (Lanczos alone for few channels, Lanczos and the
exact refinement of the top frequencies for many)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.solvers import SolveCancelled
from deconv_gui.core.solvers.filter_norm import STEPS, filter_norm

PERIODIC = [
    # image (H, W): the grid of size H (4 f_w wide), filter (f_h, f_w, C_in / groups, C_out), groups
    ((12, 12), (3, 3, 3, 8), 1),
    ((12, 12), (3, 3, 5, 2), 1),  # more inputs than outputs: the transposed side
    ((4, 12), (1, 3, 18, 20), 1),  # more channels than Lanczos steps
    ((4, 12), (1, 3, 20, 17), 1),
    ((12, 12), (3, 3, 2, 12), 3),  # groups
    ((4, 12), (1, 3, 9, 24), 2),  # groups with more channels than steps
    ((8, 8), (1, 1, 24, 30), 1),  # one tap: the plain matrix norm
]


def _op(image, filt, groups, seed=0, **geometry):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(filt)
    shape = (*image, filt[2] * groups)
    return ConvOperator.from_weights(w, input_shape=shape, groups=groups, **geometry)


@pytest.mark.parametrize(("image", "filt", "groups"), PERIODIC)
def test_equals_the_dense_norm_of_the_periodic_conv(image, filt, groups):
    padding = (filt[0] // 2, filt[1] // 2)  # odd filters: the same size out, wrapped round
    op = _op(image, filt, groups, padding=padding, padding_mode="circular")
    assert op.geometry.output_shape[:2] == image
    sigma = np.linalg.norm(op.to_dense(np.float64), 2)
    assert filter_norm(op, size=image[0]) == pytest.approx(sigma, rel=1e-9)


@pytest.mark.parametrize("stride", [1, 2])
def test_bounds_the_zero_padded_dense_norm_closely(stride):
    # zero padding only lowers the norm; on a 64 grid the sampled peak is within 1 %
    op = _op((8, 8), (3, 3, 20, 24), 1, seed=1, stride=stride, padding=1)
    sigma = np.linalg.norm(op.to_dense(np.float64), 2)
    periodic = _op((64, 64), (3, 3, 20, 24), 1, seed=1, padding=1, padding_mode="circular")
    norm = filter_norm(op)
    assert sigma <= norm * (1 + 1e-3)
    assert norm == pytest.approx(filter_norm(periodic, size=64), rel=1e-12)
    if stride == 1:
        assert norm <= 1.5 * sigma


def test_many_channels_match_the_exact_per_frequency_norm():
    # a 40 → 48 layer: Lanczos with fewer steps than channels, checked frequency by frequency
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 3, 40, 48))
    op = ConvOperator.from_weights(w, input_shape=(16, 16, 40), padding=1)
    spectrum = np.fft.fft2(w, s=(64, 64), axes=(0, 1))
    exact = np.linalg.svd(spectrum, compute_uv=False).max()
    assert STEPS < 40
    assert filter_norm(op) == pytest.approx(exact, rel=1e-9)


def test_cancel_stops_it():
    op = _op((8, 8), (3, 3, 20, 24), 1)
    stop = threading.Event()
    stop.set()
    with pytest.raises(SolveCancelled):
        filter_norm(op, cancel=stop)


def test_past_its_deadline_it_returns_a_slightly_low_estimate_at_once():
    op = _op((12, 12), (3, 3, 8, 10), 1, padding=1, padding_mode="circular")
    exact = filter_norm(op, size=12)
    assert exact == pytest.approx(np.linalg.norm(op.to_dense(np.float64), 2), rel=1e-9)
    late = filter_norm(op, size=12, deadline=0.0)  # two Lanczos steps, no refinement
    assert 0.5 * exact <= late <= exact * (1 + 1e-12)


def test_a_time_limited_tall_solve_passes_its_deadline_on():
    import deconv_gui.core.solvers.pseudo_inverse as module

    seen = []
    real = module.filter_norm

    def spy(op, **options):
        seen.append(options.get("deadline"))
        return real(op, **options)

    op = _op((10, 10), (3, 3, 3, 16), 1, padding=1)
    y = op.apply(np.random.default_rng(3).random((10, 10, 3)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "filter_norm", spy)
        module.solve_pinv(op, y, method="iterative", time_limit=30.0)
        module.solve_pinv(op, y, method="iterative")
    assert seen[0] is not None and seen[1] is None
