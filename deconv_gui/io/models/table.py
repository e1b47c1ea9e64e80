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
    """The notes of the layers and the model: one line per note, naming the layers that
    share it (a weights-only file's fifty convs would otherwise repeat one note fifty
    times and push the table out of view).

    Examples
    --------
    >>> note = ("no geometry",)
    >>> layers = [ModelLayer(f"c{i}", "conv", (8, 3, 3, 3), notes=note) for i in range(5)]
    >>> layers.append(ModelLayer("up", "conv_transpose", (8, 3, 3, 3), notes=("a decoder",)))
    >>> layer_notes(Model("w.pt", "pytorch", tuple(layers)))
    ['c0, c1 and 3 more layers: no geometry', 'up: a decoder']
    >>> layer_notes(Model("w.pt", "pytorch", tuple(layers[:2])))
    ['all layers: no geometry']
    """
    sharing: dict[str, list[str]] = {}
    for layer in model.layers:
        for note in layer.notes:
            sharing.setdefault(note, []).append(layer.name)
    lines = []
    for note, names in sharing.items():
        if len(names) == len(model.layers) > 1:
            who = "all layers"
        elif len(names) > 3:
            who = f"{names[0]}, {names[1]} and {len(names) - 2} more layers"
        else:
            who = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        lines.append(f"{who}: {note}")
    return [*lines, *model.notes]
