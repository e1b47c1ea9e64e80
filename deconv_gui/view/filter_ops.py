"""Array bookkeeping behind the filter editor's buttons: resize, re-channel, normalise, mirror.

These are edits of the weight table, not image math; they live here so that
:mod:`deconv_gui.gui.controls.filter_editor` stays about widgets. Arrays are
``(f_h, f_w, C_in, C_out)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.groups import dense_filter

__all__ = [
    "channel_links",
    "channels_equal",
    "checked_filter",
    "copy_first_channel",
    "filter_slice",
    "group_choices",
    "normalisation_divisors",
    "output_inputs",
    "rechannel",
    "regroup",
    "resize_kernel",
    "resize_outputs",
]

#: A sum of weights smaller than this fraction of the sum of |w| counts as zero.
ZERO_SUM_FRACTION = 1e-9


def resize_kernel(weights: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Crop or zero-pad the kernel to ``size``, keeping the centre tap ``((f-1)//2)`` in place."""
    new_h, new_w = size
    old_h, old_w = weights.shape[:2]
    out = np.zeros((new_h, new_w, *weights.shape[2:]))
    spans = []
    for old, new in ((old_h, new_h), (old_w, new_w)):
        length = min(old, new)
        src = max(0, (old - new) // 2)
        dst = max(0, (new - old) // 2)
        spans.append((slice(src, src + length), slice(dst, dst + length)))
    (src_h, dst_h), (src_w, dst_w) = spans
    out[dst_h, dst_w] = weights[src_h, src_w]
    return out


def rechannel(weights: np.ndarray, in_channels: int) -> np.ndarray:
    """Change ``C_in`` keeping each output's response to a grey image (all channels equal).

    Every input channel gets the per-tap sum over the old channels divided by the new
    channel count, so ``Σ_c w[..., c, o]`` is unchanged.
    """
    total = weights.sum(axis=2, keepdims=True)
    return np.repeat(total / in_channels, in_channels, axis=2)


def resize_outputs(weights: np.ndarray, out_channels: int) -> np.ndarray:
    """Keep the first ``out_channels`` output channels; new ones are all zeros."""
    current = weights.shape[3]
    if out_channels <= current:
        return weights[..., :out_channels].copy()
    extra = np.zeros((*weights.shape[:3], out_channels - current))
    return np.concatenate([weights, extra], axis=3)


def channels_equal(weights: np.ndarray) -> bool:
    """True when every input channel holds the same weights (for every output channel)."""
    return bool(np.all(weights == weights[:, :, :1, :]))


def copy_first_channel(weights: np.ndarray) -> np.ndarray:
    """Every input channel set to the first one's weights."""
    return np.repeat(weights[:, :, :1, :], weights.shape[2], axis=2)


def normalisation_divisors(weights: np.ndarray) -> list[tuple[float, str]]:
    """What "Normalise" divides each output channel by, and why.

    Returns
    -------
    list of (float, str)
        Per output channel: the divisor and ``"sum"`` (the sum of the weights), ``"abs"``
        (the sum of |w|, used when the sum is about 0, e.g. an edge filter) or ``"zero"``
        (all weights are 0; the divisor is 1 and nothing changes).
    """
    result = []
    for o in range(weights.shape[3]):
        total = float(weights[..., o].sum())
        magnitude = float(np.abs(weights[..., o]).sum())
        if magnitude == 0.0:
            result.append((1.0, "zero"))
        elif abs(total) > ZERO_SUM_FRACTION * magnitude:
            result.append((total, "sum"))
        else:
            result.append((magnitude, "abs"))
    return result


def group_choices(in_channels: int) -> list[int]:
    """The ``groups`` an image of ``in_channels`` channels allows: its divisors, ascending."""
    return [g for g in range(1, in_channels + 1) if in_channels % g == 0]


def output_inputs(output: int, in_channels: int, out_channels: int, groups: int) -> range:
    """The input channels that output channel ``output`` reads with ``groups``.

    PyTorch's rule: output ``o`` belongs to group ``o // (C_out / g)`` and reads that
    group's ``C_in / g`` consecutive input channels.

    Examples
    --------
    >>> list(output_inputs(1, 3, 3, 3)), list(output_inputs(1, 3, 1, 1))
    ([1], [])
    >>> list(output_inputs(0, 3, 1, 1))
    [0, 1, 2]
    """
    if not 0 <= output < out_channels:
        return range(0)
    per_in, per_out = in_channels // groups, out_channels // groups
    group = output // per_out
    return range(group * per_in, (group + 1) * per_in)


def channel_links(in_channels: int, out_channels: int, groups: int) -> list[tuple[int, int]]:
    """Every ``(input channel, output channel)`` pair that a weight connects."""
    return [
        (i, o)
        for o in range(out_channels)
        for i in output_inputs(o, in_channels, out_channels, groups)
    ]


def regroup(weights: np.ndarray, groups: int, new_groups: int, out_channels: int) -> np.ndarray:
    """The filter for ``new_groups`` (and ``out_channels``) closest to a grouped one.

    ``weights`` is ``(f_h, f_w, C_in/groups, C_out)``. It is written as the dense filter
    it applies (zero between groups); new output channels repeat the existing ones in
    turn; each output then keeps the weights on its new group's inputs. So a summed
    ``3 → 1`` filter becomes depthwise with each channel's own kernel, and a depthwise
    filter becomes the same layer again with ``new_groups = 1`` (block-diagonal).

    Examples
    --------
    >>> w = np.arange(3.0).reshape(1, 1, 3, 1)  # R·0 + G·1 + B·2 summed
    >>> regroup(w, 1, 3, 3)[0, 0]  # depthwise: R·0, G·1, B·2
    array([[0., 1., 2.]])
    >>> regroup(regroup(w, 1, 3, 3), 3, 1, 3)[0, 0]  # block-diagonal
    array([[0., 0., 0.],
           [0., 1., 0.],
           [0., 0., 2.]])
    """
    dense = dense_filter(weights, groups, False)
    c_in, c_out = dense.shape[2], dense.shape[3]
    dense = dense[..., [o % c_out for o in range(out_channels)]]
    per_in, per_out = c_in // new_groups, out_channels // new_groups
    out = np.empty((*dense.shape[:2], per_in, out_channels))
    for o in range(out_channels):
        first = (o // per_out) * per_in
        out[:, :, :, o] = dense[:, :, first : first + per_in, o]
    return out


def checked_filter(
    weights: object, bias: object, groups: int, max_size: int, max_in: int, max_out: int
) -> tuple[np.ndarray, list[float]]:
    """A filter the editor can show: a float64 4-D copy and one bias per output channel.

    ``weights`` is ``(f_h, f_w, C_in/groups, C_out)`` (3-D: ``C_out = 1``) with sizes up
    to ``max_size``, ``C_in`` up to ``max_in`` and ``C_out`` up to ``max_out``, a multiple
    of ``groups``; ``bias`` is a number or one per output channel.

    Raises
    ------
    ValueError
        Naming ``weights``, ``groups`` or ``bias`` when they do not fit.
    """
    array = np.array(weights, dtype=np.float64)
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4:
        raise ValueError(f"weights must be 3-D or 4-D, got shape {array.shape}")
    fh, fw, c_group, c_out = array.shape
    c_in = c_group * groups
    if c_out % groups or c_in > max_in:
        raise ValueError(
            f"groups {groups} does not fit weights of shape {array.shape}: C_out must be "
            f"a multiple of it and C_in = {c_group}·{groups} at most {max_in}"
        )
    if not (1 <= fh <= max_size and 1 <= fw <= max_size):
        raise ValueError(
            f"weights must be 1–{max_size} taps high and wide, got shape {array.shape}"
        )
    if not (1 <= c_in <= max_in and 1 <= c_out <= max_out):
        raise ValueError(
            f"weights must have 1–{max_in} input and 1–{max_out} output channels, "
            f"got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("weights must be finite numbers")
    bias_array = np.atleast_1d(np.asarray(bias, dtype=np.float64)).ravel()
    if bias_array.size == 1:
        bias_array = np.repeat(bias_array, c_out)
    if bias_array.size != c_out or not np.all(np.isfinite(bias_array)):
        raise ValueError(f"bias must be a number or {c_out} numbers, got {bias!r}")
    return array, [float(b) for b in bias_array]


def filter_slice(
    weights: np.ndarray, groups: int, output: int, inputs: Sequence[int], most: int = 4
) -> tuple[int, ...]:
    """The weights' input axis (``C_in/groups``) indices of a deep filter's slice: the
    picked ``inputs`` that ``output`` sees (its group's), at most ``most``, else the
    group's first ones.

    >>> w = np.zeros((3, 3, 8, 4))  # groups 2: outputs 2, 3 see inputs 8-15
    >>> filter_slice(w, 2, 3, (1, 9, 12)), filter_slice(w, 2, 0, (9,))
    ((1, 4), (0, 1, 2, 3))
    """
    c_group, c_out = weights.shape[2], weights.shape[3]
    first = (int(output) // (c_out // groups)) * c_group
    local = [i - first for i in inputs if first <= i < first + c_group][:most]
    return tuple(local) or tuple(range(min(most, c_group)))
