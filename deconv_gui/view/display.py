"""How an array is turned into a picture: which channels, which levels, which colormap.

No Qt here, so the rules can be tested on plain arrays. Every rule also produces a
short sentence (:attr:`DisplaySpec.note`) that the panel prints under its title, so
the user always knows how the colours map to values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..core.choices import check_choice
from .montage import MONTAGE_FROM, channels_text, default_channels, montage

__all__ = [
    "FILTER_SIGNED_KINDS",
    "KINDS",
    "NOTHING",
    "SCALINGS",
    "DisplaySpec",
    "counted",
    "data_range",
    "display_spec",
    "filter_is_signed",
    "fmt",
    "fmt_range",
    "robust_range",
]

#: Display scalings offered in the View menu.
SCALINGS: tuple[str, ...] = ("clip", "auto")
#: What a panel shows: the input image, the forward output, the adjoint (not in image
#: units), a reconstruction that estimates the image (in image units), or a signed
#: difference drawn around 0 (the lost part ``x − A⁺Ax``).
KINDS: tuple[str, ...] = ("input", "forward", "adjoint", "reconstruction", "signed")

_SAMPLE_LIMIT = 65_536  # values used for percentiles: enough for levels, cheap on the GUI thread


@dataclass(frozen=True)
class DisplaySpec:
    """A ready-to-draw picture of an array.

    Attributes
    ----------
    image : numpy.ndarray
        ``(H, W)`` for one channel or ``(H, W, 3)`` for colour.
    levels : (float, float)
        The values drawn as black and white (or as the two ends of the colormap).
    colormap : str
        ``"rgb"`` (colour image), ``"grey"`` or ``"diverging"`` (blue-white-red, centred on 0).
    note : str
        The stated scaling, e.g. ``"clipped to the input range 0–1"``.
    tiles : tuple of int
        The channels of a montage, in reading order (empty: not a montage).
    """

    image: np.ndarray
    levels: tuple[float, float]
    colormap: str
    note: str
    tiles: tuple[int, ...] = ()


def fmt(value: float) -> str:
    """A short, readable number: ``0.62``, ``-0.012``, ``1.3e+03``, ``7``."""
    value = float(value)
    if value == 0 or not np.isfinite(value):
        return f"{value:g}" if np.isfinite(value) else str(value)
    if float(value).is_integer() and abs(value) < 1e5:
        return f"{int(value)}"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}" if abs(value) >= 1 else f"{value:.2g}"
    return f"{value:.2g}"


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1 (``plural`` or ``word + "s"``).

    Examples
    --------
    >>> counted(9, "input pixel"), counted(1, "tap"), counted(2, "tap", "taps fall")
    ('9 input pixels', '1 tap', '2 taps fall')
    """
    return f"{n} {word if n == 1 else (plural or word + 's')}"


#: An end of a range this much smaller than the other end is rounding: shown as 0.
NEGLIGIBLE = 1e-4


#: A signed panel (the lost part) whose values all stay below this fraction of the input's
#: scale holds nothing but the solver's rounding: it is drawn on the input's scale.
NOTHING = 1e-6


def fmt_range(low: float, high: float) -> str:
    """``"low … high"`` with :func:`fmt`, an end that is rounding next to the other as 0.

    Examples
    --------
    >>> fmt_range(8.4e-07, 1.0)
    '0 … 1'
    >>> fmt_range(-3e-16, 0.5)
    '0 … 0.5'
    >>> fmt_range(1e-7, 2e-7)
    '1e-07 … 2e-07'
    """
    scale = max(abs(float(low)), abs(float(high)))

    def shown(value: float) -> str:
        return "0" if abs(value) < NEGLIGIBLE * scale else fmt(value)

    return f"{shown(low)} … {shown(high)}"


