"""The activation in the window: its form row, panels, undo, stored settings, the seed view."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtWidgets

from deconv_gui.core import Params, make_filter
from deconv_gui.core.analysis import relu_loss
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000


def _idle(qtbot, window):
    qtbot.waitUntil(lambda: window.result is not None and window.live.idle, timeout=TIMEOUT)


@pytest.fixture
def settings(tmp_path):
    return QtCore.QSettings(str(tmp_path / "act.ini"), QtCore.QSettings.Format.IniFormat)


def _chosen() -> Params:
    weights = np.random.default_rng(3).standard_normal((3, 3, 3, 2))
    methods = ("transposed", "pinv", "deconvnet", "guided_backprop", "relu_preimage")
    return Params(
        weights,
        bias=(-0.2, 0.1),
        stride=2,
        activation="leaky_relu",
        leaky_slope=0.0123456,
        channel=1,
        methods=methods,
    )


def test_the_activation_reaches_the_panels_undo_and_the_stored_settings(qtbot, settings):
    first = MainWindow(settings, restore=True)
    try:
        first.show()
        _idle(qtbot, first)
        first.set_work_size(24)
        _idle(qtbot, first)
        first.apply_params(_chosen())
        _idle(qtbot, first)
        result = first.result
        assert result.params.activation == "leaky_relu"
        for name in ("deconvnet", "guided_backprop", "relu_preimage"):
            assert first.panels.panel(name).isVisible() and result.panel(name) is not None
        assert "Jᵀ(y − c)" in first.panels.panel("transposed").title_text
        assert "act(A x + b)" in first.panels.panel("forward").title_text
        combo = first.geometry_editor.findChild(QtWidgets.QComboBox, "activation")
        assert combo.toolTip().startswith("The activation after the layer")
        combo.setCurrentIndex(combo.findData("relu"))
        qtbot.wait(1)
        assert first.history.stack.undoText() == "activation leaky_relu → relu"
        first.history.undo()
        assert first.current_params().activation == "leaky_relu"
        first.close()  # saves the settings
    finally:
        delete_now(first)
    second = MainWindow(settings, restore=True)
    try:
        restored = second.current_params()
        assert restored.activation == "leaky_relu" and restored.leaky_slope == 0.0123456
        assert restored.channel == 1
    finally:
        delete_now(second)


def test_the_priors_are_greyed_out_with_an_activation_and_come_back_without(qtbot, settings):
    window = MainWindow(settings, restore=False)
    try:
        window.show()
        _idle(qtbot, window)
        window.set_work_size(24)
        _idle(qtbot, window)
        window.apply_params(_chosen().replace(methods=("transposed", "tv"), channel=None))
        _idle(qtbot, window)
        tv = window.findChild(QtWidgets.QCheckBox, "method_tv")
        assert tv.isChecked() and not tv.isEnabled() and "Needs activation none" in tv.toolTip()
        assert window.result.params.activation == "leaky_relu"
        assert "tv" not in window.current_params().methods and window.result.tv is None
        combo = window.geometry_editor.findChild(QtWidgets.QComboBox, "activation")
        combo.setCurrentIndex(combo.findData("none"))
        _idle(qtbot, window)
        qtbot.waitUntil(lambda: window.result.tv is not None, timeout=TIMEOUT)
        assert tv.isEnabled() and "tv" in window.current_params().methods
    finally:
        delete_now(window)


def test_the_seed_view_says_what_the_relu_adds(qtbot):
    from deconv_gui.core import ConvGeometry
    from deconv_gui.gui.insight.seed import SeedExampleView
    from deconv_gui.io import load_sample

    view = SeedExampleView()
    qtbot.addWidget(view)
    image = load_sample("seed_toy").pixels
    weights = make_filter("seed_question")
    geometry = ConvGeometry(image.shape, weights.shape, stride=2)
    view.show_problem(geometry, weights, image, 0.0)
    text = view.text.text()
    assert "the ReLU adds 0 to the 138 lost dimensions" in text
    op = Params(weights, stride=2, padding=0).operator(image.shape)
    half = relu_loss(op, image, -float(np.median(op.apply(image))))
    assert half.lost == 138 and half.added == half.zeros > 0
    assert f"138 + {half.added} = {half.free} directions are free" in text


def test_the_preimage_panel_says_how_many_zeros_and_free_directions(qtbot, settings):
    window = MainWindow(settings, restore=False)
    try:
        window.show()
        _idle(qtbot, window)
        window.set_work_size(24)
        _idle(qtbot, window)
        window.apply_params(_chosen().replace(activation="relu"))
        _idle(qtbot, window)
        preimage = window.result.metrics.preimage
        assert preimage is not None and preimage.activation == "relu"
        title = window.panels.panel("relu_preimage").title_text
        assert f"{preimage.n_inequalities:,} zeros" in title and "free" in title
    finally:
        delete_now(window)
