"""Grouped convolution and true convolution (a flipped kernel), as one dense filter.

PyTorch's ``groups=g`` splits the ``C_in`` input and ``C_out`` output channels into
``g`` groups and convolves each group only with its own: a filter
``(f_h, f_w, C_in/g, C_out)`` is the block-diagonal ``(f_h, f_w, C_in, C_out)`` filter
that is zero between groups. True convolution (``scipy.signal.convolve``) is
cross-correlation with the kernel flipped in both spatial axes. Both are exact
rewrites of the filter, so the kernels, the adjoint and every analysis stay the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_groups", "dense_filter", "dense_groups"]


def check_groups(groups: Any, flip: Any, c_in: int, c_out: int, c_in_filter: int) -> int:
    """Validate ``groups`` and ``flip`` for ``C_in``, ``C_out`` and the filter's third axis.

    Raises
    ------
    ValueError
        Naming ``groups`` (not a positive int, not dividing ``C_in`` and ``C_out``, or a
        filter whose third axis is not ``C_in / groups``) or ``flip`` (not a bool).
    """
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)):
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    if not isinstance(flip, (bool, np.bool_)):
        raise ValueError(f"flip must be True or False, got {flip!r}")
    g = int(groups)
    if c_in % g or c_out % g:
        raise ValueError(f"groups {g} must divide both C_in = {c_in} and C_out = {c_out}")
    if c_in_filter * g != c_in:
        raise ValueError(
            f"channel mismatch: with groups {g} the weights' third axis must be "
            f"C_in / groups = {c_in // g}, got {c_in_filter} (the image has C_in = {c_in})"
        )
    return g


def dense_filter(w: np.ndarray, groups: int, flip: bool) -> np.ndarray:
    """The ``(f_h, f_w, C_in, C_out)`` filter of a grouped and/or flipped one."""
    if flip:
        w = w[::-1, ::-1]
    if groups == 1:
        return np.ascontiguousarray(w)
    return dense_groups(w, groups)


# plain NumPy on purpose: the NumPy snippet prints this function's source as its own
def dense_groups(w: np.ndarray, groups: int) -> np.ndarray:
    """PyTorch's groups as one (f_h, f_w, C_in, C_out) filter, zero between the groups."""
    fh, fw, c_group, c_out = w.shape
    out_group = c_out // groups
    dense = np.zeros((fh, fw, c_group * groups, c_out), dtype=w.dtype)
    for k in range(groups):
        outs = slice(k * out_group, (k + 1) * out_group)
        dense[:, :, k * c_group : (k + 1) * c_group, outs] = w[:, :, :, outs]
    return dense
