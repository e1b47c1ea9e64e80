"""The single entry point shared by the window and the command line.

Data flows one way: a frozen :class:`Params` and an image go into the pure
:func:`run_pipeline`, which returns a frozen :class:`Result`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from .conv import conv2d
from .geometry import ConvGeometry, as_float_array, as_pair, normalize_bias, normalize_weights
from .reconstruct import (
    normalized_transposed_reconstruction,
    pinv_reconstruction,
    transposed_reconstruction,
)
from .solvers import CancelCheck, ProgressCallback, SolveCancelled, SolverReport, is_cancelled

__all__ = ["METHODS", "Params", "Result", "prepare_image", "run_pipeline"]

#: Reconstructions the pipeline can compute, in display order.
METHODS: tuple[str, ...] = ("transposed", "normalized_transposed", "pinv")


def _frozen_array(array: np.ndarray) -> np.ndarray:
    out = np.array(array, dtype=np.float64, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class Params:
    """Everything that determines a result, except the image pixels themselves.

    Parameters
    ----------
    weights : array_like
        Filter ``(f_h, f_w, C_in, C_out)`` (or 3-D for ``C_out = 1``); stored as a
        read-only float64 4-D array.
    bias : float or sequence of float
        Scalar or one value per output channel; stored as a tuple of ``C_out`` floats.
    stride, padding, dilation : int or (int, int)
        Stored as ``(h, w)`` pairs.
    methods : sequence of str
        Which reconstructions to compute, from :data:`METHODS`. The forward output is
        always computed.
    reg : float
        Tikhonov weight for the pseudo-inverse (0 = exact minimum-norm pseudo-inverse).
    rtol : float
        Relative tolerance of the iterative pseudo-inverse solve.
    max_iter : int or None
        Iteration limit of the solve (None: the solver's default).
    noise_sigma : float
        Standard deviation of Gaussian noise added to the forward output, in image
        units, to simulate a noisy measurement (0 = exact).
    noise_seed : int
        Seed of that noise, so that a result is reproducible.
    image_source : str
        Where the image came from (a sample name or a file path): for the record only.

    Raises
    ------
    ValueError
        Naming the field, when a value is out of range.
    """

    weights: np.ndarray
    bias: tuple[float, ...] = (0.0,)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    methods: tuple[str, ...] = ("transposed", "pinv")
    reg: float = 0.0
    rtol: float = 1e-8
    max_iter: int | None = None
    noise_sigma: float = 0.0
    noise_seed: int = 0
    image_source: str = ""

    def __post_init__(self) -> None:
        weights = normalize_weights(self.weights)
        c_out = weights.shape[3]
        bias = normalize_bias(0.0 if self.bias is None else self.bias, c_out, np.float64)
        set_ = object.__setattr__
        set_(self, "weights", _frozen_array(weights))
        set_(self, "bias", tuple(float(v) for v in bias))
        set_(self, "stride", as_pair(self.stride, "stride", minimum=1))
        set_(self, "padding", as_pair(self.padding, "padding", minimum=0))
        set_(self, "dilation", as_pair(self.dilation, "dilation", minimum=1))
        methods = (self.methods,) if isinstance(self.methods, str) else tuple(self.methods)
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise ValueError(f"methods must be among {', '.join(METHODS)}; unknown: {unknown}")
        set_(self, "methods", tuple(m for m in METHODS if m in methods))
        for name, low, strict in (("reg", 0.0, False), ("rtol", 0.0, True)):
            value = getattr(self, name)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a number, got {value!r}") from None
            if not np.isfinite(number) or number < low or (strict and number == low):
                rule = "> 0" if strict else ">= 0"
                raise ValueError(f"{name} must be a finite number {rule}, got {value!r}")
            set_(self, name, number)
        if self.max_iter is not None:
            if not isinstance(self.max_iter, (int, np.integer)) or int(self.max_iter) < 1:
                raise ValueError(f"max_iter must be an int >= 1 or None, got {self.max_iter!r}")
            set_(self, "max_iter", int(self.max_iter))
        sigma = float(self.noise_sigma)
        if not np.isfinite(sigma) or sigma < 0:
            raise ValueError(f"noise_sigma must be a finite number >= 0, got {self.noise_sigma!r}")
        set_(self, "noise_sigma", sigma)
        set_(self, "noise_seed", int(self.noise_seed))
        set_(self, "image_source", str(self.image_source))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Params):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name))
            if f.name == "weights"
            else getattr(self, f.name) == getattr(other, f.name)
            for f in fields(self)
        )

    __hash__ = None  # type: ignore[assignment]  # holds an array

    def geometry(self, input_shape: tuple[int, int, int]) -> ConvGeometry:
        """The :class:`ConvGeometry` of these params for an image of ``input_shape``."""
        return ConvGeometry(
            tuple(input_shape), self.weights.shape, self.stride, self.padding, self.dilation
        )

    def replace(self, **changes: Any) -> Params:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


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
        ``y = A x + b`` (plus the simulated noise when ``noise_sigma > 0``),
        ``(H_out, W_out, C_out)``.
    transposed, normalized_transposed, pinv : numpy.ndarray or None
        ``Aᵀ(y − b)``, ``Aᵀ(y − b) ⊘ Aᵀ1`` and ``A⁺(y − b)`` (Tikhonov when
        ``params.reg > 0``), each ``(H, W, C_in)``; None when not requested.
    solver : SolverReport or None
        The pseudo-inverse solve's report (iterations, relative residual, converged).
    timings : Mapping[str, float]
        Seconds spent in each stage, by stage name.
    """

    params: Params
    geometry: ConvGeometry
    image: np.ndarray
    forward_output: np.ndarray
    transposed: np.ndarray | None = None
    normalized_transposed: np.ndarray | None = None
    pinv: np.ndarray | None = None
    solver: SolverReport | None = None
    timings: Mapping[str, float] = field(default_factory=dict)


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

    Returns
    -------
    Result

    Raises
    ------
    ValueError
        On an invalid image or a geometry that does not fit it (the message names
        the argument).
    SolveCancelled
        When ``cancel`` fired; nothing partial is returned.
    """
    if not isinstance(params, Params):
        raise ValueError(f"params must be a Params, got {type(params).__name__}")
    x = np.array(prepare_image(image), copy=True)  # frozen below: never freeze the caller's
    geometry = params.geometry(x.shape)
    timings: dict[str, float] = {}
    hyper = {"stride": params.stride, "padding": params.padding, "dilation": params.dilation}
    weights = params.weights.astype(x.dtype)

    def check_cancel() -> None:
        if is_cancelled(cancel):
            raise SolveCancelled("pipeline cancelled")

    start = time.perf_counter()
    y = conv2d(x, weights, params.bias, **hyper)
    if params.noise_sigma > 0:
        rng = np.random.default_rng(params.noise_seed)
        y = y + (params.noise_sigma * rng.standard_normal(y.shape)).astype(y.dtype)
    timings["forward"] = time.perf_counter() - start

    outputs: dict[str, Any] = {}
    common = {"input_shape": x.shape, **hyper}
    if "transposed" in params.methods:
        check_cancel()
        start = time.perf_counter()
        outputs["transposed"] = transposed_reconstruction(y, weights, params.bias, **common)
        timings["transposed"] = time.perf_counter() - start
    if "normalized_transposed" in params.methods:
        check_cancel()
        start = time.perf_counter()
        outputs["normalized_transposed"] = normalized_transposed_reconstruction(
            y, weights, params.bias, **common
        )
        timings["normalized_transposed"] = time.perf_counter() - start
    if "pinv" in params.methods:
        check_cancel()
        start = time.perf_counter()
        solved = pinv_reconstruction(
            y,
            weights,
            params.bias,
            **common,
            reg=params.reg,
            rtol=params.rtol,
            max_iter=params.max_iter,
            progress=progress,
            cancel=cancel,
            return_report=True,
        )
        outputs["pinv"], outputs["solver"] = solved.image, solved.report
        timings["pinv"] = time.perf_counter() - start
    for array in (x, y, *(v for v in outputs.values() if isinstance(v, np.ndarray))):
        array.flags.writeable = False
    return Result(
        params=params,
        geometry=geometry,
        image=x,
        forward_output=y,
        timings=MappingProxyType(timings),
        **outputs,
    )
