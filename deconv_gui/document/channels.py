"""Which filter an image of ``C`` channels needs, for a convolution or a transposed one.

A Conv2d filter ``(f_h, f_w, C_in/groups, C_out)`` takes ``C_in`` channels: an image
of ``C`` channels needs ``C_in = C``. A ConvTranspose2d layer with the same filter takes
``C_out`` channels (its input is the decoder's small map) and paints ``C_in``: the image
is then the filter's last axis. :func:`filter_channels` says which axes a layer of
either kind needs for an image, :func:`fit_filter` makes them (the window does when an
image arrives or the layer kind changes, a session when its image has other channels,
the document for each convolution of a chain).

Examples
--------
>>> from deconv_gui.core import make_filter
>>> w = make_filter("gaussian", in_channels=3)  # a conv summing R, G and B
>>> filter_channels("conv", w.shape, 1, 3), filter_channels("conv_transpose", w.shape, 1, 3)
((3, 1, 1), (1, 3, 3))
>>> fitted, groups, preset = fit_filter(w, 1, "gaussian", "conv_transpose", 3)
>>> fitted.shape, groups, preset  # depthwise: fits a conv on the same image too
((3, 3, 1, 3), 3, 'gaussian')
>>> filter_channels("conv", fitted.shape, groups, 3)
(1, 3, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core import PRESETS, make_filter
from ..view import filter_ops

__all__ = ["filter_channels", "fit_filter", "image_channels"]

#: make_filter builds presets for up to this many channels per group
_PRESET_CHANNELS = 4


def image_channels(layer_kind: str, weights_shape: Sequence[int], groups: int) -> int:
    """The channels a layer of ``layer_kind`` with this filter takes.

    >>> image_channels("conv", (3, 3, 1, 4), 2), image_channels("conv_transpose", (3, 3, 1, 4), 2)
    (2, 4)
    """
    if layer_kind == "conv_transpose":
        return int(weights_shape[3])
    return int(weights_shape[2]) * int(groups)


def filter_channels(
    layer_kind: str, weights_shape: Sequence[int], groups: int, channels: int
) -> tuple[int, int, int]:
    """``(C_in/groups, C_out, groups)`` of the filter a layer of ``layer_kind`` needs for
    images of ``channels`` channels; the filter's own when it takes them already.

    A convolution keeps its outputs and its grouping when ``groups`` divides the new
    channel count (else every channel is summed, ``groups = 1``). A transposed convolution
    becomes depthwise, ``C → C``: each channel of the image is upsampled by its own copy of
    the kernel, so its output is the picture itself, larger and in its own colours (what a
    newcomer expects of an upsampling layer, with one kernel grid to read); and a
    depthwise filter takes the same image as a convolution, so switching the kind back
    needs no change.
    """
    per_group, c_out = int(weights_shape[2]), int(weights_shape[3])
    channels, groups = int(channels), int(groups)
    if image_channels(layer_kind, weights_shape, groups) == channels:
        return per_group, c_out, groups
    if layer_kind == "conv_transpose":
        return 1, channels, channels
    groups = groups if channels % groups == 0 else 1
    return channels // groups, c_out, groups


def fit_filter(
    weights: np.ndarray,
    groups: int,
    preset: str,
    layer_kind: str,
    channels: int,
    seed: int = 0,
) -> tuple[np.ndarray, int, str]:
    """``(weights, groups, preset)`` taking images of ``channels`` channels as a layer of
    ``layer_kind`` (see :func:`filter_channels`); the arguments when they already do.

    A preset is built again for the new channels; hand-made weights (``preset`` then
    ``"custom"``) keep each output's response to a grey image for a convolution, and
    for a transposed one each channel gets the kernel a convolution would apply to it.
    """
    per_group, c_out, new_groups = filter_channels(layer_kind, weights.shape, groups, channels)
    if (per_group, c_out, new_groups) == (*weights.shape[2:], groups):
        return weights, groups, preset
    if preset in PRESETS and per_group <= _PRESET_CHANNELS:
        rebuilt = make_filter(
            preset,
            size=weights.shape[:2],
            in_channels=per_group,
            out_channels=c_out // new_groups,
            seed=seed,
        )
        return np.tile(rebuilt, (1, 1, 1, new_groups)), new_groups, preset
    if layer_kind == "conv_transpose":  # the kernels a conv takes the image with, one each
        as_conv, groups, _ = fit_filter(weights, groups, "custom", "conv", channels)
        return filter_ops.regroup(as_conv, groups, new_groups, c_out), new_groups, "custom"
    if new_groups != groups:
        weights = filter_ops.regroup(weights, groups, new_groups, c_out)
    return filter_ops.rechannel(weights, per_group), new_groups, "custom"
