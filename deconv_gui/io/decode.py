"""Decoding image files into arrays, with one-sentence reasons for files that cannot be read.

Each reader returns the raw decoded array and notes on what it did (a CMYK JPEG converted
to RGB, the first page of a multi-page TIFF); :func:`~deconv_gui.io.images.convert_image`
turns that into the pipeline's float ``(H, W, C)``. No Qt here.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = ["DecodedFile", "read_file", "read_npy", "short_name"]

_NPY_MAGIC = b"\x93NUMPY"


class DecodedFile:
    """The raw array of an image file and what reading it did.

    Attributes
    ----------
    raw : numpy.ndarray
        The decoded array, as the file stores it.
    notes : list of str
        Conversions already made while decoding (for the status bar).
    image_type : bool
        True for data from an image format (PNG, JPEG, TIFF, BMP), whose uint8/uint16
        pixels are scaled to [0, 1]; False for ``.npy`` arrays, whose values are kept.
    """

    __slots__ = ("image_type", "notes", "raw")

    def __init__(self, raw: np.ndarray, notes: list[str], image_type: bool) -> None:
        self.raw = raw
        self.notes = notes
        self.image_type = image_type


def read_file(path: Path) -> DecodedFile:
    """Decode ``path`` by its suffix (``.npy``, ``.tif``/``.tiff``, else Pillow/imageio).

    Raises
    ------
    ValueError
        ``"could not read NAME: REASON"`` in one sentence; never a decoder's internal
        message, and never a suggestion to load pickled data.
    """
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return DecodedFile(read_npy(path), [], image_type=False)
    kind = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(
        suffix, suffix.lstrip(".").upper()
    )
    try:
        if kind == "TIFF":
            raw, notes = _read_tiff(path)
        else:
            raw, notes = _read_picture(path)
    except PermissionError as exc:
        raise ValueError(
            f"could not read {path.name}: {exc.strerror or 'permission denied'}"
        ) from None
    except MemoryError:
        raise ValueError(f"could not read {path.name}: not enough memory to decode it") from None
    except _Refused:
        raise
    except Exception as exc:  # decoders raise many types with internal messages; one sentence
        if type(exc).__name__ == "DecompressionBombError":  # a valid file, too many pixels
            raise ValueError(f"could not read {path.name}: {_too_many_pixels(exc)}") from None
        raise ValueError(
            f"could not read {path.name}: the file is not a valid {kind} image "
            "(corrupt, truncated, empty or mislabelled)"
        ) from None
    return DecodedFile(raw, notes, image_type=True)


def read_npy(path: Path) -> np.ndarray:
    """Read a ``.npy`` array without pickle.

    Raises
    ------
    ValueError
        ``"could not read NAME: REASON"`` for a file without a ``.npy`` header (a text
        file, say), an object array, or a truncated or corrupt file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_NPY_MAGIC))
            handle.seek(0)
            if head == _NPY_MAGIC:
                _check_npy_header(handle, path.name)
    except OSError as exc:
        raise ValueError(f"could not read {short_name(path.name)}: {exc.strerror or exc}") from None
    if head != _NPY_MAGIC:
        raise ValueError(
            f"could not read {path.name}: not a NumPy .npy file (no .npy header; "
            "save the array with numpy.save)"
        )
    try:
        raw = np.load(path, allow_pickle=False)
    except ValueError as exc:
        text = str(exc)
        if "pickle" in text or "object" in text:
            reason = (
                "it holds Python objects, not numbers; only numeric arrays are read "
                "(save one with numpy.save)"
            )
        elif "read all data" in text or "reshape" in text or "not fully written" in text:
            reason = "the file is truncated (it holds fewer values than its header says)"
        else:
            reason = "the .npy header or data is corrupt"
        raise ValueError(f"could not read {path.name}: {reason}") from None
    except (OSError, EOFError):
        raise ValueError(
            f"could not read {path.name}: the .npy file is truncated or corrupt"
        ) from None
    except MemoryError:
        raise ValueError(f"could not read {path.name}: not enough memory to hold it") from None
    if not isinstance(raw, np.ndarray):
        raise ValueError(f"could not read {path.name}: it does not hold one array")
    return raw


