"""Limits checked before the pipeline computes: value magnitudes and memory.

Both raise a ``ValueError`` naming the argument and the figure it would need, so that a
huge image or filter is refused in one sentence instead of overflowing into NaN or
filling the machine's memory. No Qt here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from .geometry import ConvGeometry

__all__ = [
    "MAX_MAGNITUDE",
    "check_magnitudes",
    "check_memory",
    "estimate_pipeline_bytes",
    "memory_budget",
]

#: Largest ``max|x| · max(1, Σ|w|)²`` the pipeline accepts: the transposed panels grow
#: like ``|x| (Σ|w|)²`` and PSNR/SSIM square the pixels, in float32 for float32 images
#: (whose largest value is 3.4e38), so this keeps every panel and metric finite.
MAX_MAGNITUDE = 1e15


def check_magnitudes(x: np.ndarray, weights: np.ndarray) -> None:
    """Refuse an image and filter whose panels or metrics would overflow.

    Raises
    ------
    ValueError
        Naming ``image`` (or ``weights``) and the size reached, when
        ``max|x| · max(1, Σ|w|)²`` exceeds :data:`MAX_MAGNITUDE`.
    """
    peak = float(np.abs(x).max()) if x.size else 0.0
    gain = float(np.abs(weights).reshape(-1, weights.shape[-1]).sum(axis=0).max())
    reach = peak * max(1.0, gain) ** 2
    if reach > MAX_MAGNITUDE:
        name = "image" if peak > MAX_MAGNITUDE**0.5 or gain <= 1 else "weights"
        raise ValueError(
            f"{name}: values this large overflow the panels or metrics (image values up to "
            f"{peak:.3g}, filter gain Σ|w| up to {gain:.3g}; |x|·(Σ|w|)² must be at most "
            f"{MAX_MAGNITUDE:.0e}); rescale the image or the filter"
        )


#: Arrays of the image's size (or the output's) that the pipeline holds at its peak, with
#: float64 solver vectors: measured with tracemalloc at 6 to 13 for every method set
#: (``benchmarks/bench_limits.py``); 16 leaves a margin.
_ARRAYS_AT_PEAK = 16


def estimate_pipeline_bytes(geometry: ConvGeometry, methods: Iterable[str] = ()) -> int:
    """An upper estimate of :func:`~deconv_gui.core.run_pipeline`'s peak memory, in bytes.

    ``16 (n + m)`` float64 values for ``n`` unknowns and ``m`` equations, plus the
    preconditioner's ``2 m C_out`` when the pseudo-inverse is solved iteratively.
    """
    n, m = geometry.n_unknowns, geometry.n_equations
    values = _ARRAYS_AT_PEAK * (n + m)
    if {"pinv", "nullspace"} & set(methods):
        values += 2 * m * geometry.output_shape[2]
    return 8 * values


def memory_budget() -> int:
    """Half of the machine's physical memory (4 GiB when it cannot be read)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        total = 0
    return total // 2 if total > 0 else 4 * 1024**3


def check_memory(
    image_shape: tuple[int, ...], geometry: ConvGeometry, methods: Iterable[str] = ()
) -> None:
    """Refuse a problem whose estimated peak memory exceeds :func:`memory_budget`.

    Raises
    ------
    ValueError
        Naming ``image`` with its size, the estimate and the budget.
    """
    need, budget = estimate_pipeline_bytes(geometry, methods), memory_budget()
    if need > budget:
        shape = "×".join(map(str, image_shape))
        raise ValueError(
            f"image: a {shape} image with this filter needs about {need / 1024**3:,.1f} GiB "
            f"of memory, more than the budget of {budget / 1024**3:,.1f} GiB (half of this "
            "machine's memory); use a smaller work size (--work-size N on the command line)"
        )
