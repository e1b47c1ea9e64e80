"""The one check of a named choice: what it accepts, and the one-line refusal."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core.choices import check_choice


def test_a_choice_comes_back_as_given():
    value = np.str_("box")
    assert check_choice("preset", value, ("gaussian", "box")) is value
    assert check_choice("kind", "b", {"a": 1, "b": 2}) == "b"  # a dict's keys
    assert check_choice("name", None, ("a",), extra=(None,)) is None
    assert check_choice("preset", "custom", ("a",), extra=("custom",)) == "custom"


@pytest.mark.parametrize(
    ("value", "extra", "message"),
    [
        ("c", (), "mode must be one of a, b, got 'c'"),
        (None, (), "mode must be one of a, b, got None"),
        ("A", ("custom",), "mode must be one of a, b or custom, got 'A'"),
        (3, ("custom", None), "mode must be one of a, b, custom or None, got 3"),
        (["a"], (), r"mode must be one of a, b, got \['a'\]"),
        (np.array(["a", "b"]), (None,), "mode must be one of a, b or None, got array"),
    ],
)
def test_anything_else_is_refused_naming_the_argument_and_the_value(value, extra, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        check_choice("mode", value, ("a", "b"), extra=extra)
