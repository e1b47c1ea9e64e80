"""The network's panels are placed by the layer alone's rule (offscreen): the View menu's
layout is the user's for them too, and a narrow area gets more rows of fewer columns
(a tall image stands more abreast than a wide one). The rule itself is tested Qt-free in
``test_view_arrangement.py``; here the panels ask for what it says. Every wait is on a
condition; nothing is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("torch")
import test_gui_network as net
from test_gui_network import TIMEOUT, _through

from deconv_gui.core.network import PREFIX_METHODS, run_prefix
from deconv_gui.gui.network.panels import NETWORK_PANELS, NetworkPanels
from deconv_gui.gui.panels.grid import PANEL_FRAME
from deconv_gui.io.models import read_model
from deconv_gui.io.models.network import model_network
from deconv_gui.view.arrangement import arrange_panels

net_file, window = net.net_file, net.window  # the fixtures: a three-conv model, a window

pytestmark = pytest.mark.gui


def _expected(panels, mode):
    """What the rule says for the panels' area and image."""
    return arrange_panels(
        [key for key, *_ in NETWORK_PANELS],
        mode,
        reconstructions=("transposed", "deconvnet", "guided_backprop", "pinv"),
        insight=("nullspace", "erf"),
        size=(panels.width(), panels.height()),
        picture=panels.result.image.shape[:2],
        frame=PANEL_FRAME,
    )


def _placed(panels):
    """Each panel's (row, column) in the panels' grid layout, as Qt has them."""
    grid = panels.layout()
    out = {}
    for key, panel in panels.panels.items():
        row, col, _rows, _cols = grid.getItemPosition(grid.indexOf(panel))
        out[key] = (row, col)
    return out


def test_the_network_panels_follow_the_layout_rule_and_the_users_choice(qtbot, window):
    _through(qtbot, window)
    panels = window.network.panels
    window.resize(1280, 800)
    window.menu_actions.layout_grid.trigger()
    qtbot.waitUntil(lambda: panels.arrangement == _expected(panels, "grid"), timeout=TIMEOUT)
    grid = panels.arrangement
    assert panels.layout_mode == "grid" and grid.rows >= 3  # input and f(x₀) on a row
    assert {k: (r, c) for k, r, c, _ in grid.cells} == _placed(panels)
    window.menu_actions.layout_row.trigger()
    assert window.document.display.layout == "row" and panels.layout_mode == "row"
    qtbot.waitUntil(lambda: panels.arrangement == _expected(panels, "row"), timeout=TIMEOUT)
    assert [k for k, *_ in panels.arrangement.cells] == [k for k, *_ in NETWORK_PANELS]
    assert {k: (r, c) for k, r, c, _ in panels.arrangement.cells} == _placed(panels)
    wide_columns = panels.arrangement.columns
    # a narrow window: fewer columns, more rows
    window.resize(640, 800)
    qtbot.waitUntil(lambda: panels.width() < 700, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: panels.arrangement == _expected(panels, "row"), timeout=TIMEOUT)
    assert panels.arrangement.columns < wide_columns and panels.arrangement.rows > 2


def _prefix(path, shape):
    """The network's result at a random image of ``shape`` (rows, columns)."""
    x0 = np.random.default_rng(0).random((*shape, 3))
    network = model_network(read_model(path), net.LAYER, x0.shape)
    return run_prefix(network, x0, PREFIX_METHODS)


def test_a_tall_image_is_placed_otherwise_than_a_wide_one(qtbot, net_file):
    panels = NetworkPanels()
    qtbot.addWidget(panels)
    panels.resize(900, 700)
    panels.show()
    qtbot.waitUntil(lambda: panels.width() == 900, timeout=TIMEOUT)
    panels.set_layout_mode("row")
    placed = {}
    for shape in ((17, 26), (30, 12)):  # chelsea's 170×256 and a 300×120 portrait, small
        panels.show_result(_prefix(net_file[1], shape))
        assert panels.arrangement == _expected(panels, "row")
        assert {k: (r, c) for k, r, c, _ in panels.arrangement.cells} == _placed(panels)
        placed[shape] = panels.arrangement
    # the rule: wide pictures stack in three rows of three; tall ones stand four abreast
    assert (placed[17, 26].columns, placed[17, 26].rows) == (3, 3)
    assert (placed[30, 12].columns, placed[30, 12].rows) == (4, 2)
    panels.set_layout_mode("grid")
    assert panels.arrangement == _expected(panels, "grid")


def test_one_row_says_when_the_network_panels_wrap_it(qtbot, window):
    """The One row button speaks of the panels shown: "(wrapped)" and the reason for the
    network's eight in a laptop's window, the layer alone's own once it shows again."""
    _through(qtbot, window)
    panels, action = window.network.panels, window.menu_actions.layout_row
    window.resize(1280, 800)
    action.trigger()
    qtbot.waitUntil(lambda: panels.arrangement == _expected(panels, "row"), timeout=TIMEOUT)
    assert panels.arrangement.wrapped and panels.arrangement.rows > 1
    assert action.iconText() == "One row (wrapped)"
    assert action.toolTip() == action.statusTip() == panels.arrangement.note
    assert "8 p" in panels.arrangement.note and "wrapped into" in panels.arrangement.note
    window.menu_actions.layout_grid.trigger()  # the grid is as asked: nothing to say
    qtbot.waitUntil(lambda: panels.arrangement == _expected(panels, "grid"), timeout=TIMEOUT)
    assert action.iconText() == "One row" and action.toolTip().startswith("All panels")
    action.trigger()
    qtbot.waitUntil(lambda: action.iconText() == "One row (wrapped)", timeout=TIMEOUT)
    _through(qtbot, window, False)  # the layer alone's panels: their own arrangement

    def says_the_layer_alones() -> bool:
        note = window.panels.arrangement.note
        text = "One row (wrapped)" if note else "One row"
        tip = action.toolTip() == note if note else action.toolTip().startswith("All panels")
        return window.panels.isVisible() and action.iconText() == text and tip

    qtbot.waitUntil(says_the_layer_alones, timeout=TIMEOUT)
