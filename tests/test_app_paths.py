"""``deconv-gui PATH``: an image or a session as "Open with" passes it, and ``--session``."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from deconv_gui import app
from deconv_gui.core import Params, make_filter
from deconv_gui.io.session import save_session

pytestmark = pytest.mark.gui


@pytest.fixture
def seen(monkeypatch):
    """What the window showed when ``--screenshot`` took its picture."""
    record = {}
    original = app._screenshot

    def spy(qt_app, window, path, error, *args):
        code = original(qt_app, window, path, error, *args)
        record["params"] = window.current_params()
        record["source"] = None if window.loaded is None else window.loaded.source
        record["shape"] = None if window.loaded is None else window.loaded.pixels.shape
        return code

    monkeypatch.setattr(app, "_screenshot", spy)
    return record


@pytest.fixture
def session(tmp_path):
    params = Params(
        make_filter("box", in_channels=1, size=(3, 2)), stride=(3, 2), padding=(0, 1), reg=0.01
    )
    return save_session(tmp_path / "saved.deconv.json", params, image_source="camera", work_size=64)


def test_a_positional_session_is_opened_with_screenshot(tmp_path, session, seen):
    shot = tmp_path / "shot.png"
    assert app.main([str(session), "--screenshot", str(shot)]) == 0
    assert shot.stat().st_size > 1000
    params = seen["params"]
    assert seen["source"] == "camera" and seen["shape"] == (64, 64, 1)
    assert params.stride == (3, 2) and params.padding == (0, 1) and params.reg == 0.01
    assert params.weights.shape[:3] == (3, 2, 1)


def test_session_option_with_overrides(tmp_path, session, seen):
    shot = tmp_path / "shot.png"
    code = app.main(["--session", str(session), "--stride", "2", "--screenshot", str(shot)])
    assert code == 0
    assert seen["params"].stride == (2, 2) and seen["params"].padding == (0, 1)


def test_a_positional_image(tmp_path, seen):
    image = tmp_path / "ramp.npy"
    np.save(image, np.linspace(0, 1, 20 * 30).reshape(20, 30))
    shot = tmp_path / "shot.png"
    assert app.main([str(image), "--screenshot", str(shot)]) == 0
    assert seen["shape"] == (20, 30, 1) and seen["source"].endswith("ramp.npy")


@pytest.mark.parametrize(
    "content",
    [
        "{ not json",
        '{"schema": "deconv_gui.session", "version": 1, "params": {"stride": "x"}}',
        "[" * 5000 + "]" * 5000,
    ],
)
def test_a_session_that_cannot_be_applied_is_one_line_and_a_failure(tmp_path, capsys, content):
    bad = tmp_path / "bad.deconv.json"
    bad.write_text(content)
    shot = tmp_path / "shot.png"
    code = app.main([str(bad), "--screenshot", str(shot)])
    err = capsys.readouterr().err
    assert code == 1 and not shot.exists()  # the file is there but bad: not a usage error
    assert err.count("\n") == 1 and err.startswith("deconv-gui: ")


def test_a_session_whose_image_is_gone_is_a_failure(tmp_path, capsys):
    picture = tmp_path / "gone.npy"
    np.save(picture, np.zeros((8, 8)))
    params = Params(make_filter("box"))
    path = save_session(tmp_path / "s.deconv.json", params, image_source=picture)
    picture.unlink()
    code = app.main([str(path), "--screenshot", str(tmp_path / "shot.png")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "gone.npy" in err


def test_a_screenshot_of_an_image_that_cannot_be_read_is_a_failure(tmp_path, capsys):
    broken, shot = tmp_path / "broken.png", tmp_path / "shot.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert app.main(["--image", str(broken), "--screenshot", str(shot)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not read broken.png" in err and not shot.exists()
    assert app.main(["--image", str(tmp_path / "gone.png"), "--screenshot", str(shot)]) == 2


def test_the_same_thing_twice_is_a_usage_error(tmp_path, capsys, session):
    assert app.main([str(session), "--session", str(session)]) == 2
    assert app.main(["a.png", "--image", "b.png"]) == 2
    assert capsys.readouterr().err.count("error:") == 2
