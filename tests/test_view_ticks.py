"""Log-axis tick labels (Qt-free): one style per axis, plain numbers or powers of ten."""

from __future__ import annotations

import re

import numpy as np
import pytest

from deconv_gui.view.ticks import PLAIN, POWERS, log_tick_label, log_tick_labels, log_tick_style

POWER = re.compile(r"^(\d(\.\d+)?·)?10⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+$")
DECIMAL = re.compile(r"^\d+(\.\d+)?$")


@pytest.mark.parametrize(
    ("low", "high", "style"),
    [
        (-3, 4, PLAIN),  # 0.001 … 10000: written out
        (np.log10(0.17), np.log10(1.05), PLAIN),  # singular values of a blur
        (-7.2, 0.4, POWERS),  # an L-curve's residuals 6e-8 … 2.5
        (-0.5, 5.3, POWERS),  # 0.3 … 2e5
        (-16, -15, POWERS),
    ],
)
def test_an_axis_has_one_style_from_its_range(low, high, style):
    assert log_tick_style(low, high) == style
    assert log_tick_style(high, low) == style  # an inverted axis too


def test_every_tick_of_an_axis_reads_in_its_style():
    decades = np.arange(-7, 2)
    values = [m * 10.0**k for k in decades for m in range(1, 10)]
    powers = [log_tick_label(v, POWERS) for v in values]
    assert all(POWER.match(text) for text in powers), powers
    assert powers[:3] == ["10⁻⁷", "2·10⁻⁷", "3·10⁻⁷"] and "10⁰" in powers and "10¹" in powers
    # each label reads back as its value (independent parse of the superscripts)
    digits = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
    for text, value in zip(powers, values, strict=True):
        mantissa, _, power = text.rpartition("10")
        back = float(mantissa.rstrip("·") or 1) * 10.0 ** int(power.translate(digits))
        assert back == pytest.approx(value, rel=1e-12)
    plain = [log_tick_label(m * 10.0**k, PLAIN) for k in range(-3, 5) for m in range(1, 10)]
    assert all(DECIMAL.match(text) for text in plain), plain
    assert plain[0] == "0.001" and plain[9] == "0.01" and "10000" in plain and "1" in plain
    assert [float(t) for t in plain[:3]] == [0.001, 0.002, 0.003]


def test_odd_values_are_blank_or_refused():
    assert log_tick_label(0.0, PLAIN) == "" and log_tick_label(float("nan"), POWERS) == ""
    with pytest.raises(ValueError, match="style"):
        log_tick_label(1.0, "engineering")


@pytest.mark.parametrize(
    ("values", "style"),
    [
        ([100.2, 100.4, 100.6, 100.8], PLAIN),  # a solution norm that barely moves
        ([60.5, 61.0, 61.5], PLAIN),
        ([1.2e5, 1.205e5, 1.21e5], POWERS),
        ([1e-6, 1e-4, 1e-2, 1.0], POWERS),
    ],
)
def test_labels_keep_apart_the_ticks_of_a_narrow_range(values, style):
    labels = log_tick_labels(values, style)
    assert len(set(labels)) == len(values), labels
    pattern = DECIMAL if style == PLAIN else POWER
    assert all(pattern.match(text) for text in labels), labels
    if style == PLAIN:  # they read back as the values
        assert [float(t) for t in labels] == pytest.approx(values)
