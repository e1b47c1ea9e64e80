"""The window's "with a prior" controls, photons, the wide reg box and the "auto" buttons."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore
from qtpy.QtWidgets import QCheckBox, QDoubleSpinBox, QLineEdit, QPushButton, QSlider, QSpinBox

from deconv_gui.core import (
    ConvOperator,
    Params,
    choose_reg,
    choose_tv_lam,
    make_filter,
    run_pipeline,
)
from deconv_gui.core import params as schema
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    win.set_work_size(40)  # small: every prior solve takes milliseconds
    _idle(qtbot, win)
    yield win
    win.close()
    delete_now(win)


def _idle(qtbot, win):
    qtbot.waitUntil(lambda: win.result is not None and win.live.idle, timeout=TIMEOUT)


def _shown(qtbot, win, **expected):
    """Wait until the result on screen was computed with ``expected`` field values."""

    def done() -> bool:
        result = win.result
        return (
            result is not None
            and win.live.idle
            and all(getattr(result.params, k) == v for k, v in expected.items())
        )

    qtbot.waitUntil(done, timeout=TIMEOUT)
    return win.result


def _type(box: QLineEdit, text: str) -> None:
    box.setFocus()
    box.setText(text)
    box.editingFinished.emit()


def test_each_prior_widget_edits_its_field_and_the_panels_follow(qtbot, window):
    options = window.recon_options
    find = options.priors.findChild
    find(QCheckBox, "method_tv").setChecked(True)
    find(QCheckBox, "method_richardson_lucy").setChecked(True)
    _type(find(QLineEdit, "prior_lam_box"), "3.5e-3")
    find(QSpinBox, "prior_iter").setValue(23)
    find(QCheckBox, "prior_nonneg").setChecked(True)
    options.findChild(QDoubleSpinBox, "photons").setValue(400.0)
    _type(options.findChild(QLineEdit, "reg_box"), "2.5e-7")
    result = _shown(
        qtbot, window, prior_lam=3.5e-3, prior_iter=23, prior_nonneg=True, photons=400.0
    )
    params = window.current_params()
    assert params.reg == 2.5e-7 and params.methods[-2:] == ("tv", "richardson_lucy")
    assert result.params == params
    fresh = run_pipeline(window.loaded.pixels, params)
    np.testing.assert_array_equal(window.panels.panel("forward").data, fresh.forward_output)
    for name in ("pinv", "tv", "richardson_lucy"):
        shown = window.panels.panel(name).data
        np.testing.assert_allclose(shown, getattr(fresh, name), rtol=1e-5, atol=1e-6)
    assert fresh.tv.min() >= 0  # x ≥ 0 reached the TV solve


def test_the_lam_slider_is_logarithmic_and_bad_text_changes_nothing(qtbot, window):
    priors = window.recon_options.priors
    slider = priors.findChild(QSlider, "prior_lam")
    box = priors.findChild(QLineEdit, "prior_lam_box")
    slider.setValue(0)
    assert priors.values()["prior_lam"] == pytest.approx(1e-7, rel=1e-12)
    slider.setValue(slider.maximum())
    assert priors.values()["prior_lam"] == pytest.approx(10.0, rel=1e-12)
    for bad in ("0", "-1", "abc", "2e6", "nan"):
        _type(box, bad)
        assert priors.values()["prior_lam"] == pytest.approx(10.0, rel=1e-12), bad
        assert "prior_lam" in box.toolTip()
    _type(box, "1e6")  # the schema's largest value, beyond the slider's end
    assert priors.values()["prior_lam"] == 1e6 and slider.value() == slider.maximum()


@pytest.mark.parametrize("reg", [3e-9, 1e3, 5e-324, 1e300])
def test_a_session_with_any_reg_and_the_prior_fields_round_trips(qtbot, window, tmp_path, reg):
    chosen = window.current_params().replace(
        reg=reg,
        prior_lam=7.25e-9,
        prior_iter=100_000,
        prior_nonneg=True,
        photons=1e12,
        noise_sigma=0.0,
    )
    window.apply_params(chosen)
    path = window.save_session_to(tmp_path / "any.deconv.json")
    assert path is not None
    window.apply_params(Params(make_filter("gaussian")))
    assert window.current_params().reg == 0.0
    assert window.open_session(path), window.last_message
    restored = window.current_params()
    for name in ("reg", "prior_lam", "prior_iter", "prior_nonneg", "photons"):
        assert getattr(restored, name) == getattr(chosen, name), name


def test_the_reg_box_holds_the_schemas_bounds(qtbot, window):
    options = window.recon_options
    box = options.findChild(QLineEdit, "reg_box")
    rule = schema.rule("reg")
    assert rule.minimum == 0 and rule.maximum is None  # any finite number >= 0
    for text, value in (("0", 0.0), ("1.7e308", 1.7e308), ("3e-9", 3e-9), ("1000", 1e3)):
        _type(box, text)
        assert options.reg() == value
    _type(box, "-1e-3")
    assert options.reg() == 1e3  # refused, unchanged
    _type(box, "inf")
    assert options.reg() == 1e3


def _op(result):
    return ConvOperator(result.geometry, result.params.weights.astype(result.image.dtype))


def test_reg_auto_sets_what_choose_reg_returns(qtbot, window):
    options = window.recon_options
    options.set_values(noise_sigma=0.02)
    result = _shown(qtbot, window, noise_sigma=0.02)
    with qtbot.waitSignal(window.auto_weights.chosen, timeout=TIMEOUT) as chosen:
        options.findChild(QPushButton, "reg_auto").click()
        assert window.auto_weights.running == "reg"
        assert options.auto_reg.text() == "stop"
    expected = choose_reg(result.forward_output, _op(result), result.params.bias, sigma=0.02).reg
    assert chosen.args == ["reg", expected] and options.reg() == expected > 0
    assert "discrepancy" in window.last_message and options.auto_reg.text() == "auto"
    _shown(qtbot, window, reg=expected)
    # photon noise: no single σ, so generalized cross-validation
    options.set_values(photons=50.0)
    result = _shown(qtbot, window, photons=50.0)
    with qtbot.waitSignal(window.auto_weights.chosen, timeout=TIMEOUT) as chosen:
        options.auto_reg.click()
    expected = choose_reg(result.forward_output, _op(result), result.params.bias, rule="gcv").reg
    assert options.reg() == expected and "GCV" in window.last_message


def test_an_edit_stops_auto_and_lam_auto_needs_sigma(qtbot, window):
    options = window.recon_options
    options.set_values(noise_sigma=0.0, photons=0.0)
    _shown(qtbot, window, noise_sigma=0.0)
    before = options.priors.values()["prior_lam"]
    options.priors.auto_lam.click()
    assert window.auto_weights.running is None and "σ" in window.last_message
    assert options.priors.values()["prior_lam"] == before
    options.auto_reg.click()
    assert window.auto_weights.running == "reg"
    options.set_values(max_iter=150)  # an edit while it runs: stopped, reg unchanged
    qtbot.waitUntil(lambda: window.auto_weights.running is None, timeout=TIMEOUT)
    assert options.reg() == 0.0


def test_lam_auto_sets_what_choose_tv_lam_returns(qtbot, window):
    options = window.recon_options
    options.set_values(noise_sigma=0.03, prior_iter=60)
    result = _shown(qtbot, window, noise_sigma=0.03, prior_iter=60)
    with qtbot.waitSignal(window.auto_weights.chosen, timeout=TIMEOUT) as chosen:
        options.priors.findChild(QPushButton, "prior_lam_auto").click()
    expected = choose_tv_lam(
        result.forward_output, _op(result), result.params.bias, sigma=0.03, max_iter=60
    ).lam
    assert chosen.args == ["prior_lam", expected]
    assert options.priors.values()["prior_lam"] == expected


def test_the_table_and_status_show_the_priors_iterations(qtbot, window):
    options = window.recon_options
    options.set_values(methods=("transposed", "tv", "richardson_lucy"), prior_iter=2)
    result = _shown(qtbot, window, prior_iter=2, methods=("transposed", "tv", "richardson_lucy"))
    rows = {row["name"]: row for row in window.metrics.rows}
    for name in ("tv", "richardson_lucy"):
        assert rows[name]["iterations"] == result.prior_reports[name].iterations == 2
    assert rows["tv"]["converged"] is False and rows["richardson_lucy"]["converged"] is True
    assert "(not converged)" in window.metrics.text().splitlines()[2]  # the TV row
    assert "TV prior NOT converged in 2 iterations" in window.state_label.text()
    options.set_values(prior_iter=5000)
    result = _shown(qtbot, window, prior_iter=5000)
    assert result.prior_reports["tv"].converged and window.state_label.text() == "ready"


def test_the_lost_view_shows_what_the_prior_invented(qtbot, window):
    window.recon_options.set_values(methods=("transposed", "pinv", "tv"), noise_sigma=0.01)
    window.insight.panels_action.trigger()
    qtbot.waitUntil(
        lambda: window.live.idle and window.result.invented is not None, timeout=TIMEOUT
    )
    result = window.result
    assert {"tv", "nullspace"} <= set(result.params.methods)
    panel = window.panels.panel("invented")
    assert not panel.isHidden()
    fresh = run_pipeline(window.loaded.pixels, result.params)
    np.testing.assert_allclose(panel.data, fresh.invented, atol=1e-6)
    assert "Invented by the prior (TV)" in panel.title_text and "% of ‖x̂‖²" in panel.title_text
    window.recon_options.set_values(methods=("transposed", "pinv"))  # no prior: hidden
    qtbot.waitUntil(lambda: window.live.idle and window.result.tv is None, timeout=TIMEOUT)
    assert window.result.nullspace is not None and panel.isHidden()


def test_the_progress_bar_names_the_method_that_iterates(qtbot, window):
    options = window.recon_options
    seen = []
    # every progress call reported: a quick solve must not fall between two reports
    window.live.runner._progress_interval = 0.0
    window.live.progress.connect(lambda it, value, method: seen.append(method))
    options.set_values(methods=("transposed", "pinv", "tv"), prior_iter=400)
    _shown(qtbot, window, prior_iter=400)
    assert "tv" in seen and "pinv" in seen
    assert seen.index("pinv") < seen.index("tv")  # in the registry's order
    window.feedback._on_progress(7, 2e-5, "tv")
    assert options.progress_text() == "TV prior: iteration 7 / 400, change 2e-5"
    assert window.state_label.text() == "TV prior: iteration 7 of at most 400"
    window.feedback._on_progress(3, 1e-5, "pinv")
    assert options.progress_text() == "pinv: iteration 3, residual 1e-5"


def test_ctrl_z_in_a_value_box_is_the_windows_undo(qtbot, window):
    box = window.recon_options.findChild(QLineEdit, "reg_box")
    _type(box, "0.125")
    _shown(qtbot, window, reg=0.125)
    box.setFocus()
    qtbot.keyClick(box, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.recon_options.reg() == 0.0, timeout=TIMEOUT)
