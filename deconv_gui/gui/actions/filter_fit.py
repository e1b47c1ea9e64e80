"""The filter takes the image's channels on the axis the layer kind reads them from.

A convolution reads the image on the filter's input axis (C_in), a transposed one on its
output axis (C_out): :class:`FilterFit` refits the filter when an image arrives and when
the layer kind changes (the rule itself is :mod:`deconv_gui.document.channels`, behind
:meth:`FilterEditor.set_in_channels`).
"""

from __future__ import annotations

from collections.abc import Callable

from ..controls.filter_editor import FilterEditor
from ..controls.filter_form import MAX_IN_CHANNELS
from ..controls.forms import ParamsForms
from ..controls.geometry import GeometryEditor
from ..state import AppState

__all__ = ["FilterFit"]


class FilterFit:
    """Keeps the filter fitting the image as the layer kind changes.

    Parameters
    ----------
    state : AppState
        Holds the image.
    filter_editor, geometry_editor, params_forms
        The forms: the filter fitted, the layer kind read, and whether given Params
        are being shown (they are shown as given, never refitted).
    owns_channels : callable
        True when the layers before the studied one give its channels (inside a network).
    """

    def __init__(
        self,
        state: AppState,
        filter_editor: FilterEditor,
        geometry_editor: GeometryEditor,
        params_forms: ParamsForms,
        owns_channels: Callable[[], bool],
    ) -> None:
        self._state = state
        self._filter = filter_editor
        self._geometry = geometry_editor
        self._forms = params_forms
        self._owns_channels = owns_channels
        self._layer_kind = "conv"
        # before the window's recompute, so that a switch and its refit are one edit
        geometry_editor.geometryChanged.connect(self._on_geometry_changed)

    def fit(self, channels: int) -> None:
        """The filter takes ``channels`` as the layer kind asks (a conv's C_in, a
        transposed conv's C_out), unless the layers before own them (inside a network)
        or a model does (a deeper feature map comes with its layer's filter, which may
        arrive after it: another model's layer brings maps of another depth while the
        filter is still the previous layer's)."""
        deep = channels > MAX_IN_CHANNELS
        if not (self._owns_channels() or deep):
            kind = str(self._geometry.values()["layer_kind"])
            self._filter.set_in_channels(channels, kind)

    def _on_geometry_changed(self) -> None:
        # a new layer kind takes the image's channels on another axis of the filter: it
        # is fitted in the same event-loop pass (one undo step with the switch)
        kind = str(self._geometry.values()["layer_kind"])
        self._filter.set_layer_kind(kind)  # its words: a decoder reads the filter reversed
        if kind == self._layer_kind:
            return
        self._layer_kind = kind
        image = self._state.image
        if image is not None and not self._forms.showing:  # shown Params are as given
            self.fit(image.pixels.shape[2])
