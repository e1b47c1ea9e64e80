"""JSON as the session files and the stored settings write it: strict, one key per line.

(Moved out of :mod:`deconv_gui.io.session`, which re-exports :func:`dumps_json`.)

Examples
--------
>>> print(dumps_json({"a": [1, 2.5], "b": {"c": None}}), end="")
{
 "a": [1, 2.5],
 "b": {
  "c": null
 }
}
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps_json"]


def _is_plain_list(value: Any) -> bool:
    """True for (nested) lists holding only numbers, strings, booleans and None."""
    if isinstance(value, list):
        return all(_is_plain_list(v) for v in value)
    return not isinstance(value, dict)


def _format_json(value: Any, depth: int) -> str:
    if isinstance(value, dict) and value:
        pad = " " * (depth + 1)
        items = [
            f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_format_json(v, depth + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
    if isinstance(value, list) and value and not _is_plain_list(value):
        pad = " " * (depth + 1)
        items = [pad + _format_json(v, depth + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * depth + "]"
    return json.dumps(value, allow_nan=False, ensure_ascii=False)


def dumps_json(document: Any) -> str:
    """Strict JSON (no NaN/inf), one key per line, lists of plain values on one line.

    Floats are written with Python's shortest round-trip ``repr``, so weights read back
    to the bit.

    Raises
    ------
    ValueError
        If ``document`` holds something JSON cannot represent.
    """
    try:
        return _format_json(document, 0) + "\n"
    except (TypeError, ValueError) as exc:
        raise ValueError(f"data is not JSON-serialisable: {exc}") from None
