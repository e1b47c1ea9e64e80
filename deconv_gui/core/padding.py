"""Padding modes with PyTorch's semantics: ``F.pad`` of the image, then an unpadded conv.

``"zeros"`` pads with zeros; ``"reflect"`` mirrors without repeating the edge
(``numpy.pad(mode="reflect")``), ``"replicate"`` repeats the edge (``"edge"``) and
``"circular"`` wraps around (``"wrap"``). The padding is linear in the image: its adjoint
:func:`fold` adds each padded border pixel back onto the image pixel it copied.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .choices import check_choice

__all__ = ["PADDING_MODES", "as_sides", "check_padding_mode", "fold", "pad", "padded_index"]

#: The padding modes, as PyTorch's ``nn.Conv2d(padding_mode=...)`` spells them.
PADDING_MODES: tuple[str, ...] = ("zeros", "reflect", "replicate", "circular")

Sides = tuple[tuple[int, int], tuple[int, int]]


def as_sides(padding: Any) -> Sides:
    """``((top, bottom), (left, right))`` of validated padding: an ``(h, w)`` pair of ints
    (the same on both sides of each axis) or already the four sides."""
    ph, pw = padding
    if isinstance(ph, (int, np.integer)):
        return (int(ph), int(ph)), (int(pw), int(pw))
    return (int(ph[0]), int(ph[1])), (int(pw[0]), int(pw[1]))


def _axis(padding: Any) -> tuple[int, int]:
    """``(before, after)`` of one axis: an int (both sides) or a pair."""
    if isinstance(padding, (int, np.integer)):
        return int(padding), int(padding)
    return int(padding[0]), int(padding[1])


def check_padding_mode(mode: Any, padding: Any, size: tuple[int, int]) -> str:
    """Validate ``mode`` for ``padding`` (see :func:`as_sides`) on an image of ``size = (H, W)``.

    Raises
    ------
    ValueError
        Naming ``padding_mode`` for an unknown mode, or ``padding`` when reflect
        padding is not smaller than the image (or circular padding larger than it),
        which PyTorch refuses too.
    """
    check_choice("padding_mode", mode, PADDING_MODES)
    sides = as_sides(padding)
    for pair, n, label in zip(sides, size, ("height", "width"), strict=True):
        p = max(pair)
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


def padded_index(n: int, padding: Any, mode: str) -> np.ndarray:
    """The image index that each of the ``before + n + after`` padded positions copies
    (-1: zero); ``padding`` is an int (both sides) or ``(before, after)``."""
    before, after = _axis(padding)
    index = np.arange(-before, n + after)
    if mode == "zeros":
        index[(index < 0) | (index >= n)] = -1
        return index
    # numpy.pad(np.arange(n), padding, mode=...)'s values, by index arithmetic (numpy.pad
    # costs tens of microseconds, paid several times per padded convolution)
    if mode == "replicate":
        return np.clip(index, 0, n - 1)
    if mode == "circular":
        return index % n
    if n == 1:  # reflect: PyTorch refuses any padding here; numpy.pad repeats the pixel
        return np.zeros_like(index)
    period = 2 * (n - 1)  # reflect: a triangle wave of period 2 (n - 1)
    index %= period
    return np.minimum(index, period - index)


def pad(xb: np.ndarray, padding: Any, mode: str) -> np.ndarray:
    """Pad a batch ``(m, H, W, C)`` on both spatial axes: one copy, then the border.

    ``padding`` is an ``(h, w)`` pair or ``((top, bottom), (left, right))``. The same
    values as ``numpy.pad`` (each axis padded in turn, rows first), which is several
    times slower than this for large images.
    """
    ((pt, pb), (pl, pr)), (m, h, w, c) = as_sides(padding), xb.shape
    out = np.empty((m, pt + h + pb, pl + w + pr, c), dtype=xb.dtype)
    out[:, pt : pt + h, pl : pl + w] = xb
    if mode == "zeros":
        for border in (np.s_[:, :pt], np.s_[:, pt + h :], np.s_[:, :, :pl], np.s_[:, :, pl + w :]):
            out[border] = 0
        return out
    if pt or pb:
        rows = padded_index(h, (pt, pb), mode) + pt  # the rows of ``out`` each border row copies
        out[:, :pt, pl : pl + w] = out[:, rows[:pt], pl : pl + w]
        out[:, pt + h :, pl : pl + w] = out[:, rows[pt + h :], pl : pl + w]
    if pl or pr:
        cols = padded_index(w, (pl, pr), mode) + pl
        out[:, :, :pl] = out[:, :, cols[:pl]]
        out[:, :, pl + w :] = out[:, :, cols[pl + w :]]
    return out


def fold(xp: np.ndarray, padding: Any, mode: str) -> np.ndarray:
    """The adjoint of :func:`pad`: each border pixel is added to the pixel it copied.

    One copy of the interior, then only border work: the border columns are folded onto
    the columns they copied, and the border rows (folded the same way) onto their rows.
    """
    ((pt, pb), (pl, pr)), (_, hp, wp, _) = as_sides(padding), xp.shape
    h, w = hp - pt - pb, wp - pl - pr
    out = xp[:, pt : pt + h, pl : pl + w].copy()
    if mode == "zeros":
        return out
    col_index, row_index = padded_index(w, (pl, pr), mode), padded_index(h, (pt, pb), mode)
    col_segments = [s for s in (slice(0, pl), slice(w + pl, w + pl + pr)) if s.stop > s.start]
    for segment in col_segments:
        _add_into(out, 2, col_index[segment], xp[:, pt : pt + h, segment])
    row_segments = [s for s in (slice(0, pt), slice(h + pt, h + pt + pb)) if s.stop > s.start]
    for rows in row_segments:
        band = xp[:, rows, pl : pl + w].copy()
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
