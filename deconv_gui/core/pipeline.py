"""The single entry point shared by the window and the command line.

Data flows one way: a frozen :class:`Params` and an image go into the pure
:func:`run_pipeline`, which returns a frozen :class:`Result`. Here: the forward output
(with the simulated noise) and the methods in their order; the :class:`Result` itself is
in :mod:`deconv_gui.core.result`, the metrics stage (and :func:`complete_metrics`) in
:mod:`deconv_gui.core.pipeline_metrics`. Every name of ``__all__`` is importable from
here, as before they moved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from . import registry
from .decoder import Decoder
from .geometry import ConvGeometry, as_float_array
from .limits import check_magnitudes, check_memory
from .methods import Stage
from .network import Linearization
from .network.single import layer_network
from .operator import ConvOperator
from .params import Params
from .pipeline_metrics import SSIM_PIXEL_LIMIT, complete_metrics, stage_metrics
from .registry import INSIGHT_METHODS, METHODS, PRIORS
from .result import Result
from .scores import Metrics
from .solvers import CancelCheck, ProgressCallback, SolveCancelled, is_cancelled

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
    y = _with_noise(_forward_output(x, params, op, lin), params)
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
            metrics = stage_metrics(stage, timings)
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
    metrics = stage_metrics(stage, timings, partial)
    timings["metrics"] = time.perf_counter() - start
    return _result(stage, geometry, timings, metrics)


def _linearization(x: np.ndarray, params: Params) -> Linearization | None:
    """With an activation, the layer ``[conv, act]`` linearised at ``x`` (float64)."""
    if params.activation == "none":
        return None
    net = layer_network(
        params.operator(x.shape), params.bias, params.activation, params.leaky_slope
    )
    return net.linearize(x)


def _forward_output(
    x: np.ndarray, params: Params, op: ConvOperator, lin: Linearization | None
) -> np.ndarray:
    """The noise-free forward output ``A x + b``, in the image's dtype; with an
    activation (``lin``), ``act(A x + b)`` as the linearisation computed it (float64)."""
    if lin is not None:
        return lin.output.astype(x.dtype)
    y = op.apply(x)
    y += np.asarray(params.bias, dtype=y.dtype)
    return y


def _with_noise(y: np.ndarray, params: Params) -> np.ndarray:
    """``y`` with the simulated measurement noise of ``params`` (seeded by
    ``noise_seed``): photon counting (``photons``), then Gaussian (``noise_sigma``)."""
    rng = np.random.default_rng(params.noise_seed)
    if params.photons > 0:
        # photon counting: counts of the non-negative intensity, back in image units
        counts = rng.poisson(np.maximum(y, 0).astype(np.float64) * params.photons)
        y = (counts / params.photons).astype(y.dtype)
    if params.noise_sigma > 0:
        y = y + (params.noise_sigma * rng.standard_normal(y.shape)).astype(y.dtype)
    return y


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
