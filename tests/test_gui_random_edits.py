"""A few hundred random edits through the widgets, with short random pauses, offscreen.

After the storm the window must be idle, show exactly what ``run_pipeline`` computes for
the widgets' ``Params``, and a saved session must bring every field back in a new
window. Seeded: a failure replays. Nothing is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtWidgets

from deconv_gui.core import PRESETS, run_pipeline
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000  # ms; generous because the 2 CPU cores are shared
EDITS = 300


def _window(qtbot, tmp_path, name):
    settings = QtCore.QSettings(str(tmp_path / f"{name}.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)  # deleted by the test (delete_now)
    win.show()
    _idle(qtbot, win)
    return win


def _idle(qtbot, win):
    qtbot.waitUntil(lambda: win.result is not None and win.live.idle, timeout=TIMEOUT)


def _edit(rng: np.random.Generator, win: MainWindow) -> None:
    """One random edit, as a user would make it through a widget."""
    editor, weights = win.filter_editor, win.filter_editor.weights()
    kind = rng.integers(12)
    if kind == 0:
        editor.set_preset(str(rng.choice(PRESETS)), seed=int(rng.integers(100)))
    elif kind == 1:
        fh, fw, c_in, _ = weights.shape
        value = float(np.round(rng.normal(), 3))
        editor.set_weight(
            int(rng.integers(fh)), int(rng.integers(fw)), int(rng.integers(c_in)), value
        )
    elif kind == 2:
        editor.findChild(QtWidgets.QSpinBox, "size_h").setValue(int(rng.integers(1, 6)))
    elif kind == 3:
        editor.set_same_in_all_channels(bool(rng.integers(2)))
    elif kind == 4:
        editor.findChild(QtWidgets.QSpinBox, "c_out").setValue(int(rng.integers(1, 4)))
    elif kind == 5:
        pair = lambda low, high: (int(rng.integers(low, high)), int(rng.integers(low, high)))  # noqa: E731
        win.geometry_editor.set_values(stride=pair(1, 4), padding=pair(0, 3), dilation=pair(1, 3))
    elif kind == 6:
        methods = ["transposed"] + [m for m in ("normalized_transposed", "pinv") if rng.integers(2)]
        win.recon_options.set_values(
            reg=float(rng.choice([0.0, 1e-3, 0.05])),
            noise_sigma=float(rng.choice([0.0, 0.01])),
            noise_seed=int(rng.integers(1000)),
            max_iter=int(rng.choice([30, 200])),
            methods=tuple(methods),
        )
    elif kind == 7:
        win.insight.panels_action.trigger()
    elif kind == 8:
        win.load_sample(str(rng.choice(["seed_toy", "camera", "coffee"])))
    elif kind == 9:
        (win.menu_actions.layout_row if rng.integers(2) else win.menu_actions.layout_grid).trigger()
    elif kind == 10:
        win.insight.inspector.inspect("forward", 0, 0)
    else:
        win.menu_actions.fit.trigger()


def test_random_edits_end_on_exactly_what_run_pipeline_computes(qtbot, tmp_path):
    rng = np.random.default_rng(20261127)
    win = _window(qtbot, tmp_path, "edits")
    other = None
    try:
        # small images: the storm is about state, not speed; at 48 px the background
        # rank job's SVD is bounded by its cost and never runs beside another dense one
        win.set_work_size(48)
        for _ in range(EDITS):
            _edit(rng, win)
            qtbot.wait(int(rng.integers(0, 12)))  # a short random pause, events flowing
        # end on a valid geometry, so that the last request computes
        win.geometry_editor.set_values(stride=(2, 2), padding=(1, 1), dilation=(1, 1))
        _idle(qtbot, win)
        params = win.current_params()
        assert win.result.params.to_dict() == params.to_dict()
        reference = run_pipeline(win.loaded.pixels, params)
        panels = win.panels
        np.testing.assert_array_equal(panels.panel("input").data, reference.image)
        np.testing.assert_array_equal(panels.panel("forward").data, reference.forward_output)
        np.testing.assert_allclose(panels.panel("transposed").data, reference.transposed)
        for name in ("normalized_transposed", "pinv", "coverage", "nullspace"):
            expected = getattr(reference, name)
            shown = None if panels.panel(name).isHidden() else panels.panel(name).data
            assert (shown is None) == (expected is None), name
            if expected is not None:
                np.testing.assert_allclose(shown, expected, atol=1e-6, err_msg=name)
        # the session of the final state restores every field in a new window
        path = win.save_session_to(tmp_path / "storm.deconv.json")
        assert path is not None
        other = _window(qtbot, tmp_path, "other")
        assert other.open_session(path)
        _idle(qtbot, other)
        assert other.current_params().to_dict() == params.to_dict()
        same = win.filter_editor.same_in_all_channels()
        assert other.filter_editor.same_in_all_channels() == same
        assert other.insight.panels_action.isChecked() == win.insight.panels_action.isChecked()
    finally:
        delete_now(win)
        if other is not None:
            delete_now(other)
