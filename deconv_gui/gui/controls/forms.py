"""The controls that edit :class:`~deconv_gui.core.Params` fields, read and shown as one.

Each form (filter editor, geometry editor, reconstruction options) has ``FIELDS``,
``values()`` and ``set_values(**fields)``, so a new field needs only its widget and the
schema. :class:`ParamsForms` turns the forms' values into one frozen ``Params`` and shows
a ``Params`` in them; fields no widget edits yet are carried over unchanged.
"""

from __future__ import annotations

from dataclasses import fields

from ...core import Params
from .filter_editor import CUSTOM, MAX_OUT_CHANNELS, FilterEditor
from .filter_form import MAX_IN_CHANNELS
from .geometry import GeometryEditor
from .recon_options import ReconOptions

__all__ = ["ParamsForms"]


class ParamsForms:
    """The filter editor, geometry editor and reconstruction options as one ``Params`` form.

    Parameters
    ----------
    filter_editor, geometry_editor, recon_options
        The forms; each owns the ``Params`` fields named in its ``FIELDS``.
    """

    def __init__(
        self,
        filter_editor: FilterEditor,
        geometry_editor: GeometryEditor,
        recon_options: ReconOptions,
    ) -> None:
        self.filter_editor = filter_editor
        self.recon_options = recon_options
        self.forms = (filter_editor, geometry_editor, recon_options)
        #: Params fields without a widget, as the last :meth:`show` gave them
        self.carried: dict[str, object] = {}
        #: True while :meth:`show` puts given Params in the forms (their filter is theirs:
        #: nothing is adapted to the image as the widgets change)
        self.showing = False
        #: A decoder's per-channel bias, which the filter editor (one bias per filter
        #: output, i.e. per decoder input) cannot show when the decoder has another number
        #: of outputs, or is a deep layer's slice: carried while the editor's bias stays
        #: the 0 it was shown
        self.decoder_bias: tuple[float, ...] | None = None

    def read(self, extra_methods: tuple[str, ...] = (), image_source: str = "") -> Params:
        """The forms' values as a frozen :class:`Params` (ValueError if invalid).

        ``extra_methods`` are appended to the options' methods (the Insight panels).
        """
        values: dict = {}
        for form in self.forms:
            if form is self.recon_options:  # the priors need a layer without activation
                form.allow_priors(values.get("activation", "none") == "none")
                form.set_channel_limit(_output_channels(values))  # a new C_out: still valid
            values.update(form.values())
        values["methods"] = (*values.get("methods", ()), *extra_methods)
        _one_bias_for_a_decoder(values)
        carried = self.decoder_bias
        if (
            carried is not None
            and values.get("layer_kind") == "conv_transpose"
            and values.get("bias") == 0.0
            and len(carried) == values["weights"].shape[2] * values.get("groups", 1)
        ):
            values["bias"] = carried
        return Params(**{**self.carried, **values}, image_source=image_source)

    def show(self, params: Params, methods: tuple[str, ...], preset: str = CUSTOM) -> None:
        """Show ``params`` in the forms, with ``methods`` as the options' methods.

        ``preset`` is the filter preset's name to show (an unknown name shows "custom").

        Raises
        ------
        ValueError
            When a widget cannot show a value (e.g. a filter larger than 7×7).
        """
        self.showing = True
        try:
            self._show(params, methods, preset)
        finally:
            self.showing = False

    def _show(self, params: Params, methods: tuple[str, ...], preset: str) -> None:
        values = {f.name: getattr(params, f.name) for f in fields(params)}
        values["methods"] = tuple(methods)
        _one_bias_for_a_decoder(values)
        self.decoder_bias = None
        if values.get("layer_kind") == "conv_transpose" and not isinstance(values["bias"], float):
            if not _editor_holds_decoder_bias(values):
                self.decoder_bias, values["bias"] = tuple(values["bias"]), 0.0
        self.filter_editor.ui.bias_row.carried = self.decoder_bias  # shown, not a 0
        # fields no widget edits (yet) are kept as given, never reset to their defaults
        shown = {name for form in self.forms for name in form.FIELDS}
        self.carried = {
            name: value
            for name, value in values.items()
            if name not in shown and name not in ("methods", "image_source")
        }
        self.filter_editor.set_layer_kind(str(values.get("layer_kind", "conv")))
        self.recon_options.set_channel_limit(_output_channels(values))
        for form in self.forms:
            mine = {name: values[name] for name in form.FIELDS}
            if form is self.filter_editor:
                try:
                    form.set_values(**mine, preset=preset)
                except ValueError:
                    if preset == CUSTOM:
                        raise
                    form.set_values(**mine)  # an unknown preset name: show "custom"
            else:
                form.set_values(**mine)
        self.recon_options.allow_priors(params.activation == "none")


def _output_channels(values: dict) -> int:
    """The layer's output channels from its fields (a transposed conv's: the weights' third
    axis times groups, as ``Params`` counts them)."""
    shape = values["weights"].shape
    if values.get("layer_kind") == "conv_transpose":
        return int(shape[2] * values.get("groups", 1))
    return int(shape[3])


def _editor_holds_decoder_bias(values: dict) -> bool:
    """A decoder with as many outputs as inputs, in the grids (not a deep layer's slice):
    the filter editor's bias k is its output k's (its bias row picks the output)."""
    _, _, c_group, c_out = values["weights"].shape
    outputs = c_group * values.get("groups", 1)
    return outputs == c_out and outputs <= MAX_IN_CHANNELS and c_out <= MAX_OUT_CHANNELS


def _one_bias_for_a_decoder(values: dict) -> None:
    """A ConvTranspose2d layer's bias is per channel of its output (the filter's third
    axis), the filter editor's per last axis: one shared number passes as that number."""
    bias = values.get("bias")
    if values.get("layer_kind") == "conv_transpose" and bias and len(set(bias)) == 1:
        values["bias"] = float(bias[0])
