"""Files written all or nothing: one file, a set of files into one folder, their folders."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "atomic_write_bytes",
    "check_writable_folder",
    "folder_made_for",
    "make_folders",
    "new_file_mode",
    "write_all_or_nothing",
    "write_into_folder",
]


def _current_umask() -> int:
    """The process umask, without changing it where the OS can tell (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting and restoring it at once
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """``0o666 & ~umask``: the mode ``open(path, "w")`` would give a new file.

    Temp files from :mod:`tempfile` are created ``0o600`` (private); files renamed
    into place from them are chmod-ed to this mode first, so that an export or a
    session is as readable as any other file the user saves.
    """
    return 0o666 & ~_current_umask()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, then ``os.replace``.

    Raises
    ------
    ValueError
        If the folder is missing or not writable (the temp file is removed).
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"folder does not exist or is not a folder: {folder}")
    tmp_name = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=folder, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as handle:
            tmp_name = handle.name
            handle.write(data)
        os.chmod(tmp_name, new_file_mode())  # not tempfile's private 0o600
        os.replace(tmp_name, path)
    except OSError as exc:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def check_writable_folder(folder: Path) -> None:
    """Refuse, before any work, a ``folder`` that can be neither written into nor made.

    The nearest folder that exists (``folder`` or a parent) must be a folder that takes a
    new file: a nameless temp file is made there and dropped at once, which is what the
    system decides (permissions, a read-only file system, ``/proc``), not a guess from the
    mode bits (root passes those). Nothing is left behind.

    Raises
    ------
    ValueError
        Naming the folder and the system's reason.
    """
    probe = Path(folder)
    try:
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            where = "" if probe == Path(folder) else f"{probe} "
            raise ValueError(f"cannot create output folder {folder}: {where}is not a folder")
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise ValueError(f"cannot write to folder {probe}: {exc.strerror or exc}") from None


def make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, deepest first."""
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    return missing


def write_all_or_nothing(folder: Path, blobs: dict[str, bytes]) -> None:
    """Write every blob to a temp file, then rename all into place; undo everything on failure.

    Renames within one folder are atomic, so each target is either its old file or its
    new one. A target that existed is first renamed to a backup name; if any later step
    fails, the new files are removed and the backups renamed back, and only when every
    rename succeeded are the backups deleted.
    """
    temps: dict[str, str] = {}
    backups: dict[str, str] = {}  # target name -> its previous file, renamed aside
    placed: list[str] = []
    mode = new_file_mode()
    try:
        for name, data in blobs.items():
            with tempfile.NamedTemporaryFile(
                dir=folder, prefix=f".{name}.", suffix=".tmp", delete=False
            ) as handle:
                temps[name] = handle.name
                handle.write(data)
            os.chmod(temps[name], mode)  # not tempfile's private 0o600
        for name in list(temps):
            target = folder / name
            if target.exists():
                backup = f"{temps[name]}.old"
                os.replace(target, backup)
                backups[name] = backup
            os.replace(temps[name], target)
            del temps[name]
            placed.append(name)
    except OSError as exc:
        problems = _undo(folder, temps, backups, placed)
        reason = f"cannot write to folder {folder}: {exc.strerror or exc}"
        if problems:  # the file system failed again while undoing: say what is left
            reason += "; and the earlier files could not all be put back: " + "; ".join(problems)
        raise ValueError(reason) from None
    for backup in backups.values():
        Path(backup).unlink(missing_ok=True)


def write_into_folder(folder: Path, blobs: dict[str, bytes], *, make_folder: bool = True) -> None:
    """:func:`write_all_or_nothing` into ``folder``, made first with its missing parents
    (when ``make_folder``, through :func:`folder_made_for`)."""
    if not make_folder:
        write_all_or_nothing(folder, blobs)
        return
    with folder_made_for(folder):
        write_all_or_nothing(folder, blobs)


@contextmanager
def folder_made_for(folder: Path) -> Iterator[None]:
    """Make ``folder`` with its missing parents for the write in the ``with`` block: if
    it fails or is interrupted, the folders made for it are removed again (deepest first,
    as long as they are empty), so that nothing is left half-made."""
    created = make_folders(folder)
    try:
        yield
    except BaseException:
        for made in created:
            try:
                made.rmdir()
            except OSError:
                break
        raise


def _undo(
    folder: Path, temps: dict[str, str], backups: dict[str, str], placed: list[str]
) -> list[str]:
    """Remove the new files and temps, rename the backups back; what could not be undone."""
    problems = []
    for tmp in temps.values():
        Path(tmp).unlink(missing_ok=True)
    for name in placed:
        try:
            (folder / name).unlink(missing_ok=True)
        except OSError as exc:
            problems.append(f"{name}: {exc.strerror or exc}")
    for name, backup in backups.items():
        try:
            os.replace(backup, folder / name)
        except OSError as exc:
            problems.append(f"{name} (previous version kept as {backup}): {exc.strerror or exc}")
    return problems
