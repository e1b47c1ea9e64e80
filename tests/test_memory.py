"""The process's policy for large freed buffers (glibc's mallopt), set by the entry points."""

from __future__ import annotations

import platform

import pytest

from deconv_gui.core import memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")


@glibc
def test_glibc_keeps_freed_buffers_and_a_second_call_changes_nothing(monkeypatch):
    monkeypatch.delenv(memory.SYSTEM_MALLOC_VARIABLE, raising=False)
    assert memory.keep_freed_memory() is True
    assert memory.keep_freed_memory() is True


def test_the_environment_variable_leaves_the_defaults(monkeypatch):
    monkeypatch.setenv(memory.SYSTEM_MALLOC_VARIABLE, "1")
    calls = []
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda *a: calls.append(a))
    assert memory.keep_freed_memory(64 * 2**20) is False
    assert calls == []


def test_other_c_libraries_are_left_alone(monkeypatch):
    monkeypatch.delenv(memory.SYSTEM_MALLOC_VARIABLE, raising=False)
    monkeypatch.setattr(memory.platform, "libc_ver", lambda: ("", ""))
    assert memory.keep_freed_memory(64 * 2**20) is False


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"mapped_above": 0}, "mapped_above"), ({"trim_above": 2.5}, "trim_above")],
)
def test_bad_sizes_are_refused_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        memory.keep_freed_memory(**kwargs)


@pytest.mark.parametrize("argv", [["--version"], ["info", "--help"]])
def test_the_app_and_the_commands_set_it_as_they_start(monkeypatch, argv):
    import deconv_gui.app as app
    import deconv_gui.cli as cli

    calls: list[str] = []
    monkeypatch.setattr(app, "keep_freed_memory", lambda: calls.append("app"))
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append("cli"))
    assert app.main(argv) == 0
    assert calls[0] == "app"