def short_name(name: str, limit: int = 80) -> str:
    """A file name cut to ``limit`` characters for a one-line message."""
    return name if len(name) <= limit else f"{name[: limit - 1]}…"


def _check_npy_header(handle: BinaryIO, name: str) -> None:
    """Refuse a ``.npy`` whose header claims more data than the file holds or memory takes.

    Checked before numpy allocates the array: a header of a few bytes can claim terabytes.
    """

    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        else:  # a newer header version: numpy's own reader decides
            return
    except (ValueError, OSError, EOFError):
        raise ValueError(f"could not read {name}: the .npy header is corrupt") from None
    if dtype.hasobject:
        return  # np.load refuses it with its own reason (no pickle)
    need = _check_claimed_size(name, "its header claims", shape, dtype)
    size = os.fstat(handle.fileno()).st_size - handle.tell()
    shown = "×".join(map(str, shape)) or "scalar"
    if need > size:
        raise ValueError(
            f"could not read {name}: the file is truncated (its header claims a {shown} "
            f"{dtype} array of {need:,} bytes, the file holds {size:,})"
        )


class _Refused(ValueError):
    """A reason of this module's own, passed on as it is (not as 'not a valid image')."""


def _check_claimed_size(name: str, claim: str, shape: tuple[int, ...], dtype: np.dtype) -> int:
    """The bytes of a ``shape`` ``dtype`` array a file claims, refused (``_Refused``) beyond
    the memory budget: checked before anything of that size is allocated, since a header
    of a few bytes (a ``.npy``, a compressed TIFF) can claim terabytes."""
    from ..core.limits import memory_budget

    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need > memory_budget():
        shown = "×".join(map(str, shape)) or "scalar"
        raise _Refused(
            f"could not read {name}: {claim} a {shown} {dtype} array "
            f"({need / 1024**3:,.1f} GiB), more than this machine's memory budget "
            f"({memory_budget() / 1024**3:,.1f} GiB)"
        )
    return need


def _read_tiff(path: Path) -> tuple[np.ndarray, list[str]]:
    """The first page of a TIFF, samples last; a multi-page file says so."""
    import tifffile

    notes: list[str] = []
    with tifffile.TiffFile(path) as tif:
        pages = len(tif.pages)
        page = tif.pages.first
        _check_claimed_size(path.name, "its first page is", tuple(page.shape), page.dtype)
        raw = page.asarray()
        axes = page.axes
    if "S" in axes and axes.index("S") != len(axes) - 1:  # planar storage: samples first
        raw = np.moveaxis(raw, axes.index("S"), -1)
    if pages > 1:
        notes.append(f"multi-page TIFF: page 1 of {pages} used")
    return raw, notes


def _read_picture(path: Path) -> tuple[np.ndarray, list[str]]:
    """PNG, JPEG, BMP: CMYK is converted to RGB by Pillow (Adobe's inverted CMYK included)."""
    from PIL import Image

    # up to Pillow's bomb guard (2 × MAX_IMAGE_PIXELS, 179 MP, refused with a reason by
    # read_file) a large picture is read, without Pillow's warning line on stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            if image.mode == "CMYK":
                image.load()
                return np.asarray(image.convert("RGB")), ["CMYK → RGB"]
        from skimage import io as skio

        return np.asarray(skio.imread(path)), []


def _too_many_pixels(exc: Exception) -> str:
    """The reason of Pillow's DecompressionBombError, in this module's words."""
    found = re.search(r"\((\d+) pixels\) exceeds limit of (\d+)", str(exc))
    if found is None:
        return "it decodes to more pixels than a picture file may (a decompression bomb guard)"
    pixels, limit = (int(n) for n in found.groups())
    return (
        f"it decodes to {pixels:,} pixels, more than the {limit:,} a picture file may (a "
        "guard against decompression bombs); shrink it first, or save it as .npy or TIFF"
    )
