"""The display rules (Qt-free): the colormap follows what a panel means, ranges read as meant."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import make_filter
from deconv_gui.view.display import display_spec, filter_is_signed


@pytest.mark.parametrize(
    ("preset", "signed"),
    [("gaussian", False), ("box", False), ("identity", False), ("sobel_x", True)],
)
def test_a_filter_is_signed_when_its_weights_have_both_signs(preset, signed):
    assert filter_is_signed(make_filter(preset)) is signed


def test_a_noisy_blurred_photo_stays_grey_and_an_edge_filter_diverges():
    rng = np.random.default_rng(0)
    photo = rng.uniform(0.0, 1.0, (16, 16, 1)) + 0.02 * rng.standard_normal((16, 16, 1))
    assert photo.min() < 0
    for scaling in ("clip", "auto"):
        spec = display_spec(photo, "forward", scaling=scaling, reference_range=(0.0, 1.0))
        assert spec.colormap == "grey", scaling
    edges = display_spec(photo - 0.5, "forward", signed_filter=True)
    assert edges.colormap == "diverging" and edges.levels[0] == -edges.levels[1]
    # the input is an image whatever its values; the lost part is signed whatever they are
    assert display_spec(photo - 0.5, "input").colormap == "grey"
    assert display_spec(np.abs(photo), "signed").colormap == "diverging"


def test_rounding_next_to_the_other_end_of_a_range_reads_as_zero():
    pinv = np.array([[-3e-16, 1.0], [0.25, 0.5]])[:, :, None]
    spec = display_spec(pinv, "reconstruction", reference_range=(8.4e-07, 1.0))
    assert spec.note == "clipped to the input range 0 … 1 (values 0 … 1)"
    tiny = np.array([[1e-7, 2e-7]])[:, :, None]
    assert "values 1e-07 … 2e-07" in display_spec(tiny, "forward").note


def test_a_lost_part_that_is_only_rounding_is_drawn_as_nothing():
    rounding = np.random.default_rng(1).normal(0, 1e-15, (6, 6, 1))
    spec = display_spec(rounding, "signed", reference_range=(0.0, 1.0))
    assert spec.levels == (-1.0, 1.0) and spec.note.startswith("≈ 0 (every value within ±")
    real = rounding + np.eye(6)[:, :, None] * 0.01  # a real lost part keeps its own scale
    spec = display_spec(real, "signed", reference_range=(0.0, 1.0))
    assert spec.levels[1] < 0.02 and spec.note.startswith("blue < 0 < red")
