"""Limits checked before the pipeline computes: value magnitudes and memory.

Both raise a ``ValueError`` naming the argument and the figure it would need, so that a
huge image or filter is refused in one sentence instead of overflowing into NaN or
filling the machine's memory. No Qt here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from .geometry import ConvGeometry

__all__ = [
    "MAX_MAGNITUDE",
    "check_bias_magnitude",
    "check_filter_magnitudes",
    "check_magnitudes",
    "check_memory",
    "check_solver_data",
    "estimate_pipeline_bytes",
    "memory_budget",
]

#: Largest ``max|x| · max(1, Σ|w|)²`` the pipeline accepts: the transposed panels grow
#: like ``|x| (Σ|w|)²`` and PSNR/SSIM square the pixels, in float32 for float32 images
#: (whose largest value is 3.4e38), so this keeps every panel and metric finite.
MAX_MAGNITUDE = 1e15


def check_magnitudes(x: np.ndarray, weights: np.ndarray, bias: Any = None) -> None:
    """Refuse an image, filter and bias whose panels or metrics would overflow.

    Everything is reckoned in float64 with overflow to ``inf`` (never Python's
    ``OverflowError``), so that even weights of 1e300 get the one-line refusal.

    Raises
    ------
    ValueError
        Naming ``image`` (or ``weights``) and the size reached, when
        ``max|x| · max(1, Σ|w|)²`` exceeds :data:`MAX_MAGNITUDE`; naming ``bias`` when
        ``max|b|`` does (``y = A x + b`` is stored in the image's dtype).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        peak = np.float64(np.abs(x).max()) if x.size else np.float64(0.0)
        gain = np.float64(np.abs(weights).reshape(-1, weights.shape[-1]).sum(axis=0).max())
        reach = peak * max(np.float64(1.0), gain) ** 2
    if not reach <= MAX_MAGNITUDE:
        name = "image" if peak > MAX_MAGNITUDE**0.5 or gain <= 1 else "weights"
        raise ValueError(
            f"{name}: values this large overflow the panels or metrics (image values up to "
            f"{peak:.3g}, filter gain Σ|w| up to {gain:.3g}; |x|·(Σ|w|)² must be at most "
            f"{MAX_MAGNITUDE:.0e}); rescale the image or the filter"
        )
    check_bias_magnitude(bias)


def check_bias_magnitude(bias: Any) -> None:
    """Refuse a bias beyond :data:`MAX_MAGNITUDE` (a ValueError naming ``bias``).

    Independent of the image: the forward output ``y = A x + b`` holds ``b`` as it is.
    """
    if bias is None:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        top = np.float64(np.abs(np.asarray(bias, dtype=np.float64)).max(initial=0.0))
    if not top <= MAX_MAGNITUDE:
        raise ValueError(
            f"bias: values up to {top:.3g} overflow the output y = A x + b or its metrics "
            f"(|b| must be at most {MAX_MAGNITUDE:.0e}); rescale the bias"
        )


def check_filter_magnitudes(weights: np.ndarray, bias: Any = None) -> None:
    """Refuse a filter or bias that no image can be computed with (before any image).

    For a saved set-up (a session) whose image is not read yet: a bias beyond
    :data:`MAX_MAGNITUDE` (:func:`check_bias_magnitude`), or a filter gain ``Σ|w|``
    beyond it, which overflows :func:`check_magnitudes`' bound for any image with
    values of ``1 / MAX_MAGNITUDE`` or more. The image-dependent rest is
    :func:`check_magnitudes`, once the image is known.

    Raises
    ------
    ValueError
        Naming ``weights`` or ``bias``.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.asarray(weights, dtype=np.float64)
        gain = np.float64(np.abs(w).reshape(-1, w.shape[-1]).sum(axis=0).max()) if w.size else 0
    if not gain <= MAX_MAGNITUDE:
        raise ValueError(
            f"weights: a filter gain Σ|w| of {gain:.3g} overflows the panels or metrics of "
            f"any image (Σ|w| must be at most {MAX_MAGNITUDE:.0e}); rescale the filter"
        )
    check_bias_magnitude(bias)


def check_solver_data(centred: np.ndarray, weights: np.ndarray, bias: Any = None) -> None:
    """Refuse data ``y − b`` whose iterative solve would overflow its dtype.

    The solvers form ``‖y − b‖²`` and gradients ``Aᵀ A x`` of the size of
    ``|y − b| · max(1, Σ|w|)²``; that must stay below ``sqrt(max of the dtype) / 10⁴``
    (1.8e15 in float32, 1.3e150 in float64) so that every square and sum is finite.

    Raises
    ------
    ValueError
        Naming ``bias`` when the bias is what makes ``y − b`` large, else ``y``.
    """
    dtype = centred.dtype if centred.dtype == np.float32 else np.dtype(np.float64)
    limit = float(np.sqrt(np.finfo(dtype).max)) / 1e4
    with np.errstate(over="ignore", invalid="ignore"):
        peak = np.float64(np.abs(centred).max()) if centred.size else np.float64(0.0)
        gain = np.float64(np.abs(weights).reshape(-1, weights.shape[-1]).sum(axis=0).max())
        reach = peak * max(np.float64(1.0), gain) ** 2
        top = np.float64(np.abs(np.asarray(bias, dtype=np.float64)).max(initial=0.0))
    if reach <= limit:
        return
    name = "bias" if bias is not None and not top < peak / 2 else "y"
    raise ValueError(
        f"{name}: y − b up to {peak:.3g} with a filter gain Σ|w| up to {gain:.3g} overflows "
        f"the solver in {dtype} (|y − b|·(Σ|w|)² must be at most {limit:.1e}); rescale the "
        "data or the filter"
    )


#: Arrays of the image's size (or the output's) that the pipeline holds at its peak, with
#: float64 solver vectors: measured with tracemalloc at 6 to 13 for every method set
#: (``benchmarks/bench_limits.py``); 16 leaves a margin.
_ARRAYS_AT_PEAK = 16


def estimate_pipeline_bytes(geometry: ConvGeometry, methods: Iterable[str] = ()) -> int:
    """An upper estimate of :func:`~deconv_gui.core.run_pipeline`'s peak memory, in bytes.

    ``16 (n + m)`` float64 values for ``n`` unknowns and ``m`` equations, plus the
    preconditioner's ``2 m C_out`` (``2 m`` for its diagonal form, and at most
    :data:`~deconv_gui.core.solvers.symbol_cells.MAX_CELL_BYTES` of its cell form, taken
    when the full set-up would cost too much) when the pseudo-inverse is solved
    iteratively.
    """
    n, m = geometry.n_unknowns, geometry.n_equations
    values = _ARRAYS_AT_PEAK * (n + m)
    if {"pinv", "nullspace"} & set(methods):
        from .solvers.preconditioner import FULL_SYMBOL_COST
        from .solvers.symbol_cells import MAX_CELL_BYTES, MAX_CELLS

        c_out = geometry.output_shape[2]
        # the full symbol's inverse, or its diagonal and the cells' when that set-up
        # would cost more
        full = (n_out := max(1, m // c_out)) * c_out**3 <= FULL_SYMBOL_COST or c_out == 1
        values += 2 * n_out * (c_out * c_out if full else c_out)
        if not full:
            values += min(MAX_CELL_BYTES, 16 * MAX_CELLS * c_out**2) // 8
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
