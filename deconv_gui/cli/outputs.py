"""The files a command writes: checked before any work, written all or nothing.

A missing folder is made when the file is written (and removed again if the write
fails), as ``run --out`` makes its folder; a folder that can be neither made nor written
into (under a file, read-only), or an existing file to be kept (no ``--overwrite``),
is refused before anything is computed or written, in one line naming the option (exit
1); a command writing several files checks them all first (:func:`check_output`), so
that a refusal of the last leaves the first unwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["check_out_folder", "check_output", "path_failure", "write_made_folder", "write_output"]


def check_out_folder(folder: Path, option: str = "--out") -> None:
    """Refuse, before any work, a ``folder`` that can be neither made nor written into
    (a ``ValueError`` naming ``option``: exit 1), instead of failing once it is all
    computed (:func:`~deconv_gui.io.files.check_writable_folder`)."""
    from ..io.files import check_writable_folder

    try:
        check_writable_folder(folder)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None


def check_output(option: str, path: Path, data: bytes, *, overwrite: bool) -> bool:
    """Whether ``path`` holds ``data`` already (nothing to write); otherwise refuse what
    :func:`write_output` would refuse, before it writes anything.

    Raises
    ------
    ValueError
        Naming ``option``: an existing file with other contents (without ``overwrite``),
        or a folder that can be neither made nor written into.
    """
    try:
        same = path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data
        exists = same or path.exists()
        folder = path.parent if str(path.parent) else Path(".")
    except OSError as exc:
        raise path_failure(option, path, exc) from None
    if same:
        return True
    if exists and not overwrite:
        raise ValueError(f"{option}: {path} already exists (use --overwrite to replace it)")
    check_out_folder(folder, option)
    return False


def write_output(option: str, path: Path, data: bytes, *, overwrite: bool) -> Path:
    """Write ``data`` to ``path`` (named by ``option``) all or nothing, and return it.

    An existing file with other contents is kept unless ``overwrite`` (a ``ValueError``
    naming ``option``: exit 1); one with these very contents is left as it is, so that the
    same command runs again.
    """
    from ..io.files import atomic_write_bytes

    if check_output(option, path, data, overwrite=overwrite):
        return path
    return write_made_folder(option, path, lambda target: atomic_write_bytes(target, data))


def write_made_folder(option: str, path: Path, write: Callable[[Path], Any]) -> Path:
    """``write(path)`` (an all-or-nothing writer), its missing folders made first
    and removed again if it fails; its ``ValueError`` named by ``option`` (exit 1)."""
    from ..io.files import folder_made_for

    try:
        with folder_made_for(path.parent if str(path.parent) else Path(".")):
            write(path)
    except ValueError as exc:
        raise ValueError(f"{option}: {str(exc).removeprefix('path: ')}") from None
    return path


def path_failure(option: str, path: str | Path, exc: OSError) -> ValueError:
    """The one-line failure of an option's path the system refuses (too long, say).

    Exit 1 (a failure, not a usage error); the path is cut to 60 characters.
    """
    text = str(path)
    shown = text if len(text) <= 60 else f"{text[:59]}… ({len(text):,} characters)"
    return ValueError(f"{option} {shown}: {exc.strerror or type(exc).__name__}")
