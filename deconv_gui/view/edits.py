"""Words for an edit of the settings: "stride 2 → 3", "filter R[0,1] 0.25 → 1", "show TV prior".

The window's undo history names each step by what changed between two
:class:`~deconv_gui.core.Params`; this module finds the changes and words them, without
Qt. Each change also gets a *key*: two successive edits with the same key (the same
spin box stepped twice, one filter cell typed twice, a slider dragged) may be merged
into one undo step. Discrete choices (methods, padding mode, presets) get no key: each
is a step of its own.

Examples
--------
>>> from deconv_gui.core import Params, make_filter
>>> a = Params(make_filter("gaussian"))
>>> describe_changes(a, a.replace(stride=3))
[Change(text='stride 2 → 3', key='stride')]
>>> describe_changes(a, a.replace(stride=(2, 3), reg=1e-3))[1].text
'reg 0 → 0.001'
>>> summarise([Change("a", None), Change("b", None), Change("c", None)])
'a, b and 1 more'
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import fields
from typing import Any, NamedTuple

import numpy as np

from ..core import Params
from ..core.registry import INSIGHT_METHODS, METHOD_SPECS

__all__ = ["FIELD_WORDS", "Change", "describe_changes", "format_value", "summarise"]

#: Fields that are only bookkeeping: they change with the image or the run, never by an edit.
_SILENT = ("image_source", "ssim")
_METHOD_LABELS = {spec.name: spec.label for spec in METHOD_SPECS}
#: How a field is called in the window (its control's label), where that differs.
FIELD_WORDS: dict[str, str] = {
    "padding_mode": "padding mode",
    "max_iter": "max iter",
    "noise_sigma": "noise σ",
    "noise_seed": "noise seed",
    "prior_lam": "prior λ",
    "prior_iter": "prior iterations",
    "flip": "true convolution",
    "leaky_slope": "leaky slope",
    "channel": "projected channel",
}


#: How a field's None reads where it is not "auto" (the channel: the whole map).
_NONE_WORDS: dict[str, str] = {"channel": "all"}


class Change(NamedTuple):
    """One thing an edit changed.

    Attributes
    ----------
    text : str
        What changed, for a menu entry ("stride 2 → 3").
    key : hashable or None
        Edits with equal keys may merge into one undo step; None never merges.
    """

    text: str
    key: Hashable | None


def format_value(value: Any) -> str:
    """A short, exact-enough spelling: ``2``, ``2×3``, ``0.001``, ``auto`` for None.

    Examples
    --------
    >>> format_value((2, 2)), format_value((2, 3)), format_value(0.25), format_value(None)
    ('2', '2×3', '0.25', 'auto')
    """
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def _weights_changes(
    before: np.ndarray, after: np.ndarray, channel_names: Sequence[str]
) -> list[Change]:
    fh, fw, c_in, c_out = after.shape
    if before.shape[:2] != after.shape[:2]:
        old = "×".join(map(str, before.shape[:2]))
        return [Change(f"kernel size {old} → {fh}×{fw}", "kernel size")]
    if before.shape[3] != c_out:
        return [Change(f"C_out {before.shape[3]} → {c_out}", "c_out")]
    if before.shape[2] != c_in:
        return [Change(f"filter channels {before.shape[2]} → {c_in}", None)]
    where = np.argwhere(before != after)
    if where.size == 0:
        return []
    taps = {(int(r), int(c), int(o)) for r, c, _i, o in where}
    if len(taps) != 1:
        return [Change(f"filter weights ({len(where)} values)", None)]
    row, column, out = taps.pop()
    channels = tuple(sorted({int(i) for i in where[:, 2]}))
    if len(channels) == c_in and c_in > 1:
        name = "all channels"
    elif len(channels) == 1 and channels[0] < len(channel_names):
        name = channel_names[channels[0]]
    else:
        name = "channels " + ",".join(str(i) for i in channels)
    # numbered from 0, as the tap's [row,column] and the panels' channels
    where_text = f"[{row},{column}]" + (f" out {out}" if c_out > 1 else "")
    old = format_value(float(before[row, column, channels[0], out]))
    new = format_value(float(after[row, column, channels[0], out]))
    key = ("tap", row, column, out, channels)
    return [Change(f"filter {name} {where_text} {old} → {new}", key)]


def _methods_changes(before: tuple[str, ...], after: tuple[str, ...]) -> list[Change]:
    shown = [m for m in after if m not in before]
    hidden = [m for m in before if m not in after]
    words = []
    for verb, names in (("show", shown), ("hide", hidden)):
        if set(INSIGHT_METHODS) <= set(names):
            # the lost-information panels come with the normalised panel: one switch
            words.append(f"{verb} lost-information panels")
            names = [m for m in names if m not in (*INSIGHT_METHODS, "normalized_transposed")]
        words += [f"{verb} {_METHOD_LABELS.get(m, m)}" for m in names]
    return [Change(", ".join(words) or "methods order", None)]


def describe_changes(
    before: Params, after: Params, channel_names: Sequence[str] = ()
) -> list[Change]:
    """What changed from ``before`` to ``after``, one :class:`Change` per field.

    Parameters
    ----------
    before, after : Params
        The settings before and after an edit.
    channel_names : sequence of str
        Names of the input channels ("channel R", ...), used for a single filter tap.

    Returns
    -------
    list of Change
        Empty when nothing (but the image source or the SSIM flag) differs.
    """
    changes: list[Change] = []
    for f in fields(Params):
        name = f.name
        old, new = getattr(before, name), getattr(after, name)
        if name in _SILENT:
            continue
        if name == "weights":
            changes += _weights_changes(old, new, channel_names)
            continue
        if old == new:
            continue
        if name == "methods":
            changes += _methods_changes(old, new)
        elif name == "bias" and len(old) != len(new):
            continue  # one bias per output channel: said by "C_out 1 → 2"
        elif name == "bias":
            outs = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
            label = "bias" if len(new) == 1 else f"bias out {outs[0]}"
            if len(outs) == 1:
                text = f"{label} {format_value(old[outs[0]])} → {format_value(new[outs[0]])}"
                changes.append(Change(text, ("bias", outs[0])))
            else:
                changes.append(Change(f"bias {format_value(old)} → {format_value(new)}", None))
        else:
            kind = f.metadata["rule"].kind
            # numbers typed or stepped merge; choices and switches are steps of their own
            numbers = ("pair", "padding", "optional_pair", "int", "float", "optional_int", "floats")
            key = name if kind in numbers else None
            words = FIELD_WORDS.get(name, name.replace("_", " "))
            shown = [
                _NONE_WORDS.get(name, "auto") if v is None else format_value(v) for v in (old, new)
            ]
            changes.append(Change(f"{words} {shown[0]} → {shown[1]}", key))
    return changes


def summarise(changes: Sequence[Change], most: int = 2) -> str:
    """The texts of ``changes`` joined for one menu entry ("a, b and 3 more")."""
    texts = [change.text for change in changes]
    if len(texts) <= most:
        return ", ".join(texts)
    return f"{', '.join(texts[:most])} and {len(texts) - most} more"
