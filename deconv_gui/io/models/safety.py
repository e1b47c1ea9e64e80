"""Checks on untrusted model files before anything is allocated: sizes, zip directories."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

__all__ = [
    "MAX_ENTRIES",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "check_zip",
    "file_size",
    "read_member",
]

#: A zip member may not unpack to more than this (a model's largest tensor file).
MAX_MEMBER_BYTES = 8 * 2**30
#: Nor may a compressed member unpack to more than this many times its stored size: a
#: zip bomb's members compress by thousands.
MAX_RATIO = 200
#: Members in one archive (a torch file has one per tensor).
MAX_ENTRIES = 200_000


def file_size(path: Path) -> int:
    """The size of ``path`` in bytes; a one-line ValueError if it cannot be read."""
    try:
        if not path.is_file():
            raise ValueError(f"model: {path} is not a file")
        return os.path.getsize(path)
    except OSError as exc:
        raise ValueError(f"model: cannot read {path}: {exc.strerror or exc}") from None


def check_zip(archive: zipfile.ZipFile, what: str) -> None:
    """Refuse an archive whose directory promises too much (before anything is unpacked).

    Raises
    ------
    ValueError
        On too many members, a member larger than :data:`MAX_MEMBER_BYTES`, a compressed
        member that would expand more than :data:`MAX_RATIO` times, or an encrypted one.
    """
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise ValueError(f"{what}: the archive has {len(infos)} members (at most {MAX_ENTRIES})")
    for info in infos:
        if info.flag_bits & 0x1:
            raise ValueError(f"{what}: member {info.filename!r} is encrypted")
        if info.file_size > MAX_MEMBER_BYTES:
            raise ValueError(
                f"{what}: member {info.filename!r} would unpack to {info.file_size} bytes "
                f"(at most {MAX_MEMBER_BYTES})"
            )
        stored = max(info.compress_size, 1)
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_RATIO * stored:
            raise ValueError(
                f"{what}: member {info.filename!r} expands {info.file_size // stored}× "
                "(a zip bomb?); refused"
            )


def read_member(archive: zipfile.ZipFile, name: str, what: str, limit: int) -> bytes:
    """The bytes of member ``name``, at most ``limit`` of them, checked against its header.

    The directory's size is trusted only as an upper bound: reading stops one byte past
    it, so a member that unpacks to more than it declared is refused without unpacking it.
    """
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"{what}: the archive has no {name!r}") from None
    if info.file_size > limit:
        raise ValueError(f"{what}: {name!r} is {info.file_size} bytes (at most {limit})")
    try:
        with archive.open(info) as handle:
            data = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise ValueError(f"{what}: cannot unpack {name!r}: {exc}") from None
    if len(data) != info.file_size:
        raise ValueError(f"{what}: {name!r} does not match its declared size")
    return data
