"""The frozen :class:`Result` of :func:`~deconv_gui.core.pipeline.run_pipeline`.

What one run computed, read-only: the image and the forward output, every panel's
array (by name, and as an attribute), the solvers' reports, the timings and the
:class:`~deconv_gui.core.scores.Metrics`. The pipeline builds it
(:mod:`deconv_gui.core.pipeline`), the metrics stage scores it
(:mod:`deconv_gui.core.pipeline_metrics`), the window and the command line read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import registry
from .geometry import ConvGeometry
from .params import Params
from .registry import PANEL_NAMES
from .scores import Metrics
from .solvers import SolverReport

__all__ = ["Result"]


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
