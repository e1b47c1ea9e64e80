"""The window's form and stored settings go through the one Params schema."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore
from qtpy.QtWidgets import QDoubleSpinBox

from deconv_gui.core import Params, make_filter
from deconv_gui.core import params as schema
from deconv_gui.gui.controls.geometry import GeometryEditor
from deconv_gui.gui.controls.recon_options import ReconOptions
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 30_000
#: Fields the window sets itself rather than through a form.
NOT_IN_A_FORM = {"image_source", "ssim", "decoder_path"}  # decoder: File → Load decoder…


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    yield win
    delete_now(win)


def test_every_field_has_exactly_one_form(window):
    owned = [name for form in window.forms for name in form.FIELDS]
    assert len(owned) == len(set(owned))
    assert set(owned) | NOT_IN_A_FORM == {f.name for f in fields(Params)}


def test_window_starts_on_the_schemas_defaults(window):
    params = window.current_params()
    for name, value in schema.defaults().items():
        if name not in NOT_IN_A_FORM | {"time_limit"}:
            assert getattr(params, name) == schema.check(name, value), name
    # but a budget for the solve, so that a live update answers (the CLI has no limit)
    assert params.time_limit == schema.WINDOW_TIME_LIMIT > schema.defaults()["time_limit"]
    assert "window" in schema.rule("time_limit").help


def test_options_hold_every_value_the_schema_accepts_at_its_bounds(qtbot):
    options = ReconOptions()
    qtbot.addWidget(options)
    for name in ("max_iter", "noise_sigma", "photons", "noise_seed", "prior_iter", "time_limit"):
        rule = schema.rule(name)
        for value in (rule.minimum, rule.maximum):
            value = int(value) if rule.kind != "float" else float(value)
            options.set_values(**{name: value})
            assert options.values()[name] == value, (name, value)
    # reg has no upper bound, prior_lam is > 0: the smallest and largest floats they take
    for name, values in {
        "reg": (0.0, 5e-324, 3e-9, 1e3, 1.7e308),
        "prior_lam": (5e-324, 2.5e-9, schema.rule("prior_lam").maximum),
        "time_limit": (0.0, 1e-9, 0.3333, 2.0),  # exact, though the spin box rounds
    }.items():
        for value in values:
            options.set_values(**{name: value})
            assert options.values()[name] == value, (name, value)
    for value in (True, False):
        options.set_values(prior_nonneg=value)
        assert options.values()["prior_nonneg"] is value
    options.set_values(time_limit=1e-9)  # shown as the smallest limit, not as "none"
    assert options.findChild(QDoubleSpinBox, "time_limit").text() != "none"
    options.set_values(noise_sigma=1.234567e-7, rtol=3.3e-7, reg=2.5e-9, photons=12.345678)
    assert options.noise_sigma() == 1.234567e-7 and options.photons() == 12.345678
    assert options.rtol() == 3.3e-7 and options.reg() == 2.5e-9
    bad_values = (
        {"noise_seed": -1},
        {"noise_seed": "abc"},
        {"max_iter": 0},
        {"rtol": 0.0},
        {"prior_lam": 0.0},
        {"prior_iter": 0},
        {"photons": -1.0},
        {"prior_nonneg": 1},
        {"time_limit": -1.0},
        {"time_limit": float("nan")},
    )
    for bad in bad_values:
        with pytest.raises(ValueError, match=next(iter(bad))):
            options.set_values(**bad)


def test_geometry_holds_every_value_the_schema_accepts(qtbot):
    geometry = GeometryEditor()
    qtbot.addWidget(geometry)
    for mode in schema.rule("padding_mode").choices:
        geometry.set_values(padding_mode=mode)
        assert geometry.values()["padding_mode"] == mode == geometry.mode_control().currentText()
    with pytest.raises(ValueError, match="padding_mode"):
        geometry.set_values(padding_mode="mirror")
    for name in geometry.FIELDS:
        rule = schema.rule(name)
        if rule.kind == "choice":
            continue  # the padding mode, above
        if rule.kind == "float":  # the leaky slope: its exact value, at its bounds
            for value in (1e-7, 0.3, float(rule.maximum)):
                geometry.set_values(**{name: value})
                assert geometry.values()[name] == value
            with pytest.raises(ValueError, match=name):
                geometry.set_values(**{name: 0.0})
            continue
        for value in ((int(rule.minimum), int(rule.maximum)), (int(rule.maximum), 3)):
            geometry.set_values(**{name: value})
            assert geometry.values()[name] == value
        with pytest.raises(ValueError, match=name):
            geometry.set_values(**{name: int(rule.maximum) + 1})
        with pytest.raises(ValueError, match=name):
            Params(make_filter("gaussian"), **{name: int(rule.maximum) + 1})


def test_every_field_round_trips_through_the_stored_settings(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "remember.ini"), QtCore.QSettings.Format.IniFormat)
    rng = np.random.default_rng(5)
    chosen = Params(
        rng.standard_normal((3, 2, 3, 2)),
        bias=(0.125, -1 / 3),
        stride=(3, 1),
        padding=(0, 2),
        dilation=(2, 1),
        methods=("transposed", "normalized_transposed"),  # the window always shows Aᵀ
        reg=3.7e-4,
        rtol=1e-6,
        max_iter=None,
        noise_sigma=0.0123456789,
        photons=250.5,
        noise_seed=2**31 - 1,
        prior_lam=3.3e-9,
        prior_iter=77,
        prior_nonneg=True,
        time_limit=0.125,
    )
    first = MainWindow(settings, restore=True)
    try:
        first.apply_params(chosen)
        first.close()  # saves the settings
    finally:
        delete_now(first)
    second = MainWindow(settings, restore=True)
    try:
        restored = second.current_params()
        assert restored.replace(image_source="") == chosen
        assert restored.weights.tobytes() == chosen.weights.tobytes()
    finally:
        delete_now(second)


def test_a_corrupt_stored_params_falls_back_to_the_defaults(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "bad.ini"), QtCore.QSettings.Format.IniFormat)
    settings.setValue("last/params", '{"weights": [[[1.0]]], "noise_seed": -1}')
    settings.sync()
    win = MainWindow(settings, restore=True)
    try:
        assert win.current_params().noise_seed == 0
    finally:
        delete_now(win)


def test_apply_params_accepts_insight_methods_and_several_output_channels(window):
    params = Params(make_filter("gaussian", in_channels=3, out_channels=2))
    window.apply_params(params.replace(methods=("pinv", "coverage")))
    assert window.current_params().bias == (0.0, 0.0)
    assert window.recon_options.methods() == ("transposed", "pinv")
