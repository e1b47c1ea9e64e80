"""choose_tv_lam: the TV weight by the discrepancy principle, against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import SolveCancelled, choose_tv_lam, conv2d, make_filter, tv_reconstruction

W = make_filter("gaussian", size=3, in_channels=1)
GEOM = dict(stride=2, padding=1)


def _problem(sigma: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.full((20, 20, 1), 0.2)
    x[5:15, 4:12] = 0.9
    y = conv2d(x, W, **GEOM)
    return x, y + sigma * rng.standard_normal(y.shape)


def _residual(y, lam, **kw):
    x = tv_reconstruction(
        y, W, input_shape=(20, 20, 1), lam=lam, tol=1e-7, max_iter=3000, **GEOM, **kw
    ).image
    return float(np.linalg.norm(conv2d(x, W, **GEOM) - y))


@pytest.mark.parametrize("nonneg", [False, True])
def test_the_chosen_lam_leaves_the_noise_level_as_residual(nonneg):
    sigma = 0.03
    _, y = _problem(sigma)
    choice = choose_tv_lam(
        y,
        W,
        input_shape=(20, 20, 1),
        sigma=sigma,
        nonneg=nonneg,
        tol=1e-7,
        max_iter=3000,
        **GEOM,
    )
    target = np.sqrt(y.size) * sigma
    assert choice.target == pytest.approx(target)
    # an independent solve at that λ reproduces the noise level within a few per cent
    assert _residual(y, choice.lam, nonneg=nonneg) == pytest.approx(target, rel=0.03)
    # and brute force on a grid brackets it: residual grows with λ through the target
    grid = choice.lam * np.array([0.5, 2.0])
    below, above = (_residual(y, lam, nonneg=nonneg) for lam in grid)
    assert below < target < above


def test_progress_cancel_and_float():
    _, y = _problem(0.05, seed=1)
    calls = []
    lam = choose_tv_lam(
        y, W, input_shape=(20, 20, 1), sigma=0.05, progress=lambda i, v: calls.append(i), **GEOM
    ).lam
    assert isinstance(lam, float) and lam > 0
    assert calls == list(range(1, len(calls) + 1)) and len(calls) >= 3
    with pytest.raises(SolveCancelled):
        choose_tv_lam(y, W, input_shape=(20, 20, 1), sigma=0.05, cancel=lambda: True, **GEOM)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -1.0}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"sigma": 0.1, "xtol": 0.0}, "xtol"),
        ({"sigma": 0.1, "nonneg": 1}, "nonneg"),
        ({"sigma": 0.1, "max_iter": 0}, "max_iter"),
        ({"sigma": 1e3}, "sigma"),  # no λ leaves that much residual
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    _, y = _problem(0.01)
    with pytest.raises(ValueError, match=name):
        choose_tv_lam(y, W, input_shape=(20, 20, 1), **GEOM, **kwargs)


def test_zero_data_and_zero_filter_are_refused():
    _, y = _problem(0.01)
    with pytest.raises(ValueError, match="y"):
        choose_tv_lam(np.zeros_like(y), W, input_shape=(20, 20, 1), sigma=0.1, **GEOM)
    with pytest.raises(ValueError, match="weights"):
        choose_tv_lam(y, np.zeros_like(W), input_shape=(20, 20, 1), sigma=0.1, **GEOM)
