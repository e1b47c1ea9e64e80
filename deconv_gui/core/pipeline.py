"""The single entry point shared by the window and the command line.

Data flows one way: a frozen :class:`Params` and an image go into the pure
:func:`run_pipeline`, which returns a frozen :class:`Result`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from . import registry
from ._cache import LRUCache
from .analysis.metrics import adjoint_dot_test, reconstruction_metrics
from .decoder import Decoder
from .geometry import ConvGeometry, as_float_array
from .limits import check_magnitudes, check_memory
from .methods import Stage
from .network import Linearization
from .network.single import layer_network
from .norms import relative_norm
from .params import Params
from .registry import INSIGHT_METHODS, METHODS, PANEL_NAMES, PRIORS
from .scores import Metrics, ReconstructionScore
from .solvers import CancelCheck, ProgressCallback, SolveCancelled, SolverReport, is_cancelled
from .transposed import operator_of

__all__ = [
    "INSIGHT_METHODS",
    "METHODS",
    "SSIM_PIXEL_LIMIT",
    "Params",
    "Result",
    "complete_metrics",
    "prepare_image",
    "run_pipeline",
]

#: SSIM is computed by :func:`run_pipeline` for images of at most this many pixels
#: (``H·W``); above it costs ~40 ms per panel on a 512×512×3 float32 image, so only
#: PSNR is given (with a note) and :func:`complete_metrics` can fill it in later.
SSIM_PIXEL_LIMIT = 256 * 256


@dataclass(frozen=True, eq=False)
class Result:
    """Everything :func:`run_pipeline` computed, read-only.

    Attributes
    ----------
    params : Params
        The parameters that produced it.
    geometry : ConvGeometry
        Shapes and hyper-parameters.
    image : numpy.ndarray
        The input image ``x`` as used, ``(H, W, C_in)``.
    forward_output : numpy.ndarray
        ``y = A x + b`` (plus the simulated noise: ``photons``, ``noise_sigma``),
        ``(H_out, W_out, C_out)``.
    images : Mapping[str, numpy.ndarray]
        Every array computed, by panel name (:data:`~deconv_gui.core.registry.PANELS`),
        ``"input"`` and ``"forward"`` included; a panel whose method was not requested
        is absent. Each panel is also an attribute (``result.pinv``, None when absent),
        and :meth:`panel` reads one by name.
    solver : SolverReport or None
        The pseudo-inverse solve's report (iterations, relative residual, converged).
    prior_reports : Mapping[str, SolverReport]
        The report of each prior computed (``"tv"``, ``"nonneg"``,
        ``"richardson_lucy"``): iterations, converged, objective.
    timings : Mapping[str, float]
        Seconds spent in each stage, by stage name.
    metrics : Metrics
        Typed quality numbers, always computed (see :func:`run_pipeline`).
    left_out : Mapping[str, str]
        Methods of ``params.methods`` that were not computed because they do not apply
        to the layer, with the reason (:func:`~deconv_gui.core.applicable.inapplicable_methods`);
        :func:`run_pipeline` refuses those instead, a caller that leaves them out (the
        window's live update) records them here.
    pending : tuple of str
        Methods of ``params.methods`` still being computed: a partial result handed to
        ``on_partial`` (:func:`run_pipeline`) has the slow ones here, and ``metrics``
        scores only the methods done; () for a complete result.

    Notes
    -----
    The panels (see the registry for each one's formula): ``transposed``,
    ``normalized_transposed``, ``pinv`` (Tikhonov when ``params.reg > 0``), ``decoder``
    (the learned decoder ``D(y)``), the priors
    ``tv``, ``nonneg``, ``richardson_lucy``, ``coverage`` (``Aᵀ1``), ``recoverable`` and
    ``nullspace`` (``A⁺Ax`` and ``x − A⁺Ax``) and ``invented`` (``x̂ − A⁺Ax̂`` of the first
    prior computed), each ``(H, W, C_in)``.
    """

    params: Params
    geometry: ConvGeometry
    image: np.ndarray
    forward_output: np.ndarray
    images: Mapping[str, np.ndarray] = field(default_factory=dict)
    solver: SolverReport | None = None
    prior_reports: Mapping[str, SolverReport] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    left_out: Mapping[str, str] = field(default_factory=dict)
    pending: tuple[str, ...] = ()

    def panel(self, name: str) -> np.ndarray | None:
        """The array of panel ``name`` (None when its method was not requested).

        Raises
        ------
        ValueError
            Naming ``name`` when there is no such panel.
        """
        registry.panel(name)
        if name == "input":
            return self.image
        if name == "forward":
            return self.forward_output
        return self.images.get(name)

    def __getattr__(self, name: str) -> np.ndarray | None:
        # only called for names that are not fields: the panels' arrays
        if name in _ARRAY_PANELS:
            return self.images.get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


#: The panels whose arrays a Result gives as attributes (the input and the forward
#: output are fields).
_ARRAY_PANELS = frozenset(PANEL_NAMES) - {"input", "forward"}


def prepare_image(image: Any) -> np.ndarray:
    """Validate an image for the pipeline: ``(H, W)`` becomes ``(H, W, 1)``.

    Raises
    ------
    ValueError
        If ``image`` is not a finite numeric 2-D or 3-D array.
    """
    arr = as_float_array(image, "image")
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise ValueError(f"image must have shape (H, W) or (H, W, C_in), got shape {arr.shape}")
    return arr


def run_pipeline(
    image: Any,
    params: Params,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    on_method: Callable[[str], None] | None = None,
    on_partial: Callable[[Result], None] | None = None,
    decoder: Decoder | None = None,
) -> Result:
    """Compute the forward output and the requested reconstructions.

    Parameters
    ----------
    image : array_like
        ``(H, W, C_in)`` or ``(H, W)``; float32 stays float32.
    params : Params
        Filter, geometry and options.
    progress : callable, optional
        ``progress(iteration, relative_residual)`` during the pseudo-inverse solve.
    cancel : callable or threading.Event, optional
        Checked between stages and between solver iterations.
    on_method : callable, optional
        ``on_method(name)`` before each method of ``params.methods`` runs, so that a
        caller can say whose iterations ``progress`` reports (the pseudo-inverse's
        residual, a prior's relative change, the split's solve).
    on_partial : callable, optional
        ``on_partial(result)``, called once, in the calling thread, after the forward
        output and the cheap methods (those not marked ``slow`` in the registry) and
        before the slow ones: a frozen :class:`Result` whose ``pending`` names the
        slow methods still to come and whose ``metrics`` score the methods done (and
        hold the dot test), so that a window can show the cheap panels and their
        figures at once. Not called when no slow method is requested.
    decoder : Decoder, optional
        The learned decoder of method ``"decoder"`` (the file ``params.decoder_path``
        names, read by the caller: :func:`deconv_gui.io.decoder_for`); needed only when
        ``params.methods`` has ``"decoder"``.

    Returns
    -------
    Result
        ``metrics`` is a :class:`~deconv_gui.core.scores.Metrics`:
        ``reconstructions`` holds, for each reconstruction computed, a
        :class:`~deconv_gui.core.scores.ReconstructionScore` (PSNR/SSIM from
        :func:`reconstruction_metrics` against the input; PSNR only, with a note and
        ``ssim_skipped = True``, above :data:`SSIM_PIXEL_LIMIT` pixels or with
        ``params.ssim = False``; the relative residual ``‖A x̂ − (y − b)‖ / ‖y − b‖``,
        the solve's iterations and the seconds); ``adjoint_dot_test`` is the relative
        mismatch of :func:`adjoint_dot_test` (float64); ``split`` (None without
        ``"nullspace"``) is a :class:`~deconv_gui.core.scores.SplitScore`.

    Raises
    ------
    ValueError
        On an invalid image or a geometry that does not fit it (the message names
        the argument).
    SolveCancelled
        When ``cancel`` fired; nothing partial is returned.

    Notes
    -----
    The metrics stage reuses what is already computed, so that it stays within the
    window's live budget (``benchmarks/bench_pipeline.py``):

    * the pseudo-inverse's relative residual is the solver's report (computed in
      float64 on the solution before its cast to the image's dtype; for a float32
      image the stored panel reproduces ``y`` to ~1e-7 relative, its rounding);
    * the transposed reconstructions' residuals take one forward each, through the
      same operator call as the forward stage, in the image's dtype (for a float32
      image the value is good to ~1e-6 relative, far below the digits shown);
    * the adjoint dot test depends only on the weights and the geometry, so it is
      cached per ``(weights bytes, geometry)`` (a few entries): it reruns after a
      filter or geometry edit, not after a change of image, reg or noise;
    * SSIM is computed in float32 for float32 images, and skipped with
      ``params.ssim = False`` (see :func:`complete_metrics`).

    ``"nullspace"`` needs ``A⁺Ax``. When the measurement is exact (``noise_sigma =
    0``) and ``reg = 0``, the pseudo-inverse panel ``A⁺(y − b) = A⁺Ax`` is reused;
    otherwise one more solve runs on the noise-free ``Ax`` (with this ``rtol`` and
    ``max_iter``, reporting ``progress`` too).
    """
    if not isinstance(params, Params):
        raise ValueError(f"params must be a Params, got {type(params).__name__}")
    x = np.array(prepare_image(image), copy=True)  # frozen below: never freeze the caller's
    geometry = params.geometry(x.shape)
    check_magnitudes(x, params.weights, params.bias)
    check_memory(x.shape, geometry, params.methods)
    timings: dict[str, float] = {}
    op = params.operator(x.shape, x.dtype)  # validated once; every stage below reuses it

    def check_cancel() -> None:
        if is_cancelled(cancel):
            raise SolveCancelled("pipeline cancelled")

    start = time.perf_counter()
    lin = _linearization(x, params)
    if lin is None:
        y = op.apply(x)
        y += np.asarray(params.bias, dtype=y.dtype)
    else:  # act(A x + b), computed in float64 with its local linear map J
        y = lin.output.astype(x.dtype)
    rng = np.random.default_rng(params.noise_seed)
    if params.photons > 0:
        # photon counting: counts of the non-negative intensity, back in image units
        counts = rng.poisson(np.maximum(y, 0).astype(np.float64) * params.photons)
        y = (counts / params.photons).astype(y.dtype)
    if params.noise_sigma > 0:
        y = y + (params.noise_sigma * rng.standard_normal(y.shape)).astype(y.dtype)
    timings["forward"] = time.perf_counter() - start

    stage = Stage(x, y, op, params, progress, cancel, PRIORS, decoder=decoder, lin=lin)
    # the cheap methods first (no cheap one reads a slow one's panel), each group in the
    # registry's order: the slow ones depend on each other in that order (the split on pinv)
    slow = tuple(name for name in params.methods if registry.method(name).slow)
    cheap = tuple(name for name in params.methods if name not in slow)
    partial = None  # scored once: its figures are shown while the slow methods run
    for group in (cheap, slow):
        if group is slow and slow and on_partial is not None:
            check_cancel()
            metrics = _metrics(stage, timings)
            partial = _result(stage, geometry, timings, metrics, pending=slow)
            on_partial(partial)
        for name in group:
            check_cancel()
            if on_method is not None:
                on_method(name)
            start = time.perf_counter()
            registry.method(name).compute(stage)
            timings[name] = time.perf_counter() - start
    check_cancel()
    start = time.perf_counter()
    metrics = _metrics(stage, timings, partial)
    timings["metrics"] = time.perf_counter() - start
    return _result(stage, geometry, timings, metrics)


def _result(
    stage: Stage,
    geometry: ConvGeometry,
    timings: Mapping[str, float],
    metrics: Metrics,
    pending: tuple[str, ...] = (),
) -> Result:
    """The frozen :class:`Result` of what ``stage`` holds now (copies of its mappings)."""
    x, y = stage.x, stage.y
    for array in (x, y, *stage.images.values()):
        array.flags.writeable = False
    assert isinstance(stage.params, Params)
    reports = dict(stage.reports)
    return Result(
        params=stage.params,
        geometry=geometry,
        image=x,
        forward_output=y,
        images=MappingProxyType({"input": x, "forward": y, **stage.images}),
        solver=reports.pop("pinv", None),
        timings=MappingProxyType(dict(timings)),
        prior_reports=MappingProxyType(reports),
        metrics=metrics,
        pending=pending,
    )


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


def _linearization(x: np.ndarray, params: Params) -> Linearization | None:
    """With an activation, the layer ``[conv, act]`` linearised at ``x`` (float64)."""
    if params.activation == "none":
        return None
    net = layer_network(
        params.operator(x.shape), params.bias, params.activation, params.leaky_slope
    )
    return net.linearize(x)


def _metrics(
    stage: Stage,
    timings: Mapping[str, float],
    partial: Result | None = None,
) -> Metrics:
    """The :attr:`Result.metrics` (see :func:`run_pipeline`); the ``partial`` result's
    scores of the very arrays scored again are reused."""
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
    """The result with the SSIM that :func:`run_pipeline` skipped filled in.

    The window's second, lower-priority pass after a live update run with
    ``Params(ssim=False)``; export uses it too, so every SSIM comes from
    :func:`reconstruction_metrics`.

    Parameters
    ----------
    result : Result
        What :func:`run_pipeline` returned.
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
