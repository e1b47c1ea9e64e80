"""Rendering of a float array to an RGB uint8 image, and its PNG bytes (Pillow).

The command line uses this to write the ``<panel>.png`` files of an export when no
window supplied the pixels as displayed. The colours and the rule for a diverging
colormap come from :mod:`deconv_gui.view`, the window's own. No Qt, no matplotlib.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from ..core.choices import check_choice
from ..view.colormaps import apply_colormap, colormap_anchors
from ..view.display import KINDS, data_range, display_spec
from ..view.montage import draw_tile_labels

__all__ = [
    "DIVERGING_ANCHORS",
    "default_levels",
    "diverging_colormap",
    "encode_png",
    "render_array",
    "render_panel",
]

#: The anchors of the diverging colormap (evenly spaced from -1 to +1, the middle one
#: at 0), RGB in 0..255: the window's, see :data:`deconv_gui.view.colormaps.COLORMAPS`.
DIVERGING_ANCHORS: np.ndarray = colormap_anchors("diverging")[1]


def default_levels(array: Any, diverging: bool = False) -> tuple[float, float]:
    """The display levels used when none are given.

    For the diverging colormap ``[-m, m]`` with ``m = max |a|``, so that zero sits in the
    middle (white); else ``[min, max]``. A constant array gets a unit-wide range around
    its value.
    """
    arr = np.asarray(array, dtype=np.float64)
    if arr.size == 0:
        return 0.0, 1.0
    low, high = float(arr.min()), float(arr.max())
    if diverging and (low < 0 or high > 0):
        top = max(abs(low), abs(high))
        return -top, top
    if high <= low:
        return low - 0.5, low + 0.5
    return low, high


def diverging_colormap(t: np.ndarray) -> np.ndarray:
    """Map ``t`` in [0, 1] (0.5 = zero) to blue–white–red RGB floats in 0..255.

    Piecewise linear between :data:`DIVERGING_ANCHORS`; ``t`` is clipped to [0, 1].
    """
    return apply_colormap("diverging", t)


def render_array(
    array: Any,
    levels: tuple[float, float] | None = None,
    colormap: str | None = None,
    *,
    channel: int = 0,
    kind: str = "adjoint",
    signed_filter: bool = False,
) -> np.ndarray:
    """Render an ``(H, W)`` or ``(H, W, C)`` float array as an ``(H, W, 3)`` uint8 image.

    Parameters
    ----------
    array : array_like
        The panel's data.
    levels : (float, float), optional
        The values shown as black and white (or blue and red); values outside are
        clipped. Default: :func:`default_levels`.
    colormap : {"grey", "diverging", "rgb"}, optional
        For single-channel data: ``"grey"``, or ``"diverging"`` (blue–white–red centred
        on the middle of ``levels``). Default: what the window draws for a panel of
        ``kind`` (:func:`~deconv_gui.view.display.display_spec`): diverging for a
        ``"signed"`` panel, or a ``"forward"``/``"adjoint"`` one of a ``signed_filter``;
        grey otherwise, however the data dips below 0. Three-channel data is always
        shown as RGB.
    channel : int
        For data with 2 or more than 3 channels, the channel shown.
    kind : str
        The panel kind the default colormap is the window's for (one of
        :data:`~deconv_gui.view.display.KINDS`).
    signed_filter : bool
        The filter has weights of both signs (see ``display_spec``).

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8.

    Raises
    ------
    ValueError
        On a wrong shape, a bad ``levels`` pair, colormap or channel.
    """
    arr = np.asarray(array, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError(f"array must have shape (H, W) or (H, W, C), got {np.shape(array)}")
    if arr.shape[2] not in (1, 3):
        if not 0 <= channel < arr.shape[2]:
            raise ValueError(f"channel must be in 0..{arr.shape[2] - 1}, got {channel}")
        arr = arr[:, :, channel : channel + 1]
    check_choice("kind", kind, KINDS)
    if colormap is None:
        spec = display_spec(arr, kind, scaling="auto", signed_filter=signed_filter)
        colormap = "diverging" if arr.shape[2] == 1 and spec.colormap == "diverging" else "grey"
    if levels is None:
        levels = default_levels(arr, colormap == "diverging")
    try:
        low, high = (float(v) for v in levels)
    except (TypeError, ValueError):
        raise ValueError(f"levels must be a (low, high) pair of numbers, got {levels!r}") from None
    if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
        raise ValueError(f"levels must be finite with low < high, got {levels!r}")
    check_choice("colormap", colormap, ("grey", "diverging", "rgb"))
    t = (arr - low) / (high - low)
    if arr.shape[2] == 3:
        rgb = np.clip(t, 0.0, 1.0) * 255.0
    elif colormap == "diverging":
        rgb = diverging_colormap(t[:, :, 0])
    else:
        rgb = np.repeat(np.clip(t, 0.0, 1.0) * 255.0, 3, axis=2)
    return np.round(rgb).astype(np.uint8)


def render_panel(
    array: Any, kind: str, reference: Any, *, signed_filter: bool = False
) -> np.ndarray:
    """Render a panel's array as the window first draws it: ``(H, W, 3)`` uint8.

    The levels and the colormap come from
    :func:`~deconv_gui.view.display.display_spec` with the window's defaults (scaling
    "clip" to the input's range, own levels, channel 0), so a PNG written by the command
    line looks like the panel on screen: a deep array as the montage of its first
    channels, each tile labelled with its channel.

    Parameters
    ----------
    array : array_like
        The panel's data, ``(H, W, C)``.
    kind : str
        How the panel is drawn: one of :data:`~deconv_gui.view.display.KINDS`
        (the registry's ``PanelSpec.display``).
    reference : array_like
        The input image (its range is the "clip" scaling's levels).
    signed_filter : bool
        The filter has weights of both signs: the forward and adjoint panels are then
        drawn diverging (:func:`~deconv_gui.view.display.filter_is_signed`).

    Examples
    --------
    >>> import numpy as np
    >>> lost = np.array([[[-1.0], [0.0], [1.0]]])
    >>> render_panel(lost, "signed", reference=np.zeros((1, 3, 1)))[0, 1].tolist()
    [247, 247, 247]
    """
    reference_range = data_range(np.asarray(reference))
    spec = display_spec(
        np.asarray(array), kind, reference_range=reference_range, signed_filter=signed_filter
    )
    pixels = render_array(spec.image, spec.levels, spec.colormap)
    if spec.tiles:
        return draw_tile_labels(pixels, spec.tiles, np.shape(array)[:2])
    return pixels


def encode_png(rgb: Any) -> bytes:
    """Encode an ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` uint8 array as PNG bytes.

    Raises
    ------
    ValueError
        If the array is not uint8 or has another shape.

    Notes
    -----
    Lossless, by Pillow; bytes, so that exports can be written atomically.
    """
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8:
        raise ValueError(f"PNG pixels must be uint8, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ValueError(f"PNG pixels must be (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"PNG pixels must not be empty, got {arr.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(buffer, format="PNG")
    return buffer.getvalue()
