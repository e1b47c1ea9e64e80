"""What rebuilds the filter editor's weights: a preset, or a new size, ``C_in``, ``C_out``
or grouping.

A filter from a preset is made again by :func:`~deconv_gui.core.make_filter` for its new
shape; custom weights are reshaped to keep what they can
(:mod:`~deconv_gui.view.filter_ops`). :class:`FilterShape` is mixed into
:class:`~.filter_editor.FilterEditor`, which keeps and shows the filter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ...core import PRESETS, make_filter
from ...core import params as schema
from ...core.choices import check_choice
from ...document.channels import fit_filter, image_channels
from ...view import filter_ops as ops
from .filter_form import CUSTOM, MAX_IN_CHANNELS, MAX_OUT_CHANNELS, SEEDED

if TYPE_CHECKING:
    from .filter_form import FilterForm

__all__ = ["FilterShape"]


class FilterShape:
    """The filter editor's presets and shape changes (mixed into ``FilterEditor``)."""

    _deep: tuple[np.ndarray, list[float], int] | None
    _weights: np.ndarray
    _bias: list[float]
    _preset: str
    _groups: int
    ui: FilterForm
    #: store weights, bias, preset (and groups, flip), redraw and announce (the editor's)
    _commit: Callable[..., None]
    if TYPE_CHECKING:

        def groups(self) -> int: ...
        def in_channels(self) -> int: ...
        def seed(self) -> int: ...
        def set_seed(self, seed: int) -> None: ...
        def same_check_off(self) -> None: ...
        def _leave_deep(self) -> None: ...
        def _sync(self) -> None: ...

    def set_preset(self, name: str, *, seed: int | None = None) -> None:
        """Fill the weights from a preset at the current size, ``C_in`` and ``C_out``.

        Raises
        ------
        ValueError
            If ``name`` is neither one of :data:`~deconv_gui.core.PRESETS` nor ``"custom"``.
        """
        if check_choice("name", name, PRESETS, extra=(CUSTOM,)) == CUSTOM:
            self._preset = CUSTOM
            self._sync()
            return
        if seed is not None:
            self.set_seed(seed)
        self._apply_preset(name)

    def set_groups(self, groups: int) -> None:
        """Choose how input channels reach outputs, as the channels combo does.

        ``C_out`` becomes a multiple of ``groups`` (depthwise from ``3 → 1`` gives
        ``3 → 3``); a preset is rebuilt, custom weights keep what the new grouping can
        hold (see :func:`~deconv_gui.view.filter_ops.regroup`).

        Raises
        ------
        ValueError
            Naming ``groups`` unless it divides the image's channel count.
        """
        groups = schema.check("groups", groups)
        if self._deep is not None:
            if groups == self.groups():
                return
            raise ValueError(f"groups: a deep layer's grouping is the model's ({self.groups()})")
        c_in, c_out = self.in_channels(), self._weights.shape[3]
        if groups not in ops.group_choices(c_in):
            raise ValueError(f"groups must divide C_in = {c_in}, got {groups}")
        if groups == self._groups:
            return
        most = MAX_OUT_CHANNELS // groups * groups
        new_c_out = min(most, -(-c_out // groups) * groups)
        bias = [self._bias[o % c_out] for o in range(new_c_out)]
        if self._preset in PRESETS:
            self._bias = bias
            self._apply_preset(self._preset, out_channels=new_c_out, groups=groups)
        else:
            weights = ops.regroup(self._weights, self._groups, groups, new_c_out)
            self._commit(weights, bias, CUSTOM, groups=groups)

    def set_flip(self, flip: bool) -> None:
        """Turn true convolution (the kernel flipped) on or off, as the check box does.

        Raises
        ------
        ValueError
            Naming ``flip`` unless it is True or False.
        """
        flip = schema.check("flip", flip)
        self._commit(self._weights, self._bias, self._preset, flip=flip)

    def set_in_channels(self, n: int, layer_kind: str = "conv") -> None:
        """Make the filter take images of ``n`` channels as a layer of ``layer_kind`` does
        (a new image was loaded, or the layer kind changed): a conv's ``C_in``, a
        transposed conv's ``C_out`` (see :func:`~deconv_gui.document.channels.fit_filter`).

        A preset is rebuilt for ``n`` channels; custom weights keep their response to a
        grey image (per tap, the channel sum is spread evenly over the new channels).

        Raises
        ------
        ValueError
            If ``n`` is not between 1 and 4.
        """
        if self._deep is not None and n == image_channels(
            layer_kind, self._deep[0].shape, self._deep[2]
        ):
            return
        if not isinstance(n, (int, np.integer)) or not 1 <= int(n) <= MAX_IN_CHANNELS:
            raise ValueError(f"n must be an int between 1 and 4, got {n!r}")
        n = int(n)
        if self._deep is not None:  # a picture again: a preset filter for it
            self._leave_deep()
            self._apply_preset("gaussian", in_channels=n, groups=1)
        weights, groups, preset = fit_filter(
            self._weights, self._groups, self._preset, layer_kind, n, self.seed()
        )
        if weights is not self._weights:
            if not ops.channels_equal(weights):
                self.same_check_off()
            self._commit(weights, self._bias, preset, groups=groups)

    def _apply_preset(
        self,
        name: str,
        *,
        size: tuple[int, int] | None = None,
        in_channels: int | None = None,
        out_channels: int | None = None,
        groups: int | None = None,
    ) -> None:
        fh, fw, _, c_out = self._weights.shape
        groups = self._groups if groups is None else groups
        c_in = self.in_channels() if in_channels is None else in_channels
        c_out = c_out if out_channels is None else out_channels
        # each group gets the preset's C_out/groups outputs (depthwise: the same kernel
        # for every channel)
        weights = make_filter(
            name,
            size=(fh, fw) if size is None else size,
            in_channels=c_in // groups,
            out_channels=c_out // groups,
            seed=self.seed(),
        )
        weights = np.tile(weights, (1, 1, 1, groups))
        if not ops.channels_equal(weights):
            self.same_check_off()
        self._commit(weights, self._bias, name, groups=groups)

    def _on_preset_activated(self, index: int) -> None:
        name = self.ui.preset_combo.itemData(index)
        if name == CUSTOM:
            self._preset = CUSTOM
            return
        self._apply_preset(name)

    def _on_seed_changed(self, _value: int) -> None:
        if self._preset in SEEDED:
            self._apply_preset(self._preset)

    def _on_size_changed(self, _value: int) -> None:
        size = (self.ui.size_h.value(), self.ui.size_w.value())
        if self._preset in PRESETS:
            self._apply_preset(self._preset, size=size)
        else:
            self._commit(ops.resize_kernel(self._weights, size), self._bias, CUSTOM)

    def _on_c_out_changed(self, value: int) -> None:
        value = -(-value // self._groups) * self._groups  # typed: the next multiple of groups
        if self._preset in PRESETS:
            self._apply_preset(self._preset, out_channels=value)
        else:
            self._commit(ops.resize_outputs(self._weights, value), self._bias, CUSTOM)
