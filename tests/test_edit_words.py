"""The words and merge keys of undo steps (deconv_gui.view.edits), without Qt."""

from __future__ import annotations

import numpy as np

from deconv_gui.core import INSIGHT_METHODS, Params, make_filter
from deconv_gui.view.edits import Change, describe_changes, summarise

BASE = Params(make_filter("gaussian", in_channels=3))
NAMES = ["channel R", "channel G", "channel B"]


def _one(after: Params, before: Params = BASE) -> Change:
    changes = describe_changes(before, after, NAMES)
    assert len(changes) == 1, changes
    return changes[0]


def test_nothing_changed_is_no_change():
    assert describe_changes(BASE, BASE.replace(image_source="x.png", ssim=False)) == []


def test_numbers_are_named_and_keyed_by_field():
    assert _one(BASE.replace(stride=3)) == Change("stride 2 → 3", "stride")
    assert _one(BASE.replace(padding=(1, 0))) == Change("padding 1 → 1×0", "padding")
    assert _one(BASE.replace(max_iter=None)) == Change("max iter 200 → auto", "max_iter")
    assert _one(BASE.replace(noise_sigma=0.01)) == Change("noise σ 0 → 0.01", "noise_sigma")


def test_choices_and_methods_never_merge():
    assert _one(BASE.replace(padding_mode="reflect")) == Change(
        "padding mode zeros → reflect", None
    )
    assert _one(BASE.replace(methods=("transposed",))).text == "hide pseudo-inverse A⁺"
    assert _one(BASE.replace(methods=("transposed",))).key is None
    shown = BASE.replace(methods=(*BASE.methods, "normalized_transposed", *INSIGHT_METHODS))
    assert _one(shown).text == "show lost-information panels"
    assert _one(BASE, shown).text == "hide lost-information panels"


def test_one_filter_tap_names_its_channel_and_merges_with_itself():
    weights = BASE.weights.copy()
    weights[0, 1, 2, 0] = 0.5
    change = _one(BASE.replace(weights=weights))
    old = BASE.weights[0, 1, 2, 0]
    assert change.text == f"filter channel B [0,1] {old:.4g} → 0.5"
    assert change.key == ("tap", 0, 1, 0, (2,))
    weights[0, 1, :, 0] = 0.5  # "same in all channels"
    assert _one(BASE.replace(weights=weights)).text.startswith("filter all channels [0,1]")


def test_filter_shape_and_many_values():
    big = Params(make_filter("gaussian", size=5, in_channels=3))
    assert _one(big) == Change("kernel size 3×3 → 5×5", "kernel size")
    two = Params(make_filter("gaussian", in_channels=3, out_channels=2))
    assert _one(two) == Change("C_out 1 → 2", "c_out")
    assert _one(BASE.replace(weights=BASE.weights * 2)).text == "filter weights (27 values)"
    assert _one(BASE.replace(weights=BASE.weights * 2)).key is None


def test_bias_of_one_output():
    two = Params(make_filter("box", in_channels=3, out_channels=2))
    change = _one(two.replace(bias=(0.0, 0.25)), two)
    assert change == Change("bias out 1 0 → 0.25", ("bias", 1))  # numbered from 0


def test_several_changes_are_summarised():
    changes = describe_changes(BASE, BASE.replace(stride=1, padding=0, dilation=2, reg=0.1))
    assert [c.key for c in changes] == ["stride", "padding", "dilation", "reg"]
    assert summarise(changes) == "stride 2 → 1, padding 1 → 0 and 2 more"
    assert np.all(BASE.weights == make_filter("gaussian", in_channels=3))
