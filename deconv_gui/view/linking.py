"""Linked zoom and pan between panels of different sizes and shapes, without Qt.

Each panel shows its whole image, letterboxed, until the user zooms or pans one of
them. That panel's view then becomes a :class:`Zoom`: a centre in input pixels and a
magnification relative to its fitted view. Every other panel shows the same centre
(mapped through :class:`PanelMap`: the forward output through the stride, an image
of another size proportionally) at the same magnification relative to *its own*
fitted view, whatever its size on screen. Magnification 1 at the image's centre is the
fitted view again.

Coordinates are pyqtgraph's: ``x`` along columns, ``y`` along rows, pixel ``(r, c)``
covering ``[c, c + 1] × [r, r + 1]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FIT_PADDING",
    "IDENTITY",
    "PanelMap",
    "Zoom",
    "fit_units",
    "fitted_range",
    "forward_map",
    "proportional_map",
    "view_range",
    "zoom_of",
]

#: The margin around a fitted image, as a fraction of its size on each side.
FIT_PADDING = 0.02

Range = tuple[float, float, float, float]  # x0, x1, y0, y1


@dataclass(frozen=True)
class PanelMap:
    """``input = scale · panel + offset`` along x (columns) and y (rows)."""

    scale: tuple[float, float] = (1.0, 1.0)
    offset: tuple[float, float] = (0.0, 0.0)

    def to_input(self, x: float, y: float) -> tuple[float, float]:
        """A point of the panel in input pixels."""
        return self.scale[0] * x + self.offset[0], self.scale[1] * y + self.offset[1]

    def from_input(self, x: float, y: float) -> tuple[float, float]:
        """A point in input pixels in the panel's pixels."""
        return (x - self.offset[0]) / self.scale[0], (y - self.offset[1]) / self.scale[1]


#: An image-sized panel.
IDENTITY = PanelMap()


def forward_map(
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    filter_size: Sequence[int],
) -> PanelMap:
    """The forward output's pixels on the input: each output sits on its window's centre.

    Output ``j`` reads the input from ``j·s − p`` over ``d(f − 1) + 1`` pixels, so the
    middle of output pixel ``j`` (at ``j + ½``) maps to that window's middle.
    All pairs are ``(rows, columns)``, as :class:`~deconv_gui.core.ConvGeometry`'s.

    Examples
    --------
    >>> m = forward_map((2, 2), (0, 0), (1, 1), (3, 3))  # the question: 7×7 → 3×3
    >>> m.to_input(1.5, 1.5), m.to_input(0, 0), m.to_input(3, 3)
    ((3.5, 3.5), (0.5, 0.5), (6.5, 6.5))
    """
    axes = zip(stride, padding, dilation, filter_size, strict=True)
    offsets = [-p + (d * (f - 1) + 1 - s) / 2 for s, p, d, f in axes]
    return PanelMap((float(stride[1]), float(stride[0])), (offsets[1], offsets[0]))


def proportional_map(panel_shape: Sequence[int], input_shape: Sequence[int]) -> PanelMap:
    """A panel whose image spans the input's extent at another size (``(rows, columns)``)."""
    return PanelMap(
        (input_shape[1] / max(panel_shape[1], 1), input_shape[0] / max(panel_shape[0], 1))
    )


@dataclass(frozen=True)
class Zoom:
    """What a zoomed or panned panel shows: a centre in input pixels, a magnification.

    ``factor`` is relative to the fitted view (1: the whole image fills its view).
    """

    center: tuple[float, float]
    factor: float


def fit_units(shape: Sequence[int], view_size: Sequence[float]) -> float:
    """Image pixels per screen pixel when an image of ``shape`` (rows, columns) is fitted.

    The view is ``view_size`` (width, height) screen pixels; the margin is
    :data:`FIT_PADDING` on each side (pyqtgraph's ``setRange(padding=…)``).

    Examples
    --------
    >>> round(fit_units((24, 40), (440, 100)), 4)  # a wide view: the height decides
    0.2496
    """
    rows, cols = shape[0], shape[1]
    width, height = max(float(view_size[0]), 1.0), max(float(view_size[1]), 1.0)
    grow = 1.0 + 2.0 * FIT_PADDING
    return max(cols * grow / width, rows * grow / height)


def fitted_range(shape: Sequence[int], view_size: Sequence[float]) -> Range:
    """The view range that shows the whole image, centred and letterboxed.

    Examples
    --------
    >>> [round(v, 2) for v in fitted_range((24, 40), (440, 100))]
    [-34.91, 74.91, -0.48, 24.48]
    """
    return view_range(Zoom((shape[1] / 2, shape[0] / 2), 1.0), IDENTITY, shape, view_size)


def zoom_of(
    view: Range, panel_map: PanelMap, shape: Sequence[int], view_size: Sequence[float]
) -> Zoom:
    """The :class:`Zoom` of a panel showing ``view`` (``x0, x1, y0, y1``) on screen.

    Examples
    --------
    >>> zoom = zoom_of((0.0, 20.0, 2.0, 7.0), IDENTITY, (24, 40), (400, 100))
    >>> zoom.center, round(zoom.factor, 3)
    ((10.0, 4.5), 4.992)
    """
    x0, x1, y0, y1 = view
    width, height = max(float(view_size[0]), 1.0), max(float(view_size[1]), 1.0)
    units = max((x1 - x0) / width, (y1 - y0) / height, 1e-12)
    center = panel_map.to_input((x0 + x1) / 2, (y0 + y1) / 2)
    return Zoom(center, fit_units(shape, view_size) / units)


def view_range(
    zoom: Zoom, panel_map: PanelMap, shape: Sequence[int], view_size: Sequence[float]
) -> Range:
    """The range (``x0, x1, y0, y1``) that shows ``zoom`` in a panel of ``shape``.

    Examples
    --------
    >>> zoom = Zoom((10.0, 4.5), 4.992)
    >>> [round(v, 2) for v in view_range(zoom, IDENTITY, (24, 40), (400, 100))]
    [0.0, 20.0, 2.0, 7.0]
    """
    units = fit_units(shape, view_size) / max(zoom.factor, 1e-12)
    x, y = panel_map.from_input(*zoom.center)
    half_width = max(float(view_size[0]), 1.0) * units / 2
    half_height = max(float(view_size[1]), 1.0) * units / 2
    return x - half_width, x + half_width, y - half_height, y + half_height
