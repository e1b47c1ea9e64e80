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
    # numpy.pad(np.arange(n), padding, mode=...)'s values, by index arithmetic (numpy.pad
    # costs tens of microseconds, paid several times per padded convolution)
    index = np.arange(-padding, n + padding)
    if mode == "replicate":
        return np.clip(index, 0, n - 1)
    if mode == "circular":
        return index % n
    if n == 1:  # reflect: PyTorch refuses any padding here; numpy.pad repeats the pixel
        return np.zeros_like(index)
    period = 2 * (n - 1)  # reflect: a triangle wave of period 2 (n - 1)
    index %= period
    return np.minimum(index, period - index)


def pad(xb: np.ndarray, padding: tuple[int, int], mode: str) -> np.ndarray:
    """Pad a batch ``(m, H, W, C)`` on both spatial axes: one copy, then the border.

    The same values as ``numpy.pad`` (each axis padded in turn, rows first), which is
    several times slower than this for large images.
    """
    (ph, pw), (m, h, w, c) = padding, xb.shape
    out = np.empty((m, h + 2 * ph, w + 2 * pw, c), dtype=xb.dtype)
    out[:, ph : ph + h, pw : pw + w] = xb
    if mode == "zeros":
        for border in (np.s_[:, :ph], np.s_[:, ph + h :], np.s_[:, :, :pw], np.s_[:, :, pw + w :]):
            out[border] = 0
        return out
    if ph:
        rows = padded_index(h, ph, mode) + ph  # the rows of ``out`` each border row copies
        out[:, :ph, pw : pw + w] = out[:, rows[:ph], pw : pw + w]
        out[:, ph + h :, pw : pw + w] = out[:, rows[ph + h :], pw : pw + w]
    if pw:
        cols = padded_index(w, pw, mode) + pw
        out[:, :, :pw] = out[:, :, cols[:pw]]
        out[:, :, pw + w :] = out[:, :, cols[pw + w :]]
    return out


def fold(xp: np.ndarray, padding: tuple[int, int], mode: str) -> np.ndarray:
    """The adjoint of :func:`pad`: each border pixel is added to the pixel it copied.

    One copy of the interior, then only border work: the border columns are folded onto
    the columns they copied, and the border rows (folded the same way) onto their rows.
    """
    (ph, pw), (_, hp, wp, _) = padding, xp.shape
    h, w = hp - 2 * ph, wp - 2 * pw
    out = xp[:, ph : ph + h, pw : pw + w].copy()
    if mode == "zeros":
        return out
    col_index, row_index = padded_index(w, pw, mode), padded_index(h, ph, mode)
    col_segments = [s for s in (slice(0, pw), slice(w + pw, w + 2 * pw)) if pw]
    for segment in col_segments:
        _add_into(out, 2, col_index[segment], xp[:, ph : ph + h, segment])
    for rows in (slice(0, ph), slice(h + ph, h + 2 * ph)) if ph else ():
        band = xp[:, rows, pw : pw + w].copy()
        for segment in col_segments:
            _add_into(band, 2, col_index[segment], xp[:, rows, segment])
        _add_into(out, 1, row_index[rows], band)
    return out


def _add_into(target: np.ndarray, axis: int, where: np.ndarray, values: np.ndarray) -> None:
    """``target[..., where, ...] += values`` along ``axis``, summing repeated indices."""
    key: tuple[Any, ...] = (slice(None),) * axis + (where,)
    if len(np.unique(where)) == len(where):
        target[key] += values
    else:  # replicate: several border pixels copy the same edge pixel
        np.add.at(target, key, values)
