"""The window's Document: what the widgets show, stored in the settings and shown again.

Offscreen; every settings file is a temporary one. Nothing is timed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.core import Params, make_filter
from deconv_gui.document import Display, Document, Layer
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000  # ms; generous because the 2 CPU cores are shared


def _settings(tmp_path) -> QtCore.QSettings:
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


def _idle(qtbot, window):
    qtbot.waitUntil(lambda: window.result is not None and window.live.idle, timeout=TIMEOUT)


def test_the_widgets_write_into_the_document(qtbot, tmp_path):
    window = MainWindow(_settings(tmp_path), restore=False)
    try:
        _idle(qtbot, window)
        window.geometry_editor.set_values(stride=(3, 1))
        window.filter_editor.set_preset("random", seed=4)
        window.menu_actions.layout_row.setChecked(True)
        doc = window.sync.read()
        assert doc is window.document and doc.params == window.current_params()
        assert doc.params.stride == (3, 1)
        assert (doc.layer.preset, doc.layer.filter_seed) == ("random", 4)
        assert doc.display.layout == "row"
        assert doc.image.kind == "sample" and doc.image.source == window.loaded.source
        assert doc.image.shape == window.loaded.pixels.shape
    finally:
        delete_now(window)


def test_the_settings_are_the_document_and_come_back(qtbot, tmp_path):
    settings = _settings(tmp_path)
    first = MainWindow(settings, restore=True)
    try:
        _idle(qtbot, first)
        first.set_work_size(128)
        first.load_sample("coffee")
        first.apply_params(Params(make_filter("box", in_channels=3), stride=3, reg=0.5))
        first.filter_editor.set_same_in_all_channels(True)
        first.menu_actions.layout_row.setChecked(True)
        first.menu_actions.scaling_auto.setChecked(True)
        _idle(qtbot, first)
        saved = first.sync.read().copy()
        first.close()  # saves the settings
    finally:
        delete_now(first)
    settings.sync()
    stored = Document.from_json(str(settings.value("last/document")))
    assert stored.layers == saved.layers and stored.display == saved.display
    assert not any(settings.contains(k) for k in ("last/params", "view/layout", "last/origin"))
    second = MainWindow(settings, restore=True)
    try:
        _idle(qtbot, second)
        restored = second.sync.read()
        assert restored.layers == saved.layers
        assert restored.display == Display("row", False, "auto", 0)
        assert restored.image == saved.image
        assert (saved.image.kind, saved.image.source, saved.image.work_size) == (
            "sample",
            "coffee",
            128,
        )
        assert second.loaded.source == "coffee" and second.loaded.pixels.shape[1] == 128
    finally:
        delete_now(second)


def test_settings_of_an_earlier_version_are_read_through_the_migration(qtbot, tmp_path):
    settings = _settings(tmp_path)
    params = Params(make_filter("sharpen", in_channels=3), stride=(1, 2), noise_seed=9)
    settings.setValue("last/params", json.dumps(params.to_dict()))
    settings.setValue("last/preset", "sharpen")
    settings.setValue("last/same_in_all", True)
    settings.setValue("last/origin_kind", "sample")
    settings.setValue("last/origin", "camera")
    settings.setValue("last/work_size", "128")
    settings.setValue("view/layout", "row")
    settings.sync()
    window = MainWindow(settings, restore=True)
    try:
        _idle(qtbot, window)
        doc = window.sync.read()
        assert (doc.params.stride, doc.params.noise_seed) == ((1, 2), 9)
        assert doc.layer.preset == "sharpen" and doc.layer.same_in_all
        assert doc.display.layout == "row" and window.panels.layout_mode == "row"
        assert window.loaded.source == "camera" and doc.image.work_size == 128
    finally:
        delete_now(window)


def test_a_document_a_widget_refuses_changes_nothing(qtbot, tmp_path):
    window = MainWindow(_settings(tmp_path), restore=False)
    try:
        _idle(qtbot, window)
        before = window.sync.read().copy()
        nine = Params(np.full((9, 9, 3, 1), 1 / 243))  # the editor shows at most 7×7
        too_large = Document(layers=(Layer(nine, preset="custom"),), display=Display("row"))
        with pytest.raises(ValueError):
            window.sync.show(too_large)
        after = window.sync.read()
        assert after.layers == before.layers and after.display == before.display
    finally:
        delete_now(window)


def test_stored_settings_that_cannot_be_read_are_said_and_change_nothing(qtbot, tmp_path):
    settings = _settings(tmp_path)
    settings.setValue("last/document", '{"version": 2, "selected": 5}')
    settings.sync()
    window = MainWindow(settings, restore=True)
    try:
        _idle(qtbot, window)
        assert "Could not restore the last settings" in window.last_message
        assert "selected" in window.last_message
        layer = window.sync.read().layer  # the window's start, which is the document's default
        assert layer.params.replace(image_source="") == Document().params
        assert (layer.preset, layer.filter_seed, layer.same_in_all) == ("gaussian", 0, True)
    finally:
        delete_now(window)
