"""The colormaps, as anchor colours: one definition for the window and the exported PNGs.

The window builds its pyqtgraph colormaps and lookup tables from these anchors, and
:func:`~deconv_gui.io.render.render_array` interpolates the same anchors, so a panel
looks the same on screen and in a PNG written by the command line.
"""

from __future__ import annotations

import numpy as np

from ..core.choices import check_choice

__all__ = [
    "COLORMAPS",
    "MIN_CONTRAST",
    "apply_colormap",
    "colormap_anchors",
    "contrast_ratio",
    "lookup_table",
    "readable_colour",
    "text_colour",
]

#: WCAG's contrast ratio for normal text (AA): what a number written on a cell must reach.
MIN_CONTRAST = 4.5

#: Anchor colours (RGB, 0–255) at evenly spaced positions from the low to the high level.
#: ``"diverging"`` is ColorBrewer's RdBu, reversed: blue < 0 < red, near-white at 0.
COLORMAPS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "grey": ((0, 0, 0), (255, 255, 255)),
    "diverging": (
        (33, 102, 172),
        (146, 197, 222),
        (247, 247, 247),
        (244, 165, 130),
        (178, 24, 43),
    ),
}


def colormap_anchors(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, colours)``: positions in [0, 1] and ``(k, 3)`` RGB colours in 0–255.

    Raises
    ------
    ValueError
        When ``name`` is not in :data:`COLORMAPS`.

    Examples
    --------
    >>> positions, colours = colormap_anchors("diverging")
    >>> positions.tolist(), colours[2].tolist()
    ([0.0, 0.25, 0.5, 0.75, 1.0], [247.0, 247.0, 247.0])
    """
    check_choice("name", name, COLORMAPS)
    colours = np.asarray(COLORMAPS[name], dtype=np.float64)
    return np.linspace(0.0, 1.0, len(colours)), colours


def apply_colormap(name: str, t: np.ndarray) -> np.ndarray:
    """Map ``t`` in [0, 1] (clipped) to RGB floats in 0–255, linear between the anchors.

    Returns an array of shape ``t.shape + (3,)``.
    """
    positions, colours = colormap_anchors(name)
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    return np.stack([np.interp(t, positions, colours[:, c]) for c in range(3)], axis=-1)


def lookup_table(name: str, size: int = 256) -> np.ndarray:
    """A ``(size, 3)`` uint8 lookup table of the colormap (for images drawn by index)."""
    if size < 2:
        raise ValueError(f"size must be at least 2, got {size!r}")
    return np.round(apply_colormap(name, np.linspace(0.0, 1.0, int(size)))).astype(np.uint8)


def _luminance(rgb) -> float:
    """WCAG's relative luminance of an sRGB colour given in 0–255."""
    c = np.asarray(rgb, dtype=np.float64)[:3] / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(foreground, background) -> float:
    """WCAG's contrast ratio of two sRGB colours (0–255): 1 (the same) to 21.

    Examples
    --------
    >>> round(contrast_ratio((0, 0, 0), (255, 255, 255)), 1)
    21.0
    >>> round(contrast_ratio((0, 0, 0), (178, 24, 43)), 2)  # black on the red end: too low
    3.06
    """
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_colour(background, preferred=(0, 0, 0)) -> tuple[int, int, int]:
    """The colour to write on ``background``: ``preferred`` when it reaches
    :data:`MIN_CONTRAST`, else black or white, whichever contrasts more (one of them
    always reaches 4.58).

    Examples
    --------
    >>> text_colour((247, 247, 247)), text_colour((178, 24, 43)), text_colour((33, 102, 172))
    ((0, 0, 0), (255, 255, 255), (255, 255, 255))
    >>> text_colour((232, 232, 232), preferred=(64, 64, 64))  # a grey that reads: kept
    (64, 64, 64)
    """
    wanted = tuple(int(v) for v in preferred)
    if contrast_ratio(wanted, background) >= MIN_CONTRAST:
        return wanted  # type: ignore[return-value]
    black, white = (0, 0, 0), (255, 255, 255)
    return max((black, white), key=lambda ink: contrast_ratio(ink, background))


def _rgb(colour) -> tuple[int, int, int]:
    """``"#rrggbb"`` or an RGB triple as an RGB triple."""
    if isinstance(colour, str):
        return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
    return int(colour[0]), int(colour[1]), int(colour[2])


def readable_colour(candidates, background):
    """The first of ``candidates`` (``"#rrggbb"`` or RGB) that reaches :data:`MIN_CONTRAST`
    on ``background``, else the one that contrasts most: one colour meaning (a verdict's
    green) in the shade a light or a dark palette needs.

    Examples
    --------
    >>> greens = ("#116329", "#3fb950")  # for light backgrounds, then for dark ones
    >>> readable_colour(greens, (239, 239, 239)), readable_colour(greens, (30, 30, 30))
    ('#116329', '#3fb950')
    """
    back = _rgb(background)
    for colour in candidates:
        if contrast_ratio(_rgb(colour), back) >= MIN_CONTRAST:
            return colour
    return max(candidates, key=lambda colour: contrast_ratio(_rgb(colour), back))
