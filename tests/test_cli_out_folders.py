"""An output that cannot be written is refused before the work, in one line, and a failed
write keeps the file it would replace: ``run --out /proc/x`` computed every panel first,
``animate --out /proc/a.gif`` rendered every frame and then printed imageio's ignored
exception with its traceback, and a GIF was written in place (an interrupted or failed
``--overwrite`` left half a file where the old one was)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from deconv_gui.cli import main

needs_proc = pytest.mark.skipif(
    not Path("/proc/self").is_dir(), reason="needs Linux's /proc (root passes mode bits)"
)


def _one_line_failure(capsys, code, start):
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert err.startswith(f"deconv-gui: error: {start}") and "\n" not in err, err
    assert "Traceback" not in err and "Exception ignored" not in err


@needs_proc
@pytest.mark.parametrize("out", ["/proc/deconv-gui-test", "/proc/self/deconv-gui-test"])
def test_run_refuses_an_unwritable_out_before_computing(capsys, monkeypatch, out):
    import deconv_gui.core as core

    monkeypatch.setattr(core, "run_pipeline", lambda *a, **k: pytest.fail("computed first"))
    code = main(["run", "--image", "seed_toy", "--filter", "box", "--out", out])
    _one_line_failure(capsys, code, "--out: cannot write to folder /proc")


def test_run_refuses_an_out_under_a_file_before_computing(tmp_path, capsys, monkeypatch):
    import deconv_gui.core as core

    blocker = tmp_path / "a-file"
    blocker.write_text("kept")
    monkeypatch.setattr(core, "run_pipeline", lambda *a, **k: pytest.fail("computed first"))
    out = str(blocker / "sub" / "deeper")
    code = main(["run", "--image", "seed_toy", "--filter", "box", "--out", out])
    _one_line_failure(capsys, code, "--out: cannot create output folder")
    assert blocker.read_text() == "kept"


@pytest.mark.parametrize("where", ["proc", "file"])
def test_animate_refuses_an_unwritable_out_before_rendering(tmp_path, capsys, monkeypatch, where):
    import deconv_gui.io.video as video

    if where == "proc" and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc")
    blocker = tmp_path / "a-file"
    blocker.write_text("kept")
    out = {
        "proc": Path("/proc/deconv-gui-test.gif"),
        "file": blocker / "a.gif",
    }[where]
    monkeypatch.setattr(video, "export_frames", lambda anim: pytest.fail("rendered first"))
    code = main(["animate", "--image", "seed_toy", "--filter", "box", "--out", str(out)])
    _one_line_failure(capsys, code, "--out: ")
    assert blocker.read_text() == "kept"


def _failing_rename(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)


def test_a_failed_gif_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    from deconv_gui.io.animation import write_gif

    path = tmp_path / "a.gif"
    path.write_bytes(b"the earlier animation")
    frame = np.zeros((4, 4, 3), np.uint8)
    _failing_rename(monkeypatch)
    with pytest.raises(ValueError, match=r"^path: cannot write .*No space left on device"):
        write_gif(path, [frame, frame + 1])
    assert path.read_bytes() == b"the earlier animation"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif"]


def test_a_failed_mp4_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    pytest.importorskip("imageio_ffmpeg")
    from deconv_gui.io.video import write_mp4

    path = tmp_path / "a.mp4"
    path.write_bytes(b"the earlier video")
    frame = np.zeros((4, 4, 3), np.uint8)
    _failing_rename(monkeypatch)
    with pytest.raises(ValueError, match=r"^path: cannot write .*No space left on device"):
        write_mp4(path, [frame, frame + 1])
    assert path.read_bytes() == b"the earlier video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]


def test_animate_overwrite_replaces_the_file(tmp_path, capsys):
    out = tmp_path / "a.gif"
    out.write_bytes(b"old")
    argv = ["animate", "--image", "seed_toy", "--filter", "box", "--out", str(out)]
    assert main([*argv, "--overwrite"]) == 0
    assert out.read_bytes()[:6] == b"GIF89a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif"]


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["info", "--save-matrix"], "m.npz"),
        (["code", "--write-input"], "x.npy"),
        (["code", "--weights"], "w.npz"),
    ],
)
def test_side_files_keep_an_existing_file_without_overwrite(tmp_path, capsys, argv, name):
    """info --save-matrix and code --write-input / --weights replaced a file silently (and
    the first two wrote it in place: a failure left half of it)."""
    path = tmp_path / name
    path.write_bytes(b"the user's file")
    problem = ["--image", "seed_toy", "--filter", "box"]
    assert main([argv[0], *problem, argv[1], str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"deconv-gui: error: {argv[1]}: {path} already exists (use --overwrite to replace it)"
    )
    assert path.read_bytes() == b"the user's file"
    assert main([argv[0], *problem, argv[1], str(path), "--overwrite"]) == 0
    written = path.read_bytes()
    assert written[:4] == b"PK\x03\x04" or written[:6] == b"\x93NUMPY"
    # the same contents again: kept as they are, no --overwrite needed (a command re-run)
    assert main([argv[0], *problem, argv[1], str(path)]) == 0
    assert path.read_bytes() == written
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_failed_side_file_write_keeps_the_old_file(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    _failing_rename(monkeypatch)
    argv = ["info", "--image", "seed_toy", "--filter", "box", "--save-matrix", str(path)]
    assert main([*argv, "--overwrite"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("deconv-gui: error: --save-matrix: cannot write") and "\n" not in err
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


#: Each command's option writing a file, and the name it writes (``run``: a folder).
_WRITERS = [
    (["run", "--out"], "out"),
    (["info", "--save-matrix"], "m.npz"),
    (["code", "--write-input"], "x.npy"),
    (["code", "--weights"], "w.npz"),
    (["animate", "--out"], "a.gif"),
    (["fit-decoder", "--decoder-size", "3", "--size", "16", "--out"], "d.npz"),
]


def _problem(argv: list[str]) -> list[str]:
    images = ["--images"] if argv[0] == "fit-decoder" else ["--image"]
    return [argv[0], *images, "seed_toy", "--work-size", "16", "--filter", "box", *argv[1:]]


@pytest.mark.parametrize(("argv", "name"), _WRITERS)
def test_every_command_makes_a_missing_output_folder(tmp_path, capsys, argv, name):
    """run and fit-decoder made a missing folder; info, code and animate refused it."""
    target = tmp_path / "new" / "deeper" / name
    assert main([*_problem(argv), str(target)]) == 0, capsys.readouterr().err
    assert target.is_dir() if argv[0] == "run" else target.is_file()


@pytest.mark.parametrize(("argv", "name"), _WRITERS)
def test_every_command_refuses_a_folder_under_a_file_before_any_work(
    tmp_path, capsys, monkeypatch, argv, name
):
    import deconv_gui.cli.problem as problem

    blocker = tmp_path / "a-file"
    blocker.write_text("kept")
    monkeypatch.setattr(problem, "load_spec", lambda *a, **k: pytest.fail("loaded first"))
    code = main([*_problem(argv), str(blocker / "sub" / name)])
    _one_line_failure(capsys, code, f"{argv[-1]}: cannot create output folder")
    assert blocker.read_text() == "kept" and sorted(tmp_path.iterdir()) == [blocker]


@pytest.mark.parametrize(("argv", "name"), [w for w in _WRITERS if w[0][0] != "run"])
def test_a_failed_write_removes_the_folders_made_for_it(tmp_path, capsys, monkeypatch, argv, name):
    _failing_rename(monkeypatch)
    code = main([*_problem(argv), str(tmp_path / "new" / "deeper" / name)])
    _one_line_failure(capsys, code, "")
    assert list(tmp_path.iterdir()) == []
