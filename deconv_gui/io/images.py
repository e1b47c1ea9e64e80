"""Loading images from samples and files, converted to float ``(H, W, C)`` with a note saying how.

No Qt here: the window, the command line and the tests all load images through this module.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core import SolveCancelled
from ..core.choices import check_choice
from ..core.resources import read_json
from ..document.records import DEFAULT_WORK_SIZE, SAMPLES
from .decode import read_file, short_name

__all__ = [
    "DEFAULT_WORK_SIZE",
    "FILE_EXTENSIONS",
    "SAMPLES",
    "WORK_SIZES",
    "LoadProgress",
    "LoadedImage",
    "apply_work_size",
    "box_reduce",
    "convert_image",
    "load_image",
    "load_sample",
    "resize_long_side",
    "sha256_of",
]

#: Work sizes offered for the long side (None keeps the original size); they only shrink.
WORK_SIZES: tuple[int | None, ...] = (128, 256, 512, 1024, None)
#: File extensions :func:`load_image` reads.
FILE_EXTENSIONS: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".bmp",
    ".npy",
)
MAX_CHANNELS = 4

#: ``progress(fraction, stage)``: how far a load is (0 to 1) and what it does ("reading").
LoadProgress = Callable[[float, str], None]
# values per strip of the box reduction: small enough to check cancel often
_STRIP_VALUES = 4_000_000


class _Steps:
    """Reports progress and stops at the next step once ``cancel`` is set."""

    def __init__(self, progress: LoadProgress | None, cancel: threading.Event | None) -> None:
        self._progress, self._cancel = progress, cancel

    def __call__(self, fraction: float, stage: str) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise SolveCancelled("loading the image was cancelled")
        if self._progress is not None:
            self._progress(float(fraction), stage)


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An image ready for the pipeline.

    Attributes
    ----------
    pixels : numpy.ndarray
        ``(H, W, C)`` float32 (float64 for ``.npy`` float64 data and the toy example).
    source : str
        The sample name or the file path.
    note : str
        How the data was converted, for the status bar (e.g. ``"uint16 → float in [0, 1]"``).
    feature_maps : bool
        True when the channels are a network's feature maps (what a model feeds one of
        its deeper layers), not an image's colours: they are numbered, not named R, G, B.
    """

    pixels: np.ndarray
    source: str
    note: str
    feature_maps: bool = False

    @property
    def is_sample(self) -> bool:
        """True for a built-in sample."""
        return self.source in SAMPLES


def seed_toy_image() -> np.ndarray:
    """The question's 7×7×3 example with small, visible integer values (0 to 9).

    Read from ``resources/seed_question.json`` (stored channel by channel) as float64 (7, 7, 3).
    """
    per_channel = np.asarray(read_json("seed_question.json")["image"], dtype=np.float64)
    return np.moveaxis(per_channel, 0, -1)


def load_sample(name: str, work_size: int | None = DEFAULT_WORK_SIZE) -> LoadedImage:
    """Load a built-in sample; photos larger than ``work_size`` are shrunk to it (long side).

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`SAMPLES`.
    """
    check_choice("sample", name, SAMPLES)
    if name == "seed_toy":
        return LoadedImage(seed_toy_image(), name, "7×7×3 integer toy example (as in the question)")
    pixels, note = _decoded_sample(name, work_size)
    return LoadedImage(pixels.copy(), name, note)


@functools.lru_cache(maxsize=4)
def _decoded_sample(name: str, work_size: int | None) -> tuple[np.ndarray, str]:
    """A photo sample decoded and shrunk once per process: reading astronaut takes
    0.3–0.7 s, and the window reloads samples on every switch back (read-only: callers
    get a copy)."""
    from skimage import data

    raw = getattr(data, name)()
    pixels, note = convert_image(raw)
    pixels, resized = apply_work_size(pixels, work_size)
    pixels.setflags(write=False)
    return pixels, f"sample {name}: {note}{resized}"


