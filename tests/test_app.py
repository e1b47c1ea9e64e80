"""``deconv_gui.app.main``: argument parsing, CLI delegation and the ``--screenshot`` mode."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from deconv_gui import app


def test_help_and_usage_errors_return_exit_codes(capsys):
    assert app.main(["--help"]) == 0
    assert "--screenshot" in capsys.readouterr().out
    assert app.main(["--stride", "two"]) == 2
    assert "stride" in capsys.readouterr().err


def test_pairs_accept_one_or_two_numbers():
    assert app._pair("2") == (2, 2)
    assert app._pair("2,1") == (2, 1)
    assert app._pair("3x1") == (3, 1)


@pytest.mark.parametrize("command", app.CLI_COMMANDS)
def test_cli_commands_are_delegated(monkeypatch, command):
    seen = []
    fake = types.ModuleType("deconv_gui.cli")
    fake.main = lambda argv: seen.append(list(argv)) or 7
    monkeypatch.setitem(sys.modules, "deconv_gui.cli", fake)
    monkeypatch.setattr("deconv_gui.cli", fake, raising=False)
    assert app.main([command, "--x"]) == 7
    assert seen == [[command, "--x"]]


@pytest.mark.gui
def test_screenshot_writes_a_non_uniform_png(qtbot, tmp_path):
    from qtpy import QtGui

    path = tmp_path / "shot.png"
    assert app.main(["--screenshot", str(path), "--stride", "2"]) == 0
    assert path.stat().st_size > 10_000
    image = QtGui.QImage(str(path)).convertToFormat(QtGui.QImage.Format.Format_RGB888)
    assert image.width() >= 800 and image.height() >= 600
    pointer = image.constBits()
    pointer.setsize(image.height() * image.bytesPerLine())
    pixels = np.frombuffer(pointer, np.uint8)
    assert pixels.std() > 20  # panels, text and photos: far from uniform


@pytest.mark.gui
def test_screenshot_with_a_missing_image_fails_cleanly(qtbot, tmp_path, capsys):
    code = app.main(["--screenshot", str(tmp_path / "x.png"), "--image", str(tmp_path / "no.png")])
    assert code == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.gui
def test_screenshot_of_a_view_at_a_given_size(qtbot, tmp_path):
    from qtpy import QtGui

    path = tmp_path / "seed.png"
    assert app.main(["--screenshot", str(path), "--view", "seed", "--size", "800x500"]) == 0
    image = QtGui.QImage(str(path))
    assert (image.width(), image.height()) == (800, 500)  # the matrices dialog, not the window


@pytest.mark.gui
def test_screenshot_of_the_code_scripts(qtbot, tmp_path):
    from qtpy import QtGui

    path = tmp_path / "code.png"
    argv = ["--screenshot", str(path), "--view", "code", "--size", "700x420", "--image", "seed_toy"]
    assert app.main(argv) == 0
    image = QtGui.QImage(str(path))
    assert (image.width(), image.height()) == (700, 420)


def test_view_and_size_are_checked(capsys):
    assert app.main(["--view", "nowhere"]) == 2
    assert "view" in capsys.readouterr().err
    assert app.main(["--size", "10x10"]) == 2
    assert "size" in capsys.readouterr().err
    assert app._window_size("1280x800") == (1280, 800)
