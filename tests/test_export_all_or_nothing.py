"""Export writes every file or none: a rename failing half-way puts the folder back as it was."""

from __future__ import annotations

import os

import numpy as np
import pytest

from deconv_gui.core import Params, make_filter, run_pipeline
from deconv_gui.io import export_result, load_sample
from deconv_gui.io import files as files_module
from deconv_gui.io.files import write_all_or_nothing
from deconv_gui.io.session import save_session


@pytest.fixture(scope="module")
def result():
    loaded = load_sample("seed_toy")
    return run_pipeline(loaded.pixels, Params(make_filter("box", in_channels=3), stride=2))


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _failing_replace(fail_at: int, monkeypatch):
    """Make the ``fail_at``-th call of ``os.replace`` (0-based) fail like a full disk."""
    calls = {"n": 0}
    real = os.replace

    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] - 1 == fail_at:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(files_module.os, "replace", replace)
    return calls


@pytest.mark.parametrize("fail_at", [0, 1, 3, 6, 9])
def test_a_rename_failing_half_way_restores_every_earlier_file(
    tmp_path, monkeypatch, result, fail_at
):
    export_result(result, tmp_path, formats=("npy",))  # the "previous export"
    (tmp_path / "notes.txt").write_text("not ours")
    before = _snapshot(tmp_path)
    calls = _failing_replace(fail_at, monkeypatch)
    with pytest.raises(ValueError, match="No space left"):
        export_result(result, tmp_path, formats=("npy", "tif"), overwrite=True)
    assert calls["n"] > fail_at
    assert _snapshot(tmp_path) == before  # same names, same bytes, no temp or backup left


def test_a_new_export_failing_half_way_leaves_no_file(tmp_path, monkeypatch, result):
    _failing_replace(4, monkeypatch)
    with pytest.raises(ValueError, match="No space left"):
        export_result(result, tmp_path, formats=("npy", "tif"))
    assert list(tmp_path.iterdir()) == []


def test_the_writer_on_its_own(tmp_path, monkeypatch):
    (tmp_path / "a").write_bytes(b"old a")
    write_all_or_nothing(tmp_path, {"a": b"new a", "b": b"new b"})
    assert _snapshot(tmp_path) == {"a": b"new a", "b": b"new b"}
    _failing_replace(2, monkeypatch)  # a aside, a placed, then b fails
    with pytest.raises(ValueError, match="cannot write to folder"):
        write_all_or_nothing(tmp_path, {"a": b"newer a", "b": b"newer b"})
    assert _snapshot(tmp_path) == {"a": b"new a", "b": b"new b"}


def test_make_folder_creates_it_and_removes_it_on_failure(tmp_path, monkeypatch, result):
    target = tmp_path / "new" / "deeper"
    written = export_result(result, target, formats=("npy",), make_folder=True)
    assert all(p.parent == target and p.is_file() for p in written)
    np.testing.assert_array_equal(np.load(target / "pinv.npy"), result.pinv)
    _failing_replace(0, monkeypatch)
    again = tmp_path / "other" / "sub"
    with pytest.raises(ValueError):
        export_result(result, again, formats=("npy",), make_folder=True)
    assert not (tmp_path / "other").exists()  # the folders it made are gone again
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"not a folder|cannot create"):
        export_result(result, blocker / "sub", make_folder=True)


def test_a_session_saved_to_a_folder_goes_inside_it(tmp_path, result):
    folder = tmp_path / "sessions"
    folder.mkdir()
    written = save_session(folder, result.params)
    assert written.parent == folder and written.name.endswith(".deconv.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sessions"]