def apply_work_size(
    pixels: np.ndarray,
    work_size: int | None,
    *,
    progress: LoadProgress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[np.ndarray, str]:
    """Shrink ``pixels`` so the long side is at most ``work_size``; never enlarge.

    ``progress`` and ``cancel`` are as in :func:`resize_long_side`.

    Returns
    -------
    pixels : numpy.ndarray
        The same array when it already fits (or ``work_size`` is None), else the resized one.
    note : str
        ``"; resized H×W → H'×W' (work size)"`` when resized, else ``""``: height
        first, as every shape the window shows (``H×W×C``).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.io import apply_work_size
    >>> small, note = apply_work_size(np.zeros((300, 400, 3), np.float32), 200)
    >>> small.shape, small.dtype, note
    ((150, 200, 3), dtype('float32'), '; resized 300×400 → 150×200 (work size)')
    >>> apply_work_size(small, 512)[0] is small  # never enlarged
    True
    """
    if work_size is None or max(pixels.shape[:2]) <= work_size:
        return pixels, ""
    h, w = pixels.shape[:2]
    resized = resize_long_side(pixels, work_size, progress=progress, cancel=cancel)
    return resized, f"; resized {h}×{w} → {resized.shape[0]}×{resized.shape[1]} (work size)"


def resize_long_side(
    pixels: np.ndarray,
    size: int,
    *,
    progress: LoadProgress | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """Resize so that the long side is ``size`` pixels, keeping the aspect ratio and dtype.

    Uses scikit-image's anti-aliased resize (a Gaussian prefilter when shrinking). An
    image at least 4× larger than ``size`` is first averaged over whole blocks of
    pixels (in strips, so ``cancel`` is checked often): the prefilter's cost grows with
    the shrink factor, and shrinking an 8000² photo to 256 took over 30 s without it.

    Parameters
    ----------
    pixels : numpy.ndarray
        ``(H, W, C)``.
    size : int
        The long side of the result.
    progress : callable, optional
        Called as ``progress(fraction, "resizing")`` between strips.
    cancel : threading.Event, optional
        When set, the next strip raises :class:`~deconv_gui.core.SolveCancelled`.
    """
    from skimage.transform import resize

    if size < 1:
        raise ValueError(f"work size must be >= 1, got {size}")
    step = _Steps(progress, cancel)
    h, w = pixels.shape[:2]
    scale = size / max(h, w)
    shape = (max(1, round(h * scale)), max(1, round(w * scale)), pixels.shape[2])
    factor = max(h, w) // (2 * size)  # leaves at least a 2× shrink to the prefilter
    source = box_reduce(pixels, factor, step) if factor >= 2 else pixels
    step(0.95, "resizing")
    out = resize(source, shape, order=1, anti_aliasing=scale < 1, preserve_range=True)
    return out.astype(pixels.dtype, copy=False)


def box_reduce(
    pixels: np.ndarray, factor: int, step: Callable[[float, str], None] | None = None
) -> np.ndarray:
    """The mean of every ``factor``×``factor`` block (a partial block at the bottom or
    right edge: the mean of the pixels it has), in ``pixels``' dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.io.images import box_reduce
    >>> box_reduce(np.arange(15.0).reshape(3, 5, 1), 2)[..., 0]
    array([[ 3. ,  5. ,  6.5],
           [10.5, 12.5, 14. ]])
    """
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    h, w, c = pixels.shape
    rows = max(factor, _STRIP_VALUES // max(1, w * c) // factor * factor)
    col_starts = np.arange(0, w, factor)
    col_counts = np.diff(np.append(col_starts, w))
    out = np.empty((-(-h // factor), len(col_starts), c), dtype=pixels.dtype)
    for top in range(0, h, rows):
        if step is not None:
            step(0.5 + 0.45 * top / h, "resizing")
        strip = pixels[top : top + rows]
        row_starts = np.arange(0, strip.shape[0], factor)
        row_counts = np.diff(np.append(row_starts, strip.shape[0]))
        sums = np.add.reduceat(strip, row_starts, axis=0, dtype=np.float64)
        sums = np.add.reduceat(sums, col_starts, axis=1)
        counts = row_counts[:, None, None] * col_counts[None, :, None]
        first = top // factor
        out[first : first + len(row_starts)] = sums / counts
    return out


def convert_image(raw: Any, *, image_type: bool = True) -> tuple[np.ndarray, str]:
    """Convert decoded pixel data to float ``(H, W, C)`` and describe the conversion.

    Parameters
    ----------
    raw : array_like
        ``(H, W)`` or ``(H, W, C)`` numbers.
    image_type : bool, default True
        True for pixels of an image format (PNG, JPEG, TIFF, the clipboard): uint8 and
        uint16 are scaled to [0, 1] by their type's maximum. False for arrays (``.npy``):
        integer values are kept. Other integer types always keep their values (a label
        image 0–9 stays 0–9), and the note says so.

    Notes
    -----
    Floats keep their values (float16 becomes float32, wider floats float64); grey gains
    a channel axis; an alpha channel is dropped.

    Raises
    ------
    ValueError
        For empty, non-numeric, complex, non-finite, or wrongly shaped data.
    """
    arr = np.asarray(raw)
    notes: list[str] = []
    if arr.size == 0:
        raise ValueError(f"image is empty (shape {arr.shape})")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float32)
        notes.append("bool → float {0, 1}")
    elif arr.dtype.kind in "ui":
        arr, note = _convert_integers(arr, image_type)
        notes.append(note)
    elif arr.dtype.kind == "f":
        source = arr.dtype
        if source == np.float16:
            arr = arr.astype(np.float32)
        elif source not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise ValueError("image contains NaN or inf; every pixel must be finite")
        kept = f"{source} kept as is" if source == arr.dtype else f"{source} → {arr.dtype}"
        notes.append(f"{kept} (range {arr.min():.3g} to {arr.max():.3g})")
    elif arr.dtype.kind == "c":
        raise ValueError(f"image must hold real numbers, got complex data (dtype {arr.dtype})")
    else:
        raise ValueError(f"image must hold numbers, got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
        notes.append("grey → 1 channel")
    if arr.ndim != 3:
        raise ValueError(f"image must have shape (H, W) or (H, W, C), got shape {arr.shape}")
    channels = arr.shape[2]
    if channels in (2, 4):
        arr = arr[:, :, : channels - 1]
        notes.append("alpha channel dropped")
    elif channels > MAX_CHANNELS:
        raise ValueError(
            f"image has {channels} channels; at most {MAX_CHANNELS} are supported "
            f"(shape {arr.shape})"
        )
    return np.ascontiguousarray(arr), "; ".join(notes)


def _convert_integers(arr: np.ndarray, image_type: bool) -> tuple[np.ndarray, str]:
    """Scale uint8/uint16 image pixels to [0, 1]; keep every other integer's values."""
    if image_type and arr.dtype in (np.uint8, np.uint16):
        top = np.iinfo(arr.dtype).max
        # one pass, no float32 copy of the integers first (an 8000² photo is 768 MB)
        scaled = np.divide(arr, np.float32(top), dtype=np.float32)
        return scaled, f"{arr.dtype} → float in [0, 1] (÷ {top})"
    low, high = int(arr.min()), int(arr.max())
    # float32 holds every integer up to 2**24 exactly; beyond, float64 (exact to 2**53)
    target = np.float32 if max(abs(low), abs(high)) <= 2**24 else np.float64
    note = f"{arr.dtype} values kept ({low} to {high}, not rescaled) → {np.dtype(target)}"
    return arr.astype(target), note


def load_image(
    path: str | Path,
    work_size: int | None = None,
    *,
    progress: LoadProgress | None = None,
    cancel: threading.Event | None = None,
) -> LoadedImage:
    """Read an image file (PNG, JPEG, TIFF incl. 16-bit, BMP, or ``.npy``).

    Parameters
    ----------
    path : str or Path
        The file.
    work_size : int, optional
        Shrink so the long side is at most this many pixels (None keeps the original;
        a smaller image is never enlarged).
    progress : callable, optional
        Called as ``progress(fraction, stage)`` between the steps (reading, converting,
        resizing strip by strip); the window shows it.
    cancel : threading.Event, optional
        When set, the next step raises :class:`~deconv_gui.core.SolveCancelled`
        (decoding itself is one step).

    Raises
    ------
    ValueError
        With a one-line reason when the file is missing, unreadable, corrupt, empty,
        of an unsupported type, or holds unusable data. ``.npy`` files are read
        without pickle.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FILE_EXTENSIONS:
        raise ValueError(
            f"unsupported file type {suffix or '(none)'!r} for {path.name}; "
            f"expected one of {', '.join(FILE_EXTENSIONS)}"
        )
    try:
        found = path.is_file()
    except OSError as exc:  # a name too long for the system, say
        raise ValueError(
            f"could not read {short_name(path.name)}: {exc.strerror or type(exc).__name__}"
        ) from None
    if not found:
        raise ValueError(f"image file not found: {path}")
    step = _Steps(progress, cancel)
    step(0.0, "reading")
    decoded = read_file(path)
    step(0.3, "converting")
    try:
        pixels, note = convert_image(decoded.raw, image_type=decoded.image_type)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from None
    note = "; ".join([*decoded.notes, note])
    del decoded  # the raw array is no longer needed: free it before resizing
    pixels, resized = apply_work_size(pixels, work_size, progress=progress, cancel=cancel)
    step(1.0, "done")
    return LoadedImage(pixels, str(path), f"{path.name}: {note}{resized}")


def sha256_of(path: str | Path) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
