"""The one schema of :class:`Params`: fields, defaults, rules, (de)serialisation.

The fields are declared in :mod:`deconv_gui.core.param_fields` (:class:`ParamFields`,
which :class:`Params` extends), each carrying its :class:`Rule` (kind, range, help text,
command-line flag) in its metadata. Everything else reads the fields from here:
validation in ``__post_init__``, :meth:`Params.to_dict` / :meth:`Params.from_dict`
(sessions, ``params.json``, the window's stored settings), the command line's options
and defaults (:func:`cli_fields`, :func:`parse_text`) and the window's form (each
control reports and accepts the fields it edits by name). Adding a field is one
entry in ``param_fields`` (and its line in :class:`Params`' docstring) plus the widget
that edits it.
The rules themselves (:class:`Rule`, the checks, the reading of command-line
text) are in :mod:`deconv_gui.core.rules`; their names are offered here too.

Examples
--------
>>> from deconv_gui.core import Params, make_filter
>>> p = Params(make_filter("gaussian"), stride=2)
>>> p.stride, p.padding
((2, 2), (1, 1))
>>> Params.from_dict(p.to_dict()) == p
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any

import numpy as np

from .geometry import ConvGeometry, normalize_weights
from .network.single import ACTIVATIONS
from .operator import ConvOperator
from .param_fields import (
    LAYER_KINDS,
    TIME_LIMIT_MAX,
    WINDOW_TIME_LIMIT,
    ParamFields,
    StoredPadding,
)
from .rules import (
    GEOMETRY_MAX,
    INT_MAX,
    KINDS,
    Rule,
    check_value,
    fields_from_dict,
    fields_to_dict,
    is_real,
    parse_value,
)

__all__ = [
    "ACTIVATIONS",
    "GEOMETRY_MAX",
    "INT_MAX",
    "KINDS",
    "LAYER_KINDS",
    "TIME_LIMIT_MAX",
    "WINDOW_TIME_LIMIT",
    "Params",
    "Rule",
    "StoredPadding",
    "check",
    "cli_fields",
    "defaults",
    "parse_text",
    "rule",
]


@dataclass(frozen=True, eq=False)
class Params(ParamFields):
    """Everything that determines a result, except the image pixels themselves.

    Parameters
    ----------
    weights : array_like
        Filter ``(f_h, f_w, C_in, C_out)`` (or 3-D for ``C_out = 1``); stored as a
        read-only float64 4-D array.
    bias : float or sequence of float
        A number (broadcast to every output channel) or one value per output
        channel; stored as a tuple of ``C_out`` floats.
    stride, dilation : int or (int, int)
        Stored as ``(h, w)`` pairs.
    padding : int, (int, int), ((int, int), (int, int)) or str
        As :class:`~deconv_gui.core.ConvGeometry` takes it: stored as an ``(h, w)`` pair
        when each axis has the same padding on both sides, else as
        ``((top, bottom), (left, right))``; or a name, ``"same"`` (TF/Keras, ONNX
        ``SAME_UPPER``), ``"same_lower"`` or ``"valid"``, kept as a name (resolved for
        each image by :meth:`geometry`).
    padding_mode : str
        ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"`` (PyTorch's).
    groups : int
        PyTorch's ``groups``: the weights are ``(f_h, f_w, C_in/groups, C_out)`` and
        each group of ``C_out/groups`` output channels sees only its ``C_in/groups``
        input channels (``groups = C_in``: depthwise). ``C_out`` must be divisible by
        it here; ``C_in`` is checked with the image (:meth:`geometry`).
    flip : bool
        True convolution (the kernel flipped in both spatial axes, as
        ``scipy.signal.convolve``) instead of PyTorch's cross-correlation.
    activation : str
        ``"none"``, ``"relu"`` or ``"leaky_relu"`` after the layer: the forward output is
        ``act(A x + b)``. With an activation, the linear methods use the layer's local
        linear map ``J = D A`` at the image (``D`` the activation's slope at each output,
        ``c = D b``): ``transposed`` is ``Jᵀ(y − c)``, ``pinv`` ``J⁺(y − c)``, the split
        ``J⁺J x`` and ``x − J⁺J x``; the priors need ``"none"``.
    leaky_slope : float
        The negative slope of ``"leaky_relu"``, in ``(0, 1]`` (PyTorch's default 0.01;
        Keras's is 0.3).
    methods : sequence of str
        What to compute, from :data:`~deconv_gui.core.registry.ALL_METHODS`. The
        forward output and :attr:`Result.metrics` are always computed.
    decoder_path : str
        The decoder file (``fit-decoder``'s ``.npz``) of method ``"decoder"``: named
        here, so that a session records which file; read by the caller (``io``), which
        hands the decoder to :func:`~deconv_gui.core.run_pipeline` ("" = none).
    channel : int or None
        The output channel that ``deconvnet`` and ``guided_backprop`` project back (the
        others set to 0); None: the whole output.
    reg : float
        Tikhonov weight for the pseudo-inverse (0 = exact minimum-norm pseudo-inverse).
    rtol : float
        Relative tolerance of the iterative pseudo-inverse solve.
    max_iter : int or None
        Iteration limit of the solve (None: the solver's default, 300).
    time_limit : float
        Seconds after which the iterative pseudo-inverse solve (``pinv`` and the
        null-space split) stops as at its iteration limit, its report saying why (the
        estimated ``κ(A)`` and, when large, Tikhonov); 0 = no limit (the default; the
        window starts its layers at :data:`WINDOW_TIME_LIMIT`). A limited result
        depends on the machine's speed.
    prior_lam : float
        The weight λ of the total-variation prior (method ``"tv"``), > 0.
    prior_iter : int
        Iteration limit of the ``"tv"`` and ``"nonneg"`` solves, and the number of
        Richardson–Lucy iterations (fewer regularise more).
    prior_nonneg : bool
        Constrain the total-variation image to ``x ≥ 0`` (method ``"tv"``).
    noise_sigma : float
        Standard deviation of Gaussian noise added to the forward output, in image
        units, to simulate a noisy measurement (0 = exact).
    photons : float
        Photon count of a pixel of intensity 1, to simulate photon (Poisson) noise:
        ``y`` becomes ``Poisson(photons · max(y, 0)) / photons`` before any Gaussian
        noise (0 = no Poisson noise; more photons, less noise).
    noise_seed : int
        Seed of that noise (both kinds), so that a result is reproducible.
    image_source : str
        Where the image came from (a sample name or a file path): for the record only.
    ssim : bool
        Compute SSIM in :attr:`Result.metrics` (default). SSIM is most of the metrics
        stage's cost (~8 ms per panel at 256×256×3), so a live update may run with
        ``ssim=False`` and fill it in with :func:`complete_metrics` in a second pass;
        PSNR, residuals and the dot test are always computed.

    Raises
    ------
    ValueError
        Naming the field, when a value has the wrong type or is out of range.

    Notes
    -----
    The defaults are the window's and the command line's (one set): stride 2,
    padding 1, the transposed and pseudo-inverse reconstructions, at most 200
    iterations of the solve.
    """

    def __post_init__(self) -> None:
        weights = normalize_weights(self.weights)
        set_ = object.__setattr__
        frozen = np.array(weights, dtype=np.float64, copy=True)
        frozen.flags.writeable = False
        set_(self, "weights", frozen)
        scalar_bias = is_real(self.bias)
        for f in fields(self)[1:]:
            set_(self, f.name, check_value(f.name, f.metadata["rule"], getattr(self, f.name)))
        # the bias is per channel of the layer's output: A's output for a conv, its input
        # (the weights' third axis times groups) for a transposed conv
        c_out = weights.shape[3]
        if self.layer_kind == "conv_transpose":
            c_out = weights.shape[2] * self.groups
        if weights.shape[3] % self.groups:
            raise ValueError(
                f"groups {self.groups} must divide C_out = {weights.shape[3]} (the weights' "
                f"last axis, shape {weights.shape})"
            )
        if scalar_bias:
            set_(self, "bias", self.bias * c_out)
        elif len(self.bias) != c_out:
            raise ValueError(
                f"bias must be a number or one value per output channel (C_out = {c_out}), "
                f"got {len(self.bias)} values"
            )
        if self.channel is not None and self.channel >= c_out:
            raise ValueError(
                f"channel must be an output channel from 0 to {c_out - 1} (C_out = {c_out}), "
                f"got {self.channel}"
            )

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

    def geometry(self, input_shape: Sequence[int]) -> ConvGeometry:
        """The :class:`ConvGeometry` of these params for an image of ``input_shape``.

        For a ``conv_transpose`` layer, a
        :class:`~deconv_gui.core.transposed.TransposedGeometry` (the image is the layer's
        input map; the same attributes, ``conv`` the strided conv it transposes).
        """
        if self.layer_kind == "conv_transpose":
            return self.operator(input_shape).geometry
        return ConvGeometry(
            tuple(input_shape),
            self.weights.shape,
            self.stride,
            self.padding,
            self.dilation,
            self.padding_mode,
            self.groups,
            self.flip,
        )

    def operator(self, input_shape: Sequence[int], dtype: Any = None) -> ConvOperator:
        """The layer's operator for an image of ``input_shape`` (no bias): a
        :class:`~deconv_gui.core.ConvOperator`, or for ``conv_transpose`` a
        :class:`~deconv_gui.core.ConvTransposeOperator` (``dtype``: the weights' float64
        by default; the weights are rounded to it)."""
        # the weights rounded to dtype first: every precision of the operator then
        # computes with the same numbers (as conv2d with weights of that dtype does)
        weights = self.weights.astype(dtype) if dtype is not None else self.weights
        if self.layer_kind == "conv_transpose":
            from .transposed import ConvTransposeOperator

            return ConvTransposeOperator.from_weights(
                weights,
                input_shape=tuple(input_shape),
                stride=self.stride,
                padding=self.padding,
                output_padding=self.output_padding,
                dilation=self.dilation,
                dtype=dtype,
                padding_mode=self.padding_mode,
                groups=self.groups,
                flip=self.flip,
            )
        return ConvOperator(self.geometry(input_shape), weights, dtype)

    def replace(self, **changes: Any) -> Params:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values: lists for tuples, nested lists for weights.

        ``weights_shape`` is added so that a reader can check the nesting.
        ``Params.from_dict(p.to_dict()) == p``, also through ``json`` (floats are
        written as their shortest round-trip ``repr``).
        """
        return fields_to_dict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Params:
        """Rebuild :class:`Params` from :meth:`to_dict` output (a JSON object).

        Missing fields take their defaults; ``weights`` is required.

        Raises
        ------
        ValueError
            Naming the field (``params.<name>``), on a missing ``weights``, an unknown
            field, a wrong type or a value out of range.
        """
        return fields_from_dict(cls, data)


def rule(name: str) -> Rule:
    """The :class:`Rule` of field ``name``.

    Raises
    ------
    ValueError
        When ``Params`` has no field ``name``.
    """
    for f in fields(Params):
        if f.name == name:
            return f.metadata["rule"]
    raise ValueError(f"name must be a Params field, got {name!r}")


def check(name: str, value: Any) -> Any:
    """``value`` checked against field ``name``'s rule, normalised as ``Params`` stores it.

    For widgets that validate one value before showing it (``weights`` and the bias's
    length need the whole set and are checked by ``Params`` itself).

    Raises
    ------
    ValueError
        Naming the field, when the value has the wrong type or is out of range.
    """
    return check_value(name, rule(name), value)


def defaults() -> dict[str, Any]:
    """Every field's default (all but ``weights``), as given to ``Params``."""
    return {f.name: f.default for f in fields(Params) if f.default is not MISSING}


def cli_fields(group: str) -> list[tuple[str, Rule, Any]]:
    """``(field name, rule, default)`` of the command-line options of ``group``."""
    return [
        (f.name, f.metadata["rule"], f.default)
        for f in fields(Params)
        if f.metadata["rule"].cli and f.metadata["rule"].group == group
    ]


def parse_text(name: str, text: str) -> Any:
    """Parse a command-line value of field ``name`` and check it (one rule set).

    Pairs read ``"2"``, ``"2,1"``, ``"2x1"`` or ``"2×1"``; number lists and method
    lists are comma-separated; ``max_iter`` also reads ``"none"`` or ``"auto"``.

    Raises
    ------
    ValueError
        Naming the field, when the text cannot be read or the value is out of range.
    """
    return parse_value(name, rule(name), text)
