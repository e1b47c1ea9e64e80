"""Array bookkeeping behind the filter editor's buttons: resize, re-channel, normalise, mirror.

These are edits of the weight table, not image math; they live here so that
:mod:`deconv_gui.gui.controls.filter_editor` stays about widgets. Arrays are
``(f_h, f_w, C_in, C_out)``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "channels_equal",
    "copy_first_channel",
    "normalisation_divisors",
    "rechannel",
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
