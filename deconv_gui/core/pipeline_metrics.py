"""The pipeline's metrics stage: how good each reconstruction is, and the dot test.

:func:`stage_metrics` scores what :func:`~deconv_gui.core.pipeline.run_pipeline`
computed (PSNR/SSIM against the input, the relative residual, iterations, seconds; the
adjoint dot test, cached per filter and geometry) by reusing what is already there, so
that it stays within the window's live budget; :func:`complete_metrics` fills in the SSIM
a live run skipped. The figures' types are in :mod:`deconv_gui.core.scores`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from . import registry
from ._cache import LRUCache
from .analysis.metrics import adjoint_dot_test, reconstruction_metrics
from .geometry import ConvGeometry
from .methods import Stage
from .norms import relative_norm
from .params import Params
from .result import Result
from .scores import Metrics, ReconstructionScore
from .solvers import CancelCheck, SolveCancelled, SolverReport, is_cancelled
from .transposed import operator_of

__all__ = ["SSIM_PIXEL_LIMIT", "complete_metrics", "stage_metrics"]

#: SSIM is computed by :func:`~deconv_gui.core.pipeline.run_pipeline` for images of at
#: most this many pixels (``H·W``); above it costs ~40 ms per panel on a 512×512×3
#: float32 image, so only PSNR is given (with a note) and :func:`complete_metrics` can
#: fill it in later.
SSIM_PIXEL_LIMIT = 256 * 256


#: Cached adjoint dot tests per (weights bytes, weights shape, geometry). The live
#: pipeline and the window's insight jobs run on different threads: the cache is locked.
_DOT_TESTS: LRUCache[float] = LRUCache(maxsize=8)


def _cached_dot_test(weights: np.ndarray, geometry: ConvGeometry) -> float:
    """:func:`adjoint_dot_test` (float64) of these weights and geometry, cached."""
    key = (weights.tobytes(), weights.shape, geometry)
    return _DOT_TESTS.get_or_compute(
        key,
        lambda: adjoint_dot_test(operator_of(geometry, weights, np.float64)),
    )


def _skip_ssim_note(params: Params, pixels: int) -> str:
    if not params.ssim:
        return "SSIM skipped: params.ssim is False (live update; filled in afterwards)"
    return f"SSIM skipped: {pixels:,} pixels > {SSIM_PIXEL_LIMIT:,} (too slow to be live)"


def stage_metrics(
    stage: Stage,
    timings: Mapping[str, float],
    partial: Result | None = None,
) -> Metrics:
    """The :attr:`Result.metrics` of what ``stage`` holds now (see
    :func:`~deconv_gui.core.pipeline.run_pipeline`); the ``partial`` result's scores of
    the very arrays scored again are reused."""
    x, y, params, images = stage.x, stage.y, stage.params, stage.images
    reports, op = stage.reports, stage.op
    assert isinstance(params, Params)
    pixels = x.shape[0] * x.shape[1]
    with_ssim = params.ssim and pixels <= SSIM_PIXEL_LIMIT
    centred = y - np.asarray(stage.offset, dtype=y.dtype)
    centred_norm = float(np.linalg.norm(centred.astype(np.float64, copy=False)))
    scores: dict[str, ReconstructionScore] = {}
    for spec in registry.PANELS:
        estimate = images.get(spec.name) if spec.scored else None
        if estimate is None or estimate.shape != x.shape:
            continue
        if partial is not None and partial.images.get(spec.name) is estimate:
            scores[spec.name] = partial.metrics.reconstructions[spec.name]
            continue
        quality = reconstruction_metrics(x, estimate, ssim=with_ssim)
        skipped = not with_ssim and quality["data_range"] > 0
        if skipped:
            quality["notes"] = (*quality["notes"], _skip_ssim_note(params, pixels))
        solved = reports.get(spec.name)
        if spec.name == "pinv" and solved is not None:
            residual = float(solved.relative_residual)
        else:  # a prior's own residual is on its data (RL's are clipped): the one rule here
            reproduced = stage.forward_linear(estimate)
            difference = (reproduced - centred).astype(np.float64, copy=False)
            residual = relative_norm(float(np.linalg.norm(difference)), centred_norm)
        scores[spec.name] = ReconstructionScore.from_quality(
            quality,
            relative_residual=residual,
            iterations=_iterations(solved),
            seconds=timings.get(spec.name),
            ssim_skipped=skipped,
            converged=None if solved is None else bool(solved.converged),
        )
    return Metrics(
        reconstructions=scores,
        adjoint_dot_test=_cached_dot_test(params.weights, op.geometry),
        split=stage.split,
        preimage=stage.preimage,
    )


def _iterations(report: SolverReport | None) -> int | None:
    return None if report is None else int(report.iterations)


def complete_metrics(
    result: Result,
    *,
    pixel_limit: int | None = None,
    cancel: CancelCheck | None = None,
) -> Result:
    """The result with the SSIM filled in that :func:`~.pipeline.run_pipeline` skipped.

    The window's second, lower-priority pass after a live update run with
    ``Params(ssim=False)``; export uses it too, so every SSIM comes from
    :func:`reconstruction_metrics`.

    Parameters
    ----------
    result : Result
        What :func:`~deconv_gui.core.pipeline.run_pipeline` returned.
    pixel_limit : int, optional
        Only fill in SSIM for images of at most this many pixels (``H·W``); None (the
        default) for any size: ~40 ms per panel at 512×512×3 float32.
    cancel : callable or threading.Event, optional
        Checked before each panel; raises :class:`SolveCancelled` when set (nothing
        partial is returned).

    Returns
    -------
    Result
        A new result whose ``metrics.reconstructions`` scores marked
        ``ssim_skipped`` now hold ``ssim``, ``ssim_win_size`` and the notes of
        :func:`reconstruction_metrics` (``ssim_skipped`` False); every array is
        shared with ``result``. ``result`` itself when there was nothing to do.

    Raises
    ------
    ValueError
        If ``result`` is not a :class:`Result`.
    """
    if not isinstance(result, Result):
        raise ValueError(f"result must be a Result, got {type(result).__name__}")
    pixels = result.image.shape[0] * result.image.shape[1]
    if pixel_limit is not None and pixels > pixel_limit:
        return result
    scores = result.metrics.reconstructions
    updated: dict[str, ReconstructionScore] = {}
    for name, score in scores.items():
        if not score.ssim_skipped:
            updated[name] = score
            continue
        if is_cancelled(cancel):
            raise SolveCancelled("metrics cancelled")
        estimate = result.images[name]
        updated[name] = score.with_quality(reconstruction_metrics(result.image, estimate))
    if all(updated[name] is scores[name] for name in scores):
        return result
    return replace(result, metrics=result.metrics.replace_scores(updated))
