"""Named filter presets in HWIO layout ``(f_h, f_w, C_in, C_out)``.

Names, labels, descriptions and the 3×3 kernels are data, read from ``resources/presets.json``;
the rules here extend each kernel to the other sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .choices import check_choice
from .resources import read_json

__all__ = [
    "MAX_PRESET_OUT_CHANNELS",
    "MAX_PRESET_SIZE",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "PRESET_LABELS",
    "make_filter",
    "seed_question_filter",
]

#: The presets as written in ``resources/presets.json``, keyed by name.
_ENTRIES: dict[str, dict[str, Any]] = {e["name"]: e for e in read_json("presets.json")["presets"]}

#: Preset names in the order the GUI lists them.
PRESETS: tuple[str, ...] = tuple(_ENTRIES)

#: One line per preset saying what it does.
PRESET_DESCRIPTIONS: dict[str, str] = {name: e["description"] for name, e in _ENTRIES.items()}

#: The name the window shows for each preset ("Sobel x" for ``sobel_x``).
PRESET_LABELS: dict[str, str] = {name: e["label"] for name, e in _ENTRIES.items()}


def seed_question_filter() -> np.ndarray:
    """The question's 3×3×3 filter (one output channel) from ``resources/seed_question.json``.

    Returns
    -------
    numpy.ndarray
        float64 ``(3, 3, 3, 1)``; ``make_filter("seed_question")`` with its defaults.
    """
    per_channel = np.asarray(read_json("seed_question.json")["filter"], dtype=np.float64)
    return np.moveaxis(per_channel, 0, -1)[..., np.newaxis]


def _spatial(name: str, size: tuple[int, int]) -> np.ndarray:
    """The preset's spatial kernel: as written in the data file at 3×3, else by its rule."""
    if tuple(size) == (3, 3) and "kernel_3x3" in _ENTRIES.get(name, {}):
        return np.array(_ENTRIES[name]["kernel_3x3"], dtype=np.float64)
    return _rule(name, size)


def _rule(name: str, size: tuple[int, int]) -> np.ndarray:
    """The rule that extends a spatial preset to any size (3×3 gives the data file's kernel)."""
    fh, fw = size
    if name == "gaussian":
        sigma_h, sigma_w = max(fh / 4.0, 0.5), max(fw / 4.0, 0.5)
        rows = np.exp(-0.5 * ((np.arange(fh) - (fh - 1) / 2) / sigma_h) ** 2)
        cols = np.exp(-0.5 * ((np.arange(fw) - (fw - 1) / 2) / sigma_w) ** 2)
        kernel = np.outer(rows, cols)
        return kernel / kernel.sum()
    if name == "box":
        return np.full((fh, fw), 1.0 / (fh * fw))
    if name in ("identity", "sharpen", "laplacian"):
        centre = np.zeros((fh, fw))
        centre[(fh - 1) // 2, (fw - 1) // 2] = 1.0
        if name == "identity":
            return centre
        lap = -np.ones((fh, fw)) / max(fh * fw - 1, 1)
        lap[(fh - 1) // 2, (fw - 1) // 2] = 1.0 if fh * fw > 1 else 0.0
        return lap if name == "laplacian" else centre + lap
    if name in ("sobel_x", "sobel_y", "emboss"):
        # separable: smoothing along one axis, central difference along the other
        smooth_h = np.array([1.0, 2.0, 1.0]) if fh == 3 else np.ones(fh)
        smooth_w = np.array([1.0, 2.0, 1.0]) if fw == 3 else np.ones(fw)
        diff_h = np.linspace(-1.0, 1.0, fh) if fh > 1 else np.zeros(1)
        diff_w = np.linspace(-1.0, 1.0, fw) if fw > 1 else np.zeros(1)
        if name == "sobel_x":
            return np.outer(smooth_h, diff_w)
        if name == "sobel_y":
            return np.outer(diff_h, smooth_w)
        kernel = np.add.outer(diff_h, diff_w)
        kernel[(fh - 1) // 2, (fw - 1) // 2] = 1.0
        return kernel
    # make_filter checked the name: only a preset added without a rule gets here
    raise ValueError(f"preset {name!r} has no spatial rule")


#: The largest preset kernel side and output channel count :func:`make_filter` builds.
MAX_PRESET_SIZE = 7
MAX_PRESET_OUT_CHANNELS = 16


def make_filter(
    preset: str,
    *,
    size: int | tuple[int, int] = 3,
    in_channels: int = 3,
    out_channels: int = 1,
    seed: int = 0,
) -> np.ndarray:
    """Build a named filter as a float64 ``(f_h, f_w, C_in, C_out)`` array.

    Parameters
    ----------
    preset : str
        One of :data:`PRESETS`.
    size : int or (int, int)
        Kernel height and width, each from 1 to 7.
    in_channels : int
        ``C_in``, the number of image channels (1 to 4).
    out_channels : int
        ``C_out``. Output channels after the first are the same spatial filter
        rotated by 90° steps (for ``random``: fresh random weights).
    seed : int
        Seed for ``random`` and ``seed_question``.

    Notes
    -----
    Spatial presets are applied equally to every input channel and divided by
    ``C_in``, so that a blur of a grey-ish image stays in the image's range.
    ``seed_question`` with its defaults (3×3, three input channels, one output channel,
    seed 0) is the question's filter of ``resources/seed_question.json``; other shapes or
    seeds draw seeded integers in [-2, 2] the same way, like a hand-made example.

    Examples
    --------
    >>> from deconv_gui.core import make_filter
    >>> make_filter("box", size=3, in_channels=3).shape
    (3, 3, 3, 1)
    >>> round(float(make_filter("box", size=3, in_channels=3).sum()), 12)
    1.0
    """
    check_choice("preset", preset, PRESETS)
    pair: Any = (size, size) if _is_int(size) else size
    if not (
        isinstance(pair, (tuple, list, np.ndarray))
        and len(pair) == 2
        and all(_is_int(n) and 1 <= n <= MAX_PRESET_SIZE for n in pair)
    ):
        raise ValueError(
            f"size must be an int or an (h, w) pair of ints between 1 and {MAX_PRESET_SIZE}, "
            f"got {size!r}"
        )
    fh, fw = int(pair[0]), int(pair[1])
    for name, value, top in (
        ("in_channels", in_channels, 4),
        ("out_channels", out_channels, MAX_PRESET_OUT_CHANNELS),
    ):
        if not (_is_int(value) and 1 <= value <= top):
            raise ValueError(f"{name} must be an int between 1 and {top}, got {value!r}")
    if not (_is_int(seed) and seed >= 0):
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    shape = (fh, fw, in_channels, out_channels)
    if preset == "random":
        return rng.standard_normal(shape) / np.sqrt(fh * fw * in_channels)
    if preset == "seed_question":
        if shape == (3, 3, 3, 1) and seed == 0:
            return seed_question_filter()
        entry = _ENTRIES[preset]
        return rng.integers(entry["low"], entry["high"] + 1, size=shape).astype(np.float64)
    base = _spatial(preset, (fh, fw))
    weights = np.empty(shape)
    for o in range(out_channels):
        rotated = np.rot90(base, o) if fh == fw else (base if o % 2 == 0 else base[::-1, ::-1])
        weights[:, :, :, o] = rotated[:, :, np.newaxis] / in_channels
    return weights


def _is_int(value: Any) -> bool:
    """An int (NumPy's too), not a bool: what sizes, channel counts and seeds take."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
