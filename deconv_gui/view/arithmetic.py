"""The arithmetic box's words about the channels and the output size's ambiguity (no Qt).

Several input sizes give the same output size when the stride does not divide the
padded size evenly; a transposed convolution must then be told which one to return
(PyTorch's ``output_padding``). :func:`size_ambiguity` says so for a geometry, with the
numbers of :func:`~deconv_gui.core.matching_input_sizes`.
"""

from __future__ import annotations

from typing import Any

from ..core import ConvGeometry, matching_input_sizes
from ..core.geometry import same_padding

__all__ = ["channel_summary", "padding_summary", "size_ambiguity"]

#: How each framework names the padding modes (None: no built-in padding of that kind).
_TF_PAD = {"reflect": "REFLECT", "replicate": None, "circular": None}
_ONNX_PAD = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _either(values: list[int]) -> str:
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _axis(geometry: ConvGeometry, axis: int) -> tuple[list[int], list[int], int]:
    """The matching input sizes, their ``output_padding`` and this image's, on one axis."""
    n_out = geometry.output_shape[axis]
    f, s = geometry.filter_shape[axis], geometry.stride[axis]
    p, d = geometry.pads[axis], geometry.dilation[axis]
    sizes = matching_input_sizes(n_out, f, s, p, d)
    first = d * (f - 1) + 1 - sum(p) + (n_out - 1) * s  # the size output_padding 0 gives
    return sizes, [n - first for n in sizes], geometry.input_shape[axis] - first


def size_ambiguity(geometry: ConvGeometry) -> str:
    """Which input sizes give this output size, and the ``output_padding`` that picks ours.

    Examples
    --------
    >>> from deconv_gui.core import ConvGeometry
    >>> size_ambiguity(ConvGeometry((7, 7, 3), (3, 3, 3), stride=2))
    'inputs of 7 or 8 rows/columns give 3: a transposed conv needs output_padding 0 or 1 (here 0)'
    >>> size_ambiguity(ConvGeometry((8, 6, 1), (3, 3, 1), stride=(2, 1)))
    'inputs of 7 or 8 rows give 3 rows: a transposed conv needs output_padding 0 or 1 (here 1)'
    >>> size_ambiguity(ConvGeometry((8, 8, 1), (3, 3, 1), padding=1))
    'each output size has one input size: a transposed conv needs no output_padding'
    """
    if getattr(geometry, "kind", "conv") == "conv_transpose":
        op = geometry.output_padding  # type: ignore[attr-defined]
        limit = [max(s, d) - 1 for s, d in zip(geometry.stride, geometry.dilation, strict=True)]
        h, w, _ = geometry.output_shape
        return (
            f"a transposed conv: output_padding {op} gives {h}×{w} (PyTorch takes 0 to "
            f"{limit[0]} rows, 0 to {limit[1]} columns)"
        )
    rows, columns = _axis(geometry, 0), _axis(geometry, 1)
    same = rows == columns and geometry.output_shape[0] == geometry.output_shape[1]
    parts = []
    for axis, (sizes, paddings, here) in ((0, rows), (1, columns)):
        if len(sizes) < 2 or (same and axis == 1):
            continue
        noun = "rows/columns" if same else ("rows", "columns")[axis]
        n_out = geometry.output_shape[axis]
        gives = f"{n_out}" if same else f"{n_out} {noun}"
        parts.append(
            f"inputs of {_either(sizes)} {noun} give {gives}: a transposed conv needs "
            f"output_padding {_either(paddings)} (here {here})"
        )
    if not parts:
        return "each output size has one input size: a transposed conv needs no output_padding"
    return "; ".join(parts)


def channel_summary(geometry: ConvGeometry) -> str:
    """How input channels reach output channels: summed, depthwise, grouped, or K filters.

    Examples
    --------
    >>> from deconv_gui.core import ConvGeometry
    >>> channel_summary(ConvGeometry((7, 7, 3), (3, 3, 3), stride=2))
    'channels 3 → 1: one filter sums all 3'
    >>> channel_summary(ConvGeometry((7, 7, 3), (3, 3, 3, 4), stride=2))
    'channels 3 → 4: 4 filters, each sums all 3'
    >>> channel_summary(ConvGeometry((7, 7, 3), (3, 3, 1, 3), stride=2, groups=3))
    'channels 3 → 3: depthwise, 1 input per output'
    >>> channel_summary(ConvGeometry((7, 7, 4), (3, 3, 2, 4), groups=2, flip=True))
    'channels 4 → 4: groups 2, 2 inputs per output · true convolution'
    """
    c_in, c_out, groups = geometry.input_shape[2], geometry.output_shape[2], geometry.groups
    head = f"channels {c_in} → {c_out}: "
    if groups == 1 and c_out == 1:
        text = head + (f"one filter sums all {c_in}" if c_in > 1 else "one filter")
    elif groups == 1:
        text = head + f"{c_out} filters" + (f", each sums all {c_in}" if c_in > 1 else "")
    else:
        per = c_in // groups
        kind = "depthwise" if groups == c_in else f"groups {groups}"
        text = head + f"{kind}, {per} input{'s' if per > 1 else ''} per output"
    return text + (" · true convolution" if geometry.flip else "")