def _subsample(array: np.ndarray) -> np.ndarray:
    flat = array.reshape(-1)
    step = max(1, flat.size // _SAMPLE_LIMIT)
    return flat[::step]


def data_range(array: np.ndarray) -> tuple[float, float]:
    """``(min, max)`` of the array (``(0, 0)`` when empty)."""
    if array.size == 0:
        return 0.0, 0.0
    return float(np.min(array)), float(np.max(array))


def robust_range(array: np.ndarray, percent: float = 0.5) -> tuple[float, float]:
    """The ``percent`` and ``100 − percent`` percentiles (on at most 65 536 values)."""
    if array.size == 0:
        return 0.0, 0.0
    sample = _subsample(array)
    low, high = np.percentile(sample, [percent, 100.0 - percent])
    return float(low), float(high)


def _widen(levels: tuple[float, float]) -> tuple[float, float]:
    low, high = levels
    if high > low:
        return low, high
    pad = max(abs(low) * 0.5, 0.5)
    return low - pad, high + pad


def filter_is_signed(weights: np.ndarray) -> bool:
    """True when the filter has weights of both signs (an edge or sharpening filter).

    Its output and the adjoint of that output are signed quantities, drawn diverging;
    a blur's are intensities, drawn grey however a little noise dips below 0.

    Examples
    --------
    >>> filter_is_signed(np.array([[-1.0, 0.0, 1.0]]))
    True
    >>> filter_is_signed(np.full((3, 3), 1 / 9))
    False
    """
    w = np.asarray(weights)
    return bool(w.size) and float(np.min(w)) < 0 < float(np.max(w))


#: Panel kinds whose meaning is signed when the filter is (see :func:`filter_is_signed`).
FILTER_SIGNED_KINDS: tuple[str, ...] = ("forward", "adjoint")


def _shown_channels(
    array: np.ndarray, channel: int | None, tiles: Sequence[int] | None = None
) -> tuple[np.ndarray, str, tuple[int, ...]]:
    """The image a panel draws (three channels as RGB, a montage of the ``tiles`` of more
    than :data:`~.montage.MONTAGE_FROM`, else one) and its caption prefix."""
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    channels = array.shape[2]
    if channels > MONTAGE_FROM and channel is None:
        shown = tuple(c for c in (tiles or ()) if 0 <= c < channels) or default_channels(channels)
        low, high = data_range(array[:, :, list(shown)])
        fill = 0.0 if low < 0 < high else low  # the gaps: white if signed, else black
        picture = montage(array, shown, fill=fill)
        return picture, f"channels {channels_text(shown)} of {channels} · ", shown
    if channels == 3 and channel is None:
        return array, "", ()
    if channels == 1:
        return array[:, :, 0], "", ()
    channel = int(np.clip(channel or 0, 0, channels - 1))
    return array[:, :, channel], f"channel {channel} of {channels} · ", ()


def _signed_spec(
    image: np.ndarray,
    kind: str,
    value_range: tuple[float, float],
    reference_range: tuple[float, float] | None,
    prefix: str,
    values: str,
) -> DisplaySpec:
    """A signed quantity: diverging (one channel) or mid-grey 0 (RGB), symmetric levels."""
    low, high = value_range
    m = max(abs(low), abs(high)) or 1.0
    scale = 0.0 if reference_range is None else max(abs(v) for v in reference_range)
    if kind == "signed" and m < NOTHING * scale:  # e.g. nothing lost: do not paint noise
        note = f"{prefix}≈ 0 (every value within ±{fmt(m)}), drawn at the input's ±{fmt(scale)}"
        return DisplaySpec(image, (-scale, scale), "rgb" if image.ndim == 3 else "diverging", note)
    if image.ndim == 2:
        note = f"{prefix}blue < 0 < red, ±{fmt(m)} ({values})"
        return DisplaySpec(image, (-m, m), "diverging", note)
    note = f"{prefix}0 = mid-grey, ±{fmt(m)} per channel ({values})"
    return DisplaySpec(image, (-m, m), "rgb", note)


def display_spec(
    data: np.ndarray,
    kind: str,
    *,
    scaling: str = "clip",
    reference_range: tuple[float, float] | None = None,
    shared_levels: tuple[float, float] | None = None,
    channel: int | None = None,
    signed_filter: bool = False,
    tiles: Sequence[int] | None = None,
) -> DisplaySpec:
    """Decide how to draw ``data`` (``(H, W, C)``) in a panel of the given ``kind``.

    Parameters
    ----------
    data : numpy.ndarray
        The panel's array, ``(H, W, C)``.
    kind : str
        One of :data:`KINDS`.
    scaling : str
        ``"clip"``: reconstructions use the input's range, so brightness compares
        directly with the input and over/undershoots are clipped; ``"auto"``: each
        panel is stretched to its 0.5–99.5 % percentiles.
    reference_range : (float, float), optional
        The input image's ``(min, max)``; required for ``"clip"``.
    shared_levels : (float, float), optional
        When given, these levels are used as they are (the "shared levels" toggle).
    channel : int, optional
        The one channel to draw of several (the forward output with several output
        channels). By default three channels are drawn as RGB, others from channel 0.
    signed_filter : bool
        The filter has weights of both signs (:func:`filter_is_signed`): the forward
        output and the adjoint panels are then signed quantities.
    tiles : sequence of int, optional
        The channels of a deep array (more than :data:`~.montage.MONTAGE_FROM`) drawn
        as a montage (:func:`~.montage.montage`); by default the first 16.

    Returns
    -------
    DisplaySpec

    Notes
    -----
    The colormap follows what the panel means, never a threshold on its values: a
    ``"signed"`` panel (the lost part, what a prior invented) and, with a
    ``signed_filter``, the ``"forward"`` and ``"adjoint"`` panels are signed quantities,
    drawn (one channel) with a diverging colormap centred on 0 (white), with symmetric
    levels ``±m``; a ``"signed"`` panel always uses ``±max|value|`` (0 mid-grey in
    colour, as a signed panel of three channels), whatever the scaling or the shared
    levels, unless all its values stay below :data:`NOTHING` times the input's scale
    (nothing lost: the solver's rounding is drawn at the input's scale, near white).
    Everything else is an intensity, drawn grey (or RGB) however a little noise dips
    below 0. The adjoint
    ``Aᵀ(y − b)`` is not in image units (its brightness is the image's times the
    coverage ``Aᵀ1``), so in ``"clip"`` mode it is stretched to its own range, and the
    note says so.
    """
    check_choice("kind", kind, KINDS)
    check_choice("scaling", scaling, SCALINGS)
    image, prefix, shown = _shown_channels(np.asarray(data), channel, tiles)
    spec = _spec(image, kind, scaling, reference_range, shared_levels, signed_filter, prefix)
    return replace(spec, tiles=shown) if shown else spec


def _spec(
    image: np.ndarray,
    kind: str,
    scaling: str,
    reference_range: tuple[float, float] | None,
    shared_levels: tuple[float, float] | None,
    signed_filter: bool,
    prefix: str,
) -> DisplaySpec:
    """:func:`display_spec` of the picture already chosen (``prefix``: its caption)."""
    low, high = data_range(image)
    values = f"values {fmt_range(low, high)}"
    colour_signed = image.ndim == 3 and signed_filter and kind in FILTER_SIGNED_KINDS
    if kind == "signed" or colour_signed:
        return _signed_spec(image, kind, (low, high), reference_range, prefix, values)
    signed = image.ndim == 2 and signed_filter and kind in FILTER_SIGNED_KINDS

    if shared_levels is not None:
        levels = _widen(shared_levels)
        return DisplaySpec(
            image,
            levels,
            "rgb" if image.ndim == 3 else "grey",
            f"{prefix}shared levels {fmt_range(*levels)} ({values})",
        )
    if signed:
        return _diverging_spec(image, scaling, (low, high), prefix, values)
    colormap = "rgb" if image.ndim == 3 else "grey"
    if kind == "input" or kind == "forward":
        levels = _widen((low, high))
        where = "its own scale" if kind == "forward" else "its range"
        return DisplaySpec(image, levels, colormap, f"{prefix}shown at {where}: {values}")
    if scaling == "auto":
        levels = _widen(robust_range(image))
        return DisplaySpec(
            image,
            levels,
            colormap,
            f"{prefix}auto: 0.5–99.5 % → {fmt_range(*levels)} ({values})",
        )
    if kind == "adjoint":
        levels = _widen((low, high))
        return DisplaySpec(
            image,
            levels,
            colormap,
            f"{prefix}stretched to its own range {fmt_range(low, high)} "
            "(Aᵀ changes the brightness)",
        )
    ref = _widen(reference_range if reference_range is not None else (low, high))
    return DisplaySpec(
        image,
        ref,
        colormap,
        f"{prefix}clipped to the input range {fmt_range(*ref)} ({values})",
    )


def _diverging_spec(
    image: np.ndarray, scaling: str, span: tuple[float, float], prefix: str, values: str
) -> DisplaySpec:
    """One channel of a signed filter's output or adjoint: blue < 0 < red, levels ``±m``
    with ``m`` the largest magnitude (of the 0.5–99.5 % range with ``"auto"``)."""
    low, high = robust_range(image) if scaling == "auto" else span
    m = max(abs(low), abs(high))
    m = m if m > 0 else 1.0
    return DisplaySpec(image, (-m, m), "diverging", f"{prefix}blue < 0 < red, ±{fmt(m)} ({values})")
