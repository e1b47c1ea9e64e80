"""Montages of deep feature maps: every tile is its channel, gaps are fill, picking is
checked in one line; display_spec and the exported PNGs draw deep arrays this way."""

import numpy as np
import pytest

from deconv_gui.io.render import render_panel
from deconv_gui.view.display import display_spec
from deconv_gui.view.montage import montage, montage_columns, parse_channels, tile_at


def test_every_tile_is_its_channel_and_tile_at_inverts_it():
    rng = np.random.default_rng(0)
    x = rng.random((5, 7, 64))
    channels = parse_channels("3, 10-20, 63", 64)
    picture = montage(x, channels, fill=-1.0)
    for row in range(picture.shape[0]):
        for col in range(picture.shape[1]):
            hit = tile_at(row, col, (5, 7), channels)
            if hit is None:
                assert picture[row, col] == -1.0
            else:
                c, r, k = hit
                assert picture[row, col] == x[r, k, c]
    seen = {
        tile_at(r, k, (5, 7), channels)
        for r in range(picture.shape[0])
        for k in range(picture.shape[1])
    }
    assert {h[0] for h in seen if h} == set(channels)


@pytest.mark.parametrize(
    ("text", "words"),
    [("0-64", "lie in 0-63"), ("a", "numbers and ranges"), ("5-2", "lie in"), ("0-300", "")],
)
def test_bad_picks_are_one_line(text, words):
    count = 64 if text != "0-300" else 512
    with pytest.raises(ValueError, match="channels") as info:
        parse_channels(text, count)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_deep_array_is_a_montage_in_the_panel_and_the_png():
    x = np.random.default_rng(1).random((6, 6, 128))
    spec = display_spec(x, "input", tiles=(0, 1, 2, 3))
    assert spec.image.shape == (13, 13) and "channels 0-3 of 128" in spec.note
    png = render_panel(x, "input", x)
    assert png.shape[:2] == display_spec(x, "input").image.shape  # the first 16: 4 × 4
    assert montage_columns(16, 6, 6) == 4
    assert display_spec(x[:, :, :3], "input").image.shape == (6, 6, 3)  # RGB as before
