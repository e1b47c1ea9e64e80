"""The pseudo-inverse animation: one frame per solver iteration, ending at A⁺y."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deconv_gui.core import ConvGeometry, ConvOperator, SolveCancelled, pinv_reconstruction
from deconv_gui.core.analysis.pinv_steps import PinvAnimation
from deconv_gui.core.filters import seed_question_filter
from deconv_gui.io.images import seed_toy_image

CASES = [
    (ConvGeometry((7, 7, 3), (3, 3, 3, 1), stride=2), 0),
    (ConvGeometry((12, 10, 2), (3, 2, 2, 2), stride=2, padding=1, padding_mode="reflect"), 1),
    (ConvGeometry((9, 9, 1), (2, 2, 1, 1), stride=3, padding=1, dilation=2), 2),
    (ConvGeometry((8, 8, 1), (3, 3, 1, 1), stride=1, padding=1, padding_mode="circular"), 3),
]


def _problem(geometry, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(geometry.filter_shape), rng.random(geometry.input_shape)


@pytest.mark.parametrize("preconditioned", [True, False])
@pytest.mark.parametrize(("geometry", "seed"), CASES)
def test_last_frame_is_the_pseudo_inverse(geometry, seed, preconditioned):
    weights, image = _problem(geometry, seed)
    anim = PinvAnimation(geometry, weights, image, max_iter=400, preconditioned=preconditioned)
    dense = np.linalg.pinv(ConvOperator(geometry, weights).to_dense())
    expected = (dense @ anim.y.ravel()).reshape(geometry.input_shape)
    last = anim.step(len(anim) - 1)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(last.iterate, expected, rtol=0, atol=1e-7 * scale)
    reference = pinv_reconstruction(
        anim.y, weights, input_shape=geometry.input_shape, stride=geometry.stride,
        padding=geometry.padding, dilation=geometry.dilation,
        padding_mode=geometry.padding_mode, method="dense",
    ).image  # fmt: skip
    np.testing.assert_allclose(last.iterate, reference, rtol=0, atol=1e-7 * scale)
    assert anim.report.converged and last.relative_residual < 1e-9
    # frame 0 is the start x_0 = 0, whose residual is y itself
    first = anim.step(0)
    assert not first.iterate.any() and first.relative_residual == 1.0
    np.testing.assert_array_equal(first.residual, anim.y)


@pytest.mark.parametrize("preconditioned", [True, False])
@pytest.mark.parametrize(("geometry", "seed"), CASES)
def test_error_never_increases(geometry, seed, preconditioned):
    """What the solver guarantees: within a phase the error ‖x_k − A⁺y‖ never grows.

    CG on A Aᵀ (y in the range) and CGLS both minimise it over growing Krylov spaces;
    a switch from one to the other restarts from the best iterate kept so far (which
    may be an older one), never from anything worse than the start.
    """
    weights, image = _problem(geometry, seed)
    anim = PinvAnimation(geometry, weights, image, max_iter=400, preconditioned=preconditioned)
    errors, phases = anim.error_norms, anim.phases
    for k in range(1, len(anim)):
        if phases[k] == phases[k - 1] or phases[k - 1] == "start":
            assert errors[k] <= errors[k - 1] + 1e-9 * errors[0]
        else:
            assert errors[k] <= errors[0] + 1e-9 * errors[0]
    for k in range(len(anim)):
        step = anim.step(k)
        assert step.index == k
        op = ConvOperator(geometry, weights)
        np.testing.assert_allclose(step.forward, op.apply(step.iterate), atol=1e-12)
        assert step.residual_norm == pytest.approx(np.linalg.norm(anim.y - step.forward))
        # every iterate lies in the range of Aᵀ: no null-space component, ever
        x_range = np.linalg.pinv(op.to_dense()) @ op.to_dense() @ step.iterate.ravel()
        np.testing.assert_allclose(x_range, step.iterate.ravel(), atol=1e-8 * (errors[0] + 1))


def test_seed_toy_frames_and_errors():
    geometry = ConvGeometry((7, 7, 3), (3, 3, 3, 1), stride=2)
    anim = PinvAnimation(geometry, seed_question_filter(), seed_toy_image(), max_iter=3)
    assert len(anim) == 4 and anim.phases[0] == "start"
    assert not anim.report.converged  # three iterations are not enough here
    with pytest.raises(ValueError, match="k must"):
        anim.step(4)
    with pytest.raises(ValueError, match="max_iter"):
        PinvAnimation(geometry, seed_question_filter(), seed_toy_image(), max_iter=0)
    with pytest.raises(ValueError, match="image"):
        PinvAnimation(geometry, seed_question_filter(), seed_toy_image()[:5])
    big = ConvGeometry((1000, 1000, 3), (3, 3, 3), stride=2)
    with pytest.raises(ValueError, match="crop"):
        PinvAnimation(big, np.ones((3, 3, 3)), np.zeros((1000, 1000, 3)))
    stop = threading.Event()
    stop.set()
    with pytest.raises(SolveCancelled):
        PinvAnimation(geometry, seed_question_filter(), seed_toy_image(), cancel=stop)
