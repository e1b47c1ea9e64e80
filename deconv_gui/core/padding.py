"""Padding modes with PyTorch's semantics: ``F.pad`` of the image, then an unpadded conv.

``"zeros"`` pads with zeros; ``"reflect"`` mirrors without repeating the edge
(``numpy.pad(mode="reflect")``), ``"replicate"`` repeats the edge (``"edge"``) and
``"circular"`` wraps around (``"wrap"``). The padding is linear in the image: its adjoint
:func:`fold` adds each padded border pixel back onto the image pixel it copied.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PADDING_MODES", "check_padding_mode", "fold", "pad", "padded_index"]

#: The padding modes, as PyTorch's ``nn.Conv2d(padding_mode=...)`` spells them.
PADDING_MODES: tuple[str, ...] = ("zeros", "reflect", "replicate", "circular")
_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def check_padding_mode(mode: Any, padding: tuple[int, int], size: tuple[int, int]) -> str:
    """Validate ``mode`` for ``padding`` on an image of ``size = (H, W)``.

    Raises
    ------
    ValueError
        Naming ``padding_mode`` for an unknown mode, or ``padding`` when reflect
        padding is not smaller than the image (or circular padding larger than it),
        which PyTorch refuses too.
    """
    if not isinstance(mode, str) or mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {mode!r}")
    for p, n, label in zip(padding, size, ("height", "width"), strict=True):
        if mode == "reflect" and p >= n:
            raise ValueError(
                f"padding {p} must be smaller than the image {label} {n} with "
                "padding_mode 'reflect' (a reflection never repeats the edge)"
            )
        if mode == "circular" and p > n:
            raise ValueError(
                f"padding {p} must be at most the image {label} {n} with "
                "padding_mode 'circular' (it would wrap around more than once)"
            )
    return mode


def padded_index(n: int, padding: int, mode: str) -> np.ndarray:
    """The image index that each of the ``n + 2 padding`` padded positions copies (-1: zero)."""
    if mode == "zeros":
        index = np.arange(-padding, n + padding)
        index[(index < 0) | (index >= n)] = -1
        return index
    return np.pad(np.arange(n), padding, mode=_NUMPY_MODES[mode])  # type: ignore[call-overload]


def pad(xb: np.ndarray, padding: tuple[int, int], mode: str) -> np.ndarray:
    """Pad a batch ``(m, H, W, C)`` on both spatial axes (a border copy)."""
    (ph, pw) = padding
    widths = ((0, 0), (ph, ph), (pw, pw), (0, 0))
    if mode == "zeros":
        return np.pad(xb, widths)
    return np.pad(xb, widths, mode=_NUMPY_MODES[mode])  # type: ignore[call-overload]


def fold(xp: np.ndarray, padding: tuple[int, int], mode: str) -> np.ndarray:
    """The adjoint of :func:`pad`: each border pixel is added to the pixel it copied."""
    out = xp
    for axis, p in ((2, padding[1]), (1, padding[0])):
        out = _fold_axis(out, axis, p, mode)
    return np.ascontiguousarray(out)


def _fold_axis(xp: np.ndarray, axis: int, p: int, mode: str) -> np.ndarray:
    if p == 0:
        return xp
    n = xp.shape[axis] - 2 * p
    src = np.moveaxis(xp, axis, 0)
    result = np.array(src[p : p + n])  # the interior, copied
    if mode != "zeros":
        index = padded_index(n, p, mode)
        for segment in (slice(0, p), slice(n + p, n + 2 * p)):
            targets = index[segment]
            if len(np.unique(targets)) == len(targets):
                result[targets] += src[segment]
            else:  # replicate: several border pixels copy the same edge pixel
                np.add.at(result, targets, src[segment])
    return np.moveaxis(result, 0, axis)