def _same_name(geometry: ConvGeometry) -> str | None:
    """``"same"`` or ``"same_lower"`` when the pads are that rule's (and not zero), else None."""
    g = geometry
    for name, lower in (("same", False), ("same_lower", True)):
        rule = tuple(
            same_padding(g.input_shape[a], g.filter_shape[a], g.stride[a], g.dilation[a], lower)
            for a in (0, 1)
        )
        if rule == g.pads and g.pads != ((0, 0), (0, 0)):
            return name
    return None


def padding_summary(geometry: ConvGeometry) -> str:
    """The four sides of the padding and how PyTorch, Keras and ONNX write this layer.

    PyTorch's ``Conv2d(padding=)`` is the same on both sides of an axis; otherwise it is
    ``F.pad`` then ``Conv2d(padding=0)``. Keras has ``'same'``/``'valid'`` or a
    ``ZeroPadding2D``; ONNX lists ``pads=[top, left, bottom, right]``.

    Examples
    --------
    >>> from deconv_gui.core import ConvGeometry
    >>> text = padding_summary(ConvGeometry((56, 56, 64), (3, 3, 64, 128), 2, "same"))
    >>> print(text.replace(" · ", "\\n"))
    padding top 0, bottom 1, left 0, right 1
    PyTorch: F.pad(x, (0, 1, 0, 1)) then Conv2d(padding=0)
    Keras: padding='same'
    ONNX: pads=[0, 0, 1, 1] (auto_pad='SAME_UPPER')
    >>> print(padding_summary(ConvGeometry((8, 8, 3), (3, 3, 3), 2, 1)).replace(" · ", "\\n"))
    padding 1 on every side
    PyTorch: Conv2d(padding=1)
    Keras: ZeroPadding2D(1) then padding='valid'
    ONNX: pads=[1, 1, 1, 1]
    """
    if getattr(geometry, "kind", "conv") == "conv_transpose":
        return _transposed_padding(geometry)
    g = geometry
    (top, bottom), (left, right) = g.pads
    mode = g.padding_mode
    if g.symmetric and top == left:
        sides = f"padding {top} on every side"
        torch_arg = f"{top}"
    elif g.symmetric:
        sides = f"padding {top} rows, {left} columns on each side"
        torch_arg = f"({top}, {left})"
    else:
        sides = f"padding top {top}, bottom {bottom}, left {left}, right {right}"
        torch_arg = ""
    if g.pads == ((0, 0), (0, 0)):
        return (
            "no padding · PyTorch: Conv2d(padding=0) · Keras: padding='valid' · "
            "ONNX: pads=[0, 0, 0, 0]"
        )
    mode_arg = f", padding_mode='{mode}'" if mode != "zeros" else ""
    if torch_arg:
        torch = f"Conv2d(padding={torch_arg}{mode_arg})"
    else:
        pad_mode = f", mode='{mode}'" if mode != "zeros" else ""
        torch = f"F.pad(x, ({left}, {right}, {top}, {bottom}){pad_mode}) then Conv2d(padding=0)"
    same = _same_name(g)
    keras_pads = (
        f"{top}" if g.symmetric and top == left else f"(({top}, {bottom}), ({left}, {right}))"
    )
    if mode != "zeros":
        tf_mode = _TF_PAD[mode]
        keras = (
            f"tf.pad(x, ..., mode='{tf_mode}') then padding='valid'"
            if tf_mode
            else f"no {mode} padding layer (pad by hand, then padding='valid')"
        )
    elif same == "same":
        keras = "padding='same'"
    else:
        keras = f"ZeroPadding2D({keras_pads}) then padding='valid'"
    onnx = f"pads=[{top}, {left}, {bottom}, {right}]"
    if mode != "zeros":
        onnx = (
            f"Pad(mode='{_ONNX_PAD[mode]}', pads=[0, 0, {top}, {left}, 0, 0, {bottom}, "
            f"{right}]) then Conv pads=[0, 0, 0, 0]"
        )
    elif same:
        onnx += f" (auto_pad='{'SAME_UPPER' if same == 'same' else 'SAME_LOWER'}')"
    return f"{sides} · PyTorch: {torch} · Keras: {keras} · ONNX: {onnx}"


def _transposed_padding(geometry: Any) -> str:
    """:func:`padding_summary` of a ConvTranspose2d layer: the padding crops its output."""
    g = geometry.conv
    (top, bottom), (left, right) = g.pads
    op = geometry.output_padding
    sides = f"padding top {top}, bottom {bottom}, left {left}, right {right} (cropped)"
    if g.symmetric:
        torch = f"ConvTranspose2d(padding={g.padding}, output_padding={op})"
    else:
        rows, cols = _span(top, bottom), _span(left, right)
        torch = f"ConvTranspose2d(padding=0, output_padding={op}) then [{rows}, {cols}]"
    doubled = all(
        g.input_shape[a] == geometry.input_shape[a] * g.stride[a] for a in (0, 1)
    )  # Keras's 'same' transpose returns n · stride
    same = _same_name(g) == "same" and doubled
    keras = (
        "Conv2DTranspose(padding='same')"
        if same
        else (
            f"Conv2DTranspose(padding='valid') then Cropping2D((({top}, {bottom}), "
            f"({left}, {right})))"
        )
    )
    onnx = f"ConvTranspose pads=[{top}, {left}, {bottom}, {right}], output_padding={list(op)}"
    return f"{sides} · PyTorch: {torch} · Keras: {keras} · ONNX: {onnx}"


def _span(before: int, after: int) -> str:
    """A crop as a slice: ``1:-2``, ``1:``, ``:-2`` or ``:``."""
    return f"{before or ''}:{-after if after else ''}"
