"""Files written all or nothing: a set of files into one folder, and the folders they need."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .session import new_file_mode

__all__ = ["make_folders", "write_all_or_nothing"]


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
        raise ValueError(f"cannot create folder {folder}: {exc.strerror or exc}") from None
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
