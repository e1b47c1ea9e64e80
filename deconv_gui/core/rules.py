"""The rules of the :class:`~deconv_gui.core.params.Params` schema: kinds, ranges, checks.

A :class:`Rule` says how one field is checked, stored and offered on the command line;
:func:`check_value` checks and normalises a value by its rule and :func:`parse_value`
reads one from command-line text. :mod:`deconv_gui.core.params` attaches a rule to each
field of ``Params`` and re-exports these names.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .geometry import PADDING_NAMES, as_padding
from .registry import ALL_METHODS

__all__ = [
    "GEOMETRY_MAX",
    "INT_MAX",
    "KINDS",
    "Rule",
    "check_value",
    "fields_from_dict",
    "fields_to_dict",
    "is_int",
    "is_real",
    "parse_value",
]

#: The kinds of value a field can hold (see :class:`Rule`).
KINDS: tuple[str, ...] = (
    "weights",
    "floats",
    "pair",
    "optional_pair",
    "padding",
    "methods",
    "float",
    "int",
    "optional_int",
    "str",
    "bool",
    "choice",
)


#: The largest seed (and other int) a Qt spin box can hold: ``2**31 − 1``.
INT_MAX = 2**31 - 1


#: The largest stride, padding and dilation: far beyond any useful set-up, and what the
#: window's spin boxes hold (a bound here keeps every accepted value editable there).
GEOMETRY_MAX = 1024


@dataclass(frozen=True)
class Rule:
    """How one ``Params`` field is checked, stored and offered on the command line.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    minimum, maximum : float or None
        Inclusive bounds (None: unbounded); for pairs, of each element.
    positive : bool
        The value must be strictly greater than ``minimum``.
    help : str
        One line for ``--help`` and tooltips.
    cli : str or None
        The command-line flag (None: not an option).
    group : str
        Which commands offer the flag: ``"problem"`` (all), ``"solver"`` (``run`` and
        ``code``) or ``"run"``.
    metavar : str or None
        Shown in ``--help``.
    choices : tuple of str
        The allowed values of a ``"choice"`` field.
    """

    kind: str
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    help: str = ""
    cli: str | None = None
    group: str = "problem"
    metavar: str | None = None
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        """The allowed range in words: ``"an int from 0 to 2147483647"``."""
        noun = {
            "float": "a finite number",
            "int": "an int",
            "optional_int": "an int or None",
            "pair": "an int or an (h, w) pair of ints",
            "optional_pair": "None, an int or an (h, w) pair of ints",
            "padding": "an int, an (h, w) pair or ((top, bottom), (left, right)) of ints",
            "floats": "a number or a sequence of numbers",
            "methods": f"a sequence of names among {', '.join(ALL_METHODS)}",
            "str": "a string",
            "bool": "True or False",
            "weights": "a 3-D or 4-D array of numbers",
            "choice": f"one of {', '.join(self.choices)}",
        }[self.kind]
        low, high = self.minimum, self.maximum
        if self.kind == "padding":
            return (
                f"{noun} from {_num(low or 0)} to {_num(high or 0)}, or {', '.join(PADDING_NAMES)}"
            )
        if low is not None and high is not None and not self.positive:
            return f"{noun} from {_num(low)} to {_num(high)}"
        if low is not None and high is not None:
            return f"{noun} > {_num(low)} and <= {_num(high)}"
        if low is not None:
            return f"{noun} {'>' if self.positive else '>='} {_num(low)}"
        if high is not None:
            return f"{noun} <= {_num(high)}"
        return noun


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def parse_value(name: str, rule_: Rule, text: str) -> Any:
    """Read the command-line ``text`` of field ``name`` by ``rule_`` and check it.

    See :func:`~deconv_gui.core.params.parse_text` (which finds the rule by name).
    """
    text = str(text).strip()
    try:
        if rule_.kind == "padding" and text.lower() in (*PADDING_NAMES, "same_upper"):
            value: Any = text
        elif rule_.kind == "padding":
            sides = [int(v) for v in text.replace("×", ",").replace("x", ",").split(",")]
            if len(sides) not in (1, 2, 4):
                raise ValueError
            if len(sides) == 4:  # T,B,L,R: top, bottom, left, right
                value = ((sides[0], sides[1]), (sides[2], sides[3]))
            else:
                value = tuple(sides) * (3 - len(sides))
        elif rule_.kind == "optional_pair" and text.lower() in ("none", "auto"):
            value = None
        elif rule_.kind in ("pair", "optional_pair"):
            parts = text.replace("×", ",").replace("x", ",").split(",")
            if len(parts) not in (1, 2):
                raise ValueError
            values = tuple(int(v) for v in parts)
            value = values * 2 if len(values) == 1 else values
        elif rule_.kind == "floats":
            value = tuple(float(v) for v in text.split(","))
            if len(value) == 1:  # one number: broadcast, as Params does with a number
                value = value[0]
        elif rule_.kind == "methods":
            value = tuple(v.strip() for v in text.split(",") if v.strip())
        elif rule_.kind == "float":
            value = float(text)
        elif rule_.kind == "int":
            value = int(text)
        elif rule_.kind == "optional_int":
            value = None if text.lower() in ("none", "auto") else int(text)
        elif rule_.kind == "bool":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            value = text.lower() in ("true", "1", "yes")
        else:
            value = text
        checked = check_value(name, rule_, value)
    except ValueError:
        raise ValueError(f"{name} must be {rule_.describe()}, got {text!r}") from None
    # one number stays a number: Params broadcasts it to every output channel
    return checked[0] if rule_.kind == "floats" and not isinstance(value, tuple) else checked


def is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _in_range(name: str, rule_: Rule, value: float, shown: Any) -> None:
    low, high = rule_.minimum, rule_.maximum
    if (
        (low is not None and (value < low or (rule_.positive and value == low)))
        or (high is not None and value > high)
        # Python ints of any size are finite (np.isfinite refuses those beyond int64)
        or not (isinstance(value, (int, np.integer)) or np.isfinite(value))
    ):
        raise ValueError(f"{name} must be {rule_.describe()}, got {shown!r}")


def check_value(name: str, rule_: Rule, value: Any) -> Any:
    """``value`` checked against ``rule_`` and normalised (tuples, plain Python types)."""
    kind = rule_.kind
    wrong = ValueError(f"{name} must be {rule_.describe()}, got {value!r}")
    if kind == "float":
        if not is_real(value):
            raise wrong
        _in_range(name, rule_, float(value), value)
        return float(value)
    if kind == "int" or (kind == "optional_int" and value is not None):
        if not is_int(value):
            raise wrong
        _in_range(name, rule_, int(value), value)
        return int(value)
    if kind == "optional_int":
        return None
    if kind == "optional_pair" and value is None:
        return None
    if kind in ("pair", "optional_pair"):
        pair = (value, value) if is_int(value) else value
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise wrong
        if not all(is_int(v) for v in pair):
            raise wrong
        for v in pair:
            _in_range(name, rule_, int(v), value)
        return (int(pair[0]), int(pair[1]))
    if kind == "padding":
        return _check_padding(name, rule_, value)
    if kind == "floats":
        items = [value] if is_real(value) else value
        if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
            raise wrong
        items = list(np.asarray(items, dtype=object).reshape(-1))
        if not items or not all(is_real(v) and np.isfinite(float(v)) for v in items):
            raise wrong
        return tuple(float(v) for v in items)
    if kind == "methods":
        items = (value,) if isinstance(value, str) else value
        if not hasattr(items, "__iter__") or not all(isinstance(m, str) for m in items):
            raise wrong
        items = tuple(items)
        unknown = [m for m in items if m not in ALL_METHODS]
        if unknown:
            raise ValueError(f"{name} must be among {', '.join(ALL_METHODS)}; unknown: {unknown}")
        return tuple(m for m in ALL_METHODS if m in items)
    if kind == "str":
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            raise wrong
        return value
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise wrong
        return bool(value)
    if kind == "choice":
        if not isinstance(value, str) or value not in rule_.choices:
            raise wrong
        return value
    raise ValueError(f"{name} has an unknown kind {kind!r}")


def _check_padding(name: str, rule_: Rule, value: Any) -> Any:
    """A padding name (lower case), an ``(h, w)`` pair when each axis is symmetric, else
    ``((top, bottom), (left, right))``."""
    try:
        padding = as_padding(value)
    except ValueError:
        raise ValueError(f"{name} must be {rule_.describe()}, got {value!r}") from None
    if isinstance(padding, str):
        return padding
    for side in (*padding[0], *padding[1]):
        _in_range(name, rule_, side, value)
    (top, bottom), (left, right) = padding
    return (top, left) if top == bottom and left == right else padding


def fields_to_dict(params: Any) -> dict[str, Any]:
    """The fields of ``params`` as JSON-ready values (see ``Params.to_dict``)."""
    out: dict[str, Any] = {}
    for f in fields(params):
        value = getattr(params, f.name)
        if f.name == "weights":
            out["weights_shape"] = list(value.shape)
            value = value.tolist()
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def fields_from_dict(cls: Any, data: Any) -> Any:
    """``cls`` (``Params``) rebuilt from :func:`fields_to_dict` output (see ``Params.from_dict``).

    Raises
    ------
    ValueError
        Naming the field (``params.<name>``), on a missing ``weights``, an unknown field,
        a wrong type or a value out of range.
    """
    if not isinstance(data, dict):
        raise ValueError(f"params must be a JSON object, got {type(data).__name__}")
    known = {f.name for f in fields(cls)} | {"weights_shape"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"params has unknown fields: {', '.join(map(str, unknown))}")
    if "weights" not in data:
        raise ValueError("params.weights is missing")
    if data["weights"] is None or isinstance(data["weights"], (str, bytes, dict, int, float)):
        # np.array(None) is a 0-d array: the refusal would blame its shape, not its type
        got = "null" if data["weights"] is None else type(data["weights"]).__name__
        raise ValueError(f"params.weights must be nested lists of numbers, got {got}")
    try:
        weights = np.array(data["weights"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("params.weights must be nested lists of numbers") from None
    shape = data.get("weights_shape")
    if shape is not None and list(weights.shape) != shape:
        raise ValueError(
            f"params.weights has shape {list(weights.shape)} but weights_shape says {shape}"
        )
    kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    kwargs.pop("weights_shape", None)
    kwargs["weights"] = weights
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise ValueError(f"params.{exc}") from None
