"""A model's conv layers as rows of text: ``deconv-gui layers`` and the window's table."""

from __future__ import annotations

from typing import Any

from .record import Model, ModelLayer

__all__ = ["LAYER_COLUMNS", "layer_notes", "layer_row", "padding_text"]

#: The columns of the layer table.
LAYER_COLUMNS = (
    "name",
    "kind",
    "C_in→C_out",
    "kernel",
    "stride",
    "padding",
    "dilation",
    "groups",
    "mode",
    "out_pad",
)


def _text(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, tuple):
        return "×".join(_text(v) for v in value)
    return str(value)


def padding_text(layer: ModelLayer) -> str:
    """One number when every side agrees, else ``t… b… l… r…`` (or the rule, or ``?``).

    Examples
    --------
    >>> padding_text(ModelLayer("c", "conv", (8, 3, 3, 3), padding=((0, 1), (1, 1))))
    't0 b1 l1 r1'
    """
    if layer.padding is None:
        return layer.padding_rule or "?"
    (top, bottom), (left, right) = layer.padding
    if top == bottom == left == right:
        return str(top)
    return f"t{top} b{bottom} l{left} r{right}"


def layer_row(layer: ModelLayer) -> tuple[str, ...]:
    """The :data:`LAYER_COLUMNS` of one layer; ``?`` where the file does not say."""
    return (
        layer.name,
        layer.kind,
        f"{_text(layer.in_channels)}→{_text(layer.out_channels)}",
        _text(layer.kernel),
        _text(layer.stride),
        padding_text(layer),
        _text(layer.dilation),
        _text(layer.groups),
        _text(layer.padding_mode),
        "" if layer.kind == "conv" else _text(layer.output_padding),
    )


def layer_notes(model: Model) -> list[str]:
    """The notes of the layers and the model (one line for a note every layer shares)."""
    notes = [f"{layer.name}: {note}" for layer in model.layers for note in layer.notes]
    shared = {n.split(": ", 1)[1] for n in notes}
    if len(shared) == 1 and len(notes) == len(model.layers) > 1:
        notes = [f"all layers: {shared.pop()}"]
    return [*notes, *model.notes]
