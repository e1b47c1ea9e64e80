"""The methods of a network prefix at an image: one pure function, a frozen result.

At ``x₀`` the prefix is ``f(x) = J x + c`` on ``x₀``'s linear region (to first order
with smooth layers: :func:`.smooth.first_order`), so the
single-layer methods carry over with ``J`` for ``A`` and ``c`` for the bias:

- ``forward``: ``f(x₀)`` at the chosen layer (its bias included, before its activation);
- ``transposed``: ``Jᵀ(f(x₀) − c) = JᵀJ x₀`` (backprop of the features);
- ``pinv``: ``J⁺(f(x₀) − c) = J⁺J x₀``, the minimum-norm image with the same features;
- ``nullspace``: ``recoverable`` ``J⁺J x₀`` and ``nullspace`` ``x₀ − J⁺J x₀``;
- ``deconvnet`` and ``guided_backprop``: ``f(x₀)`` (or one channel of it) sent back by
  Zeiler & Fergus's and Springenberg et al.'s rules.

The images are keyed by the registry's panel names, so the window, the command line
and the export read them as they read a single layer's.

Examples
--------
>>> import numpy as np
>>> from deconv_gui.core import ConvOperator
>>> from deconv_gui.core.network import Conv, Network, ReLU
>>> w = np.random.default_rng(0).standard_normal((3, 3, 1, 2))
>>> net = Network([Conv(ConvOperator.from_weights(w, input_shape=(6, 6, 1), padding=1)), ReLU()])
>>> result = run_prefix(net, np.ones((6, 6, 1)), ("transposed", "deconvnet"))
>>> sorted(result.images)
['deconvnet', 'forward', 'input', 'transposed']
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..solvers import CancelCheck, ProgressCallback, SolverReport
from .chain import Linearization, Network
from .residual import flat_layers

__all__ = ["PREFIX_METHODS", "PREFIX_PANELS", "PrefixResult", "run_prefix"]

#: The methods of a prefix, in compute order (``forward`` is always computed).
PREFIX_METHODS: tuple[str, ...] = (
    "transposed",
    "deconvnet",
    "guided_backprop",
    "pinv",
    "nullspace",
)
#: The panels (registry names) each method fills.
PREFIX_PANELS: Mapping[str, tuple[str, ...]] = {
    "transposed": ("transposed",),
    "deconvnet": ("deconvnet",),
    "guided_backprop": ("guided_backprop",),
    "pinv": ("pinv",),
    "nullspace": ("recoverable", "nullspace"),
}


@dataclass(frozen=True)
class PrefixResult:
    """What :func:`run_prefix` computed, read-only.

    Attributes
    ----------
    network : Network
        The prefix.
    image : numpy.ndarray
        ``x₀`` as the prefix takes it, ``(H, W, C)``.
    forward_output : numpy.ndarray
        ``f(x₀)``, the chosen layer's output before its activation.
    images : Mapping[str, numpy.ndarray]
        Every array by panel name, ``"input"`` and ``"forward"`` included.
    channel : int or None
        The channel the deconvnet and guided backprop projected (None: the whole map).
    solver : SolverReport or None
        The ``J⁺`` solve's report.
    timings : Mapping[str, float]
        Seconds per stage.
    metrics : Mapping[str, float]
        ``pinv_relative_residual`` ``‖J x̂ − J x₀‖ / ‖J x₀‖``, ``pinv_psnr`` (``J⁺J x₀``
        against ``x₀``, dB), ``lost_fraction`` ``‖x₀ − J⁺J x₀‖² / ‖x₀‖²`` and
        ``active_fraction`` (the units the (leaky) ReLUs pass), where they apply.
    """

    network: Network
    image: np.ndarray
    forward_output: np.ndarray
    images: Mapping[str, np.ndarray] = field(default_factory=dict)
    channel: int | None = None
    solver: SolverReport | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)


def _check(network: Network, methods: Sequence[str], channel: int | None) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = (methods,)
    unknown = [m for m in methods if m not in (*PREFIX_METHODS, "forward")]
    if unknown:
        raise ValueError(
            f"methods: a network prefix computes forward, {', '.join(PREFIX_METHODS)}; "
            f"not {', '.join(map(str, unknown))}"
        )
    c_out = network.shapes[-1][2]
    if channel is not None and not 0 <= int(channel) < c_out:
        raise ValueError(
            f"channel must be an output channel from 0 to {c_out - 1} (C_out = {c_out}), "
            f"got {channel}"
        )
    return tuple(m for m in PREFIX_METHODS if m in methods)


def _one_channel(signal: np.ndarray, channel: int | None) -> np.ndarray:
    if channel is None:
        return signal
    out = np.zeros_like(signal)
    out[..., channel] = signal[..., channel]
    return out


def run_prefix(
    network: Network,
    x0: Any,
    methods: Sequence[str] = ("transposed", "pinv"),
    *,
    channel: int | None = None,
    reg: float = 0.0,
    rtol: float = 1e-6,
    max_iter: int | None = None,
    time_limit: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> PrefixResult:
    """The prefix's methods at ``x₀`` (see the module), by panel name.

    Parameters
    ----------
    network : Network
        The chain up to the chosen layer.
    x0 : array_like
        The image the model's first layer takes, ``network.input_shape``.
    methods : sequence of str
        Among :data:`PREFIX_METHODS` (``"forward"`` accepted, always computed).
    channel : int, optional
        Project only this output channel by the deconvnet and guided backprop.
    reg, rtol, max_iter, time_limit
        The ``J⁺`` solve: Tikhonov weight, relative tolerance, iteration limit (None:
        :data:`~deconv_gui.core.network.solve.PREFIX_MAX_ITER`) and seconds (None: no
        limit); a solve that stops short says why in its report
        (:func:`~deconv_gui.core.network.solve.solve_prefix_pinv`).
    progress, cancel
        Called by the ``J⁺`` solve each iteration / checked between iterations
        (:class:`~deconv_gui.core.solvers.SolveCancelled` when set).

    Raises
    ------
    ValueError
        Naming ``methods``, ``channel`` or ``x0`` when they do not fit the network.
    """
    wanted = _check(network, methods, channel)
    start = time.perf_counter()
    x = np.asarray(x0, dtype=np.float64)
    if x.shape != network.input_shape or not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be a finite image of shape {network.input_shape}")
    lin = network.linearize(x)
    timings = {"forward": time.perf_counter() - start}
    images: dict[str, np.ndarray] = {"input": x, "forward": lin.output}
    features = lin.output - lin.offset  # J x₀
    metrics: dict[str, float] = {}
    solver = None
    for name in wanted:
        start = time.perf_counter()
        if name == "transposed":
            images["transposed"] = lin.apply_adjoint(features)
        elif name in ("deconvnet", "guided_backprop"):
            images[name] = lin.project(_one_channel(lin.output, channel), name)
        elif "pinv" not in images:
            limits = {"reg": reg, "rtol": rtol, "max_iter": max_iter, "time_limit": time_limit}
            solver = _pinv(lin, features, images, metrics, limits, progress, cancel)
        if name == "nullspace":
            images["recoverable"] = images["pinv"]
            images["nullspace"] = x - images["pinv"]
            metrics["lost_fraction"] = _ratio(images["nullspace"], x) ** 2
        timings[name] = time.perf_counter() - start
    if "pinv" not in wanted:
        images.pop("pinv", None)
    metrics.update(_active(lin))
    return PrefixResult(network, x, lin.output, images, channel, solver, timings, metrics)


def _pinv(lin: Linearization, features, images, metrics, limits, progress, cancel):
    # J x₀ is in the range of J: the solver need not guard against a y outside it
    x_hat, report = lin.pinv(features, consistent=True, progress=progress, cancel=cancel, **limits)
    images["pinv"] = x_hat
    metrics["pinv_relative_residual"] = _ratio(lin.apply(x_hat) - features, features)
    x0 = images["input"]
    mse = float(np.mean((x_hat - x0) ** 2))
    span = float(np.ptp(x0)) or 1.0
    metrics["pinv_psnr"] = float("inf") if mse == 0 else 10 * np.log10(span**2 / mse)
    return report


def _ratio(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(b))
    return float(np.linalg.norm(a)) / norm if norm > 0 else 0.0


def _active(lin: Linearization) -> dict[str, float]:
    """The fraction of units the (leaky) ReLUs pass at ``x₀`` (their masks' mean)."""
    masks = [
        np.asarray(state)
        for layer, state in flat_layers(lin.network.layers, lin.states)
        if layer.kind in ("relu", "leaky_relu")
    ]
    if not masks:
        return {}
    return {"active_fraction": float(sum(m.sum() for m in masks) / sum(m.size for m in masks))}
