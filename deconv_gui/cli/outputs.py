"""The files a command writes: checked before any work, written all or nothing.

A folder that cannot take the file, or an existing file to be kept (no ``--overwrite``),
is refused before anything is computed or written, in one line naming the option (exit
1); a command writing several files checks them all first (:func:`check_output`), so
that a refusal of the last leaves the first unwritten.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["check_out_folder", "check_output", "path_failure", "write_output"]


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
        or a folder that does not exist or takes no new file.
    """
    try:
        same = path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data
        exists = same or path.exists()
        folder = path.parent if str(path.parent) else Path(".")
        missing = not folder.is_dir()
    except OSError as exc:
        raise path_failure(option, path, exc) from None
    if same:
        return True
    if exists and not overwrite:
        raise ValueError(f"{option}: {path} already exists (use --overwrite to replace it)")
    if missing:  # as the atomic write says it: it makes no folder
        raise ValueError(f"{option}: folder does not exist or is not a folder: {folder}")
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
    try:
        return atomic_write_bytes(path, data)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None


def path_failure(option: str, path: str | Path, exc: OSError) -> ValueError:
    """The one-line failure of an option's path the system refuses (too long, say).

    Exit 1 (a failure, not a usage error); the path is cut to 60 characters.
    """
    text = str(path)
    shown = text if len(text) <= 60 else f"{text[:59]}… ({len(text):,} characters)"
    return ValueError(f"{option} {shown}: {exc.strerror or type(exc).__name__}")
