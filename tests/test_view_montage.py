"""Montages of deep feature maps: every tile is its channel, gaps are fill, picking is
checked in one line; display_spec and the exported PNGs draw deep arrays this way."""

import numpy as np
import pytest

from deconv_gui.io.render import render_array, render_panel
from deconv_gui.view.display import display_spec
from deconv_gui.view.montage import (
    LABEL_SHADE,
    draw_tile_labels,
    label_fits,
    montage,
    montage_columns,
    parse_channels,
    picture_pixel,
    tile_at,
    tile_labels,
)


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


def _read_label(pixels, row, col, text_length, scale):
    """The digits written at ``(row, col)``: each glyph cell's ink read back and matched
    against the ten 5 × 7 patterns drawn by hand here (not the module's table)."""
    rows = (
        "0 .###. #...# #..## #.#.# ##..# #...# .###.",
        "1 ..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
        "2 .###. #...# ....# ...#. ..#.. .#... #####",
        "3 ##### ...#. ..#.. ...#. ....# #...# .###.",
        "4 ...#. ..##. .#.#. #..#. ##### ...#. ...#.",
        "5 ##### #.... ####. ....# ....# #...# .###.",
        "6 ..##. .#... #.... ####. #...# #...# .###.",
        "7 ##### ....# ...#. ..#.. .#... .#... .#...",
        "8 .###. #...# #...# .###. #...# #...# .###.",
        "9 .###. #...# #...# .#### ....# ...#. .##..",
    )
    patterns = {line[0]: "".join(line.split()[1:]) for line in rows}
    text = ""
    for k in range(text_length):
        top, left = row + scale, col + scale + k * 6 * scale
        cell = pixels[top : top + 7 * scale : scale, left : left + 5 * scale : scale]
        ink = "".join("#" if (p == 255).all() else "." for p in cell.reshape(-1, 3))
        text += next((d for d, pattern in patterns.items() if pattern == ink), "?")
    return text


@pytest.mark.parametrize(("side", "scale"), [(32, 1), (130, 2), (256, 3)])
def test_each_tile_is_labelled_with_its_channel_at_its_corner(side, scale):
    channels = (7, 12, 130, 3, 45)
    x = np.random.default_rng(2).random((side, side, 131))
    labels = tile_labels(channels, (side, side))
    assert [label.text for label in labels] == [str(c) for c in channels]
    for label, channel in zip(labels, channels, strict=True):  # each at its tile's corner
        assert tile_at(label.row, label.col, (side, side), channels) == (channel, 0, 0)
    rgb = render_array(montage(x, channels, fill=0.0), (0.0, 1.0), "grey")
    drawn = draw_tile_labels(rgb, channels, (side, side))
    assert drawn is not rgb and drawn.shape == rgb.shape
    changed = np.zeros(rgb.shape[:2], dtype=bool)
    for label in labels:
        assert _read_label(drawn, label.row, label.col, len(label.text), scale) == label.text
        h, w = 9 * scale, (6 * len(label.text) + 1) * scale
        changed[label.row : label.row + h, label.col : label.col + w] = True
    same = (drawn == rgb).all(axis=2)
    assert same[~changed].all()  # nothing but the labels' boxes is drawn over
    box = drawn[changed] != 255
    assert (drawn[changed][box] <= np.ceil(rgb[changed][box] * (1 - LABEL_SHADE))).all()


def test_tiles_too_small_for_a_label_keep_their_pixels_and_the_fit_rule():
    x = np.random.default_rng(3).random((12, 12, 20))
    rgb = render_array(montage(x, range(16)), (0.0, 1.0), "grey")
    assert np.array_equal(draw_tile_labels(rgb, range(16), (12, 12)), rgb)
    assert label_fits((9, 13), (24, 24)) and not label_fits((9, 13), (16, 24))
    assert not label_fits((9, 19), (24, 24))  # three digits are too wide there
    with pytest.raises(ValueError, match="pixels"):
        draw_tile_labels(rgb[:-1], range(16), (12, 12))
    with pytest.raises(ValueError, match="pixels"):
        draw_tile_labels(rgb.astype(np.float32), range(16), (12, 12))


def test_the_cli_png_of_a_deep_array_has_the_labels_and_hover_maps_into_tiles():
    x = np.random.default_rng(4).random((64, 64, 40))
    spec = display_spec(x, "input")
    plain = render_array(spec.image, spec.levels, spec.colormap)
    png = render_panel(x, "input", x)
    assert np.array_equal(png, draw_tile_labels(plain, spec.tiles, (64, 64)))
    assert not np.array_equal(png, plain)
    # a pixel of the picture is the array's pixel of the tile it falls in
    assert picture_pixel(65 + 3, 2 * 65 + 5, (64, 64), spec.tiles) == (3, 5, spec.tiles[6])
    assert picture_pixel(64, 5, (64, 64), spec.tiles) is None  # the gap
    assert picture_pixel(3, 5, (64, 64), ()) == (3, 5, -1)
    assert picture_pixel(64, 5, (64, 64), ()) is None
