"""The filter editor's weight grids: one editable grid per input channel of the shown output,
and under them, when the kernel is flipped, the same kernels as applied (read-only).

With ``groups`` an output reads only ``C_in/groups`` input channels: there is one grid
for each, captioned with the image channel it multiplies. A transposed conv's grids are
the other way round: from its input (the filter's output shown) to its outputs (the
filter's input channels), captioned "to out i".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from qtpy.QtWidgets import QGridLayout, QLabel

from ...view import filter_ops as ops
from .kernel_grid import KernelGrid

__all__ = ["FilterGrids", "channel_names", "group_label"]


def channel_names(in_channels: int, maps: bool = False) -> list[str]:
    """Grid captions: "grey" for 1 channel, "channel R/G/B(/A)" for 3–4, else numbered;
    ``maps``: the feature maps a layer before makes, "map 0", "map 1", … (numbered from 0,
    as the panels, the montages and ``W[:, :, c, o]`` number channels)"""
    if maps:
        return [f"map {i}" for i in range(in_channels)]
    if in_channels == 1:
        return ["grey"]
    if in_channels in (3, 4):
        return [f"channel {name}" for name in "RGBA"[:in_channels]]
    return [f"channel {i}" for i in range(in_channels)]


def group_label(groups: int, in_channels: int) -> str:
    """The channels combo's text for ``groups``: summed, depthwise or groups g."""
    if groups == 1:
        return "summed (groups 1)"
    if groups == in_channels:
        return f"depthwise (groups {groups})"
    return f"groups {groups}: {in_channels // groups} inputs each"


class FilterGrids:
    """The grids in ``editable`` (captions above) and ``applied`` layouts.

    Parameters
    ----------
    editable, applied : QGridLayout
        Where the editable grids and their read-only applied copies go.
    on_edit : callable
        ``on_edit(row, column, channel, value)`` after the user edits a cell of grid
        ``channel`` (an index among the shown output's inputs).
    """

    def __init__(
        self,
        editable: QGridLayout,
        applied: QGridLayout,
        on_edit: Callable[[int, int, int, float], None],
    ) -> None:
        self._editable, self._applied_layout, self._on_edit = editable, applied, on_edit
        self.grids: list[KernelGrid] = []
        self.captions: list[QLabel] = []
        self.applied: list[KernelGrid] = []
        self._shape: tuple[int, int, int] | None = None
        #: the inputs are the feature maps of a layer before (named map 0, 1, …)
        self.maps = False
        #: a ConvTranspose2d: the shown filter output is its input, the grids its outputs
        self.transposed = False
        #: why the grids cannot be edited now ("": they can)
        self.locked = ""

    def lock(self, why: str) -> None:
        """Make the grids read-only, ``why`` in their cells' tooltips ("": editable)."""
        self.locked = why
        for grid in self.grids:
            grid.set_editable(not why, why)

    def show(self, weights: np.ndarray, output: int, groups: int, flip: bool) -> None:
        """Show output ``output`` of ``weights`` ``(f_h, f_w, C_in/groups, C_out)``."""
        fh, fw, c_group, c_out = weights.shape
        if self._shape != (fh, fw, c_group):
            self._rebuild(fh, fw, c_group)
        shown = weights[..., output]
        scale = float(np.max(np.abs(shown))) if shown.size else 0.0
        names = channel_names(c_group * groups, self.maps)
        inputs = ops.output_inputs(output, c_group * groups, c_out, groups)
        for channel, grid in enumerate(self.grids):
            kernel = shown[:, :, channel]
            grid.set_values(kernel, scale)
            self._caption(channel, names[inputs[channel]], inputs[channel], output, c_out)
            self.applied[channel].set_values(kernel[::-1, ::-1] if flip else kernel, scale)

    def _caption(self, channel: int, name: str, index: int, output: int, c_out: int) -> None:
        """Caption grid ``channel``: the filter input ``index`` (``name``) it multiplies."""
        caption = self.captions[channel]
        if not self.transposed:
            caption.setText(name)
            caption.setToolTip(f"Weights applied to the input's {name} for output {output}")
            return
        source = channel_names(c_out, self.maps)[output]
        caption.setText(f"to out {index}")
        caption.setToolTip(
            f"ConvTranspose2d: each pixel of the input's {source} adds this kernel, times "
            f"its value, to output {index}"
        )

    def _rebuild(self, fh: int, fw: int, c_group: int) -> None:
        for layout in (self._editable, self._applied_layout):
            while layout.count():
                item = layout.takeAt(0)
                widget = None if item is None else item.widget()
                if widget is not None:
                    widget.hide()
                    widget.setParent(None)
                    widget.deleteLater()
        self.grids, self.captions, self.applied = [], [], []
        per_row = max(1, min(c_group, 9 // fw))
        for channel in range(c_group):
            grid = KernelGrid(fh, fw)
            grid.set_editable(not self.locked, self.locked)
            grid.cellEdited.connect(
                lambda row, column, value, c=channel: self._on_edit(row, column, c, value)
            )
            caption = QLabel()
            row, column = divmod(channel, per_row)
            self._editable.addWidget(caption, 2 * row, column)
            self._editable.addWidget(grid, 2 * row + 1, column)
            applied = KernelGrid(fh, fw, editable=False)
            self._applied_layout.addWidget(applied, row, column)
            for widget in (caption, grid, applied):
                widget.show()  # the layout would only show them after the next event loop turn
            self.grids.append(grid)
            self.captions.append(caption)
            self.applied.append(applied)
        self._shape = (fh, fw, c_group)
