"""The colormaps, as anchor colours: one definition for the window and the exported PNGs.

The window builds its pyqtgraph colormaps and lookup tables from these anchors, and
:func:`~deconv_gui.io.render.render_array` interpolates the same anchors, so a panel
looks the same on screen and in a PNG written by the command line.
"""

from __future__ import annotations

import numpy as np

__all__ = ["COLORMAPS", "apply_colormap", "colormap_anchors", "lookup_table"]

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
    if name not in COLORMAPS:
        raise ValueError(f"name must be one of {', '.join(COLORMAPS)}, got {name!r}")
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
