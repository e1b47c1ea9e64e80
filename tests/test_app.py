"""``deconv_gui.app.main``: argument parsing, CLI delegation and the ``--screenshot`` mode."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from deconv_gui import app

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.mark.gui
def test_screenshot_of_the_fourier_view_of_a_conv_transpose_layer(qtbot, tmp_path):
    path = tmp_path / "fourier.png"
    argv = ["--screenshot", str(path), "--view", "fourier", "--image", "camera"]
    argv += ["--layer-kind", "conv_transpose", "--stride", "2", "--padding", "1"]
    assert app.main(argv) == 0 and path.stat().st_size > 0
    assert app.main(["--layer-kind", "deconv"]) == 2


@pytest.mark.gui
def test_screenshot_of_a_conv_transpose_layer_on_a_colour_image(qtbot, tmp_path, capsys):
    path = tmp_path / "shots" / "decoder.png"  # a missing folder is made, as run --out's
    argv = ["--screenshot", str(path), "--image", "chelsea"]
    argv += ["--layer-kind", "conv_transpose", "--stride", "2", "--padding", "1"]
    assert app.main(argv) == 0  # the filter takes the 3 colour channels as its C_out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    # settings the window finds invalid: exit 2 at once (no 60 s wait), the reason in one line
    argv = ["--screenshot", str(tmp_path / "none.png"), "--image", "seed_toy", "--dilation", "7"]
    assert app.main(argv) == 2
    assert "larger than the padded image" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "none.png").exists()


def test_view_and_size_are_checked(capsys):
    assert app.main(["--view", "nowhere"]) == 2
    assert "view" in capsys.readouterr().err
    assert app.main(["--size", "10x10"]) == 2
    assert "size" in capsys.readouterr().err
    assert app._window_size("1280x800") == (1280, 800)


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_a_screenshot_that_cannot_be_written_is_one_line_and_exit_1(tmp_path, capsys):
    blocker = tmp_path / "no"  # a file where the folder would go: no folder can be made
    blocker.write_bytes(b"kept")
    for target, reason in (
        (blocker / "deeper" / "x.png", f"cannot create output folder {blocker / 'deeper'}"),
        (tmp_path, "it is a folder"),
    ):
        assert app.main(["--screenshot", str(target)]) == 1
        line = _one_line(capsys.readouterr().err)
        assert line.startswith(f"deconv-gui: error: cannot write the screenshot {target}: "), line
        assert reason in line, line
    assert blocker.read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no"]  # nothing written


@pytest.mark.gui
def test_a_screenshot_that_fails_at_the_end_is_exit_1(qtbot, tmp_path, capsys, monkeypatch):
    from deconv_gui.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "save_screenshot", lambda self, path: False)
    target = tmp_path / "made" / "for it" / "x.png"  # missing: made, then removed again
    assert app.main(["--screenshot", str(target), "--image", "seed_toy"]) == 1
    assert "could not write" in _one_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_word_without_a_display_names_the_command(capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert app.main(["bogus"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "unknown command or file: bogus" in line and "run, info" in line
    assert app.main(["no-such-photo.png"]) == 2
    assert "file not found: no-such-photo.png" in _one_line(capsys.readouterr().err)
    # a sample's name is not a mistake: without a display, that is what is said
    assert app.main(["camera"]) == 2
    assert "no display found" in _one_line(capsys.readouterr().err)


@pytest.mark.gui
@pytest.mark.parametrize("view", [(), ("--view", "spectrum")], ids=["main", "dialog"])
def test_a_screenshot_prints_nothing_but_its_errors(tmp_path, view):
    # Qt's offscreen platform and a missing runtime folder make harmless noise (a dialog's
    # raise() too: the views of dialogs bring theirs to the front)
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    argv = ["--image", "seed_toy", *view, "--screenshot", "x.png"]
    done = subprocess.run(
        [sys.executable, "-m", "deconv_gui", *argv],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and (tmp_path / "x.png").is_file()
