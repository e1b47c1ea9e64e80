"""Quality numbers for the metrics table: PSNR/SSIM, relative residual, the adjoint dot test."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..geometry import as_float_array, centred_output
from ..keywords import takes_geometry
from ..norms import relative_norm
from ..operator import as_operator

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import GeometryKeywords, ProblemKeywords

__all__ = ["adjoint_dot_test", "reconstruction_metrics", "relative_residual"]


def _as_image(array: Any, name: str) -> np.ndarray:
    arr = as_float_array(array, name)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise ValueError(f"{name} must have shape (H, W) or (H, W, C), got shape {arr.shape}")
    return arr


def reconstruction_metrics(reference: Any, estimate: Any, *, ssim: bool = True) -> dict[str, Any]:
    """PSNR and SSIM of a reconstruction against the true image (scikit-image's metrics).

    Parameters
    ----------
    reference : array_like
        The true image ``(H, W)`` or ``(H, W, C)``.
    estimate : array_like
        A reconstruction of the same shape.
    ssim : bool
        Compute SSIM (the expensive part: ~8 ms per 256×256×3 float32 image); when
        False, ``ssim`` and ``ssim_win_size`` are None and the caller says why.

    Returns
    -------
    dict
        ``psnr`` (dB, ``inf`` for a perfect match, None when undefined), ``ssim``
        (None when undefined), ``data_range`` (``max − min`` of the reference),
        ``ssim_win_size`` (the window used, or None) and ``notes`` (a tuple of
        human-readable reasons for any None or reduced window).

    Raises
    ------
    ValueError
        If the shapes differ or the data are not finite numbers.

    Notes
    -----
    ``data_range`` comes from the reference so that every reconstruction of the same
    image is scored on the same scale. PSNR is ``10 log10(data_range² / MSE)``
    (``skimage.metrics.peak_signal_noise_ratio``'s formula; a test checks they agree)
    with the MSE accumulated in float64. SSIM (uniform
    7×7 window, scikit-image's defaults) runs in float32 when both images are float32
    (about twice as fast as float64 and within ~1e-6 of it, far below the 3 digits
    shown) and in float64 otherwise; it uses ``channel_axis=-1`` when ``C > 1``.
    Its default 7×7 window does not fit images smaller than 7 pixels on a side: the
    window is then reduced to the largest odd size ≤ the smaller side, and SSIM is
    None (with a note) for images smaller than 3×3.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import reconstruction_metrics
    >>> x = np.linspace(0, 1, 64 * 64).reshape(64, 64, 1)
    >>> scores = reconstruction_metrics(x, x + 0.01)
    >>> round(scores["psnr"], 6), round(scores["ssim"], 3)
    (40.0, 0.999)
    """
    ref = _as_image(reference, "reference")
    est = _as_image(estimate, "estimate")
    if est.shape != ref.shape:
        raise ValueError(
            f"estimate must have the reference's shape {ref.shape}, got shape {est.shape}"
        )
    from skimage.metrics import structural_similarity

    notes: list[str] = []
    data_range = float(ref.max()) - float(ref.min())  # in float64 for float32 images too
    result: dict[str, Any] = {
        "psnr": None,
        "ssim": None,
        "data_range": data_range,
        "ssim_win_size": None,
    }
    if data_range <= 0:
        notes.append("the reference is constant (data range 0): PSNR and SSIM are undefined")
        result["notes"] = tuple(notes)
        return result
    # PSNR = 10 log10(data_range² / MSE), skimage's formula, with the difference taken
    # in float64 in one pass (skimage converts both images first: 3× the memory traffic)
    difference = np.subtract(est, ref, dtype=np.float64).ravel()
    mse = float(np.dot(difference, difference)) / difference.size
    result["psnr"] = float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))
    if not ssim:
        result["notes"] = tuple(notes)
        return result
    if ref.dtype != est.dtype:
        ref, est = ref.astype(np.float64, copy=False), est.astype(np.float64, copy=False)
    side = min(ref.shape[0], ref.shape[1])
    win_size = 7 if side >= 7 else (side if side % 2 else side - 1)
    if win_size < 3:
        notes.append(
            f"SSIM needs an image of at least 3×3 pixels, got {ref.shape[0]}×{ref.shape[1]}"
        )
    else:
        if win_size < 7:
            notes.append(f"SSIM window reduced from 7 to {win_size} for a {side}-pixel side")
        channels = ref.shape[2]
        a, b = (ref, est) if channels > 1 else (ref[..., 0], est[..., 0])
        result["ssim"] = float(
            structural_similarity(
                a,
                b,
                win_size=win_size,
                data_range=data_range,
                channel_axis=-1 if channels > 1 else None,
            )
        )
        result["ssim_win_size"] = win_size
    result["notes"] = tuple(notes)
    return result


@takes_geometry
def relative_residual(
    estimate: Any,
    y: Any,
    weights: Any,
    bias: Any = None,
    **geometry: Unpack[GeometryKeywords],
) -> float:
    """``‖A x̂ − (y − b)‖ / ‖y − b‖``: how well a reconstruction reproduces the output.

    Parameters
    ----------
    estimate : array_like
        The reconstruction ``x̂``, ``(H, W, C_in)``.
    y : array_like
        The forward output ``(H_out, W_out, C_out)`` it should reproduce.
    weights, bias, stride, padding, dilation, padding_mode, groups, flip
        As for :func:`conv2d` (``weights`` may be a
        :class:`~deconv_gui.core.ConvOperator`).

    Returns
    -------
    float
        The relative residual in float64, by
        :func:`~deconv_gui.core.norms.relative_norm`: 0 when both the residual and
        ``y − b`` are zero, ``inf`` when only ``y − b`` is zero. The same quantity the
        pseudo-inverse solver reports, so the table compares like with like.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import conv2d, relative_residual
    >>> x, w = np.ones((6, 6, 1)), np.ones((3, 3, 1))
    >>> relative_residual(x, conv2d(x, w, stride=3), w, stride=3)
    0.0
    """
    x = as_float_array(estimate, "estimate").astype(np.float64, copy=False)
    if x.ndim != 3:
        raise ValueError(f"estimate must have shape (H, W, C_in), got shape {x.shape}")
    op = as_operator(weights, x.shape, **geometry)
    centred = centred_output(
        as_float_array(y, "y").astype(np.float64, copy=False), op.geometry, bias
    )
    residual = float(np.linalg.norm(op.apply(x) - centred))
    return relative_norm(residual, float(np.linalg.norm(centred)))


@takes_geometry
def adjoint_dot_test(
    weights: Any,
    *,
    seed: int = 0,
    dtype: Any = np.float64,
    **problem: Unpack[ProblemKeywords],
) -> float:
    """The relative dot-test mismatch ``|⟨Ax, y⟩ − ⟨x, Aᵀy⟩| / (‖Ax‖ ‖y‖)``.

    Parameters
    ----------
    weights, input_shape, stride, padding, dilation, padding_mode, groups, flip
        As for :func:`conv2d_transpose` (``weights`` may be a
        :class:`~deconv_gui.core.ConvOperator`).
    seed : int
        Seed of the random ``x`` and ``y`` (uniform on [−1, 1)).
    dtype : float32 or float64
        Precision of the test; expect ~1e-16 in float64 and ~1e-7 in float32.

    Returns
    -------
    float
        A non-negative number; rounding-level values prove that
        :func:`conv2d_transpose` is the exact adjoint (the green badge).

    Notes
    -----
    Normalising by ``‖Ax‖ ‖y‖`` (Cauchy–Schwarz bound of both inner products) makes
    the value scale-free, so one threshold works for every filter. The vectors are
    uniform rather than normal: any dense random pair tests the identity, and uniform
    draws cost a third as much (at 512×512×3 drawing normals took longer than the
    forward and adjoint together). The test runs the same internal kernels
    (:mod:`deconv_gui.core._kernels`) that every public function and the pipeline
    call, at the full ``input_shape``, so it exercises the same row blocks and thread
    split.

    Examples
    --------
    >>> from deconv_gui.core import adjoint_dot_test, make_filter
    >>> adjoint_dot_test(make_filter("random"), input_shape=(32, 32, 3), stride=2) < 1e-13
    True
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    op = as_operator(weights, **problem)
    geom = op.geometry
    rng = np.random.default_rng(seed)
    x = rng.random((1, *geom.input_shape), dtype=dtype)
    x *= 2
    x -= 1
    y = rng.random((1, *geom.output_shape), dtype=dtype)
    y *= 2
    y -= 1
    forward = op.apply(x)
    adjoint = op.apply_adjoint(y)
    # inner products accumulated in float64 (float32 sums would add their own rounding)
    lhs = float(np.vdot(forward.astype(np.float64, copy=False), y.astype(np.float64, copy=False)))
    rhs = float(np.vdot(x.astype(np.float64, copy=False), adjoint.astype(np.float64, copy=False)))
    scale = float(np.linalg.norm(forward)) * float(np.linalg.norm(y))
    return relative_norm(abs(lhs - rhs), scale)
