"""The one schema of :class:`Params`: fields, defaults, rules, (de)serialisation.

Each field of the frozen dataclass carries its :class:`Rule` (kind, range, help text,
command-line flag) in its metadata. Everything else reads the fields from here:
validation in ``__post_init__``, :meth:`Params.to_dict` / :meth:`Params.from_dict`
(sessions, ``params.json``, the window's stored settings), the command line's options
and defaults (:func:`cli_fields`, :func:`parse_text`) and the window's form (each
control reports and accepts the fields it edits by name). Adding a field is one
line here plus the widget that edits it.

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

import numbers
import os
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

import numpy as np

from .geometry import ConvGeometry, normalize_weights
from .padding import PADDING_MODES
from .registry import ALL_METHODS

__all__ = [
    "GEOMETRY_MAX",
    "INT_MAX",
    "KINDS",
    "Params",
    "Rule",
    "check",
    "cli_fields",
    "defaults",
    "parse_text",
    "rule",
]

#: The kinds of value a field can hold (see :class:`Rule`).
KINDS: tuple[str, ...] = (
    "weights",
    "floats",
    "pair",
    "methods",
    "float",
    "int",
    "optional_int",
    "str",
    "bool",
    "choice",
)

#: The largest seed (and other int) a Qt spin box can hold: ``2**31 − 1``.
INT_MAX = 2**31 - 1
#: The largest stride, padding and dilation: far beyond any useful set-up, and what the
#: window's spin boxes hold (a bound here keeps every accepted value editable there).
GEOMETRY_MAX = 1024


@dataclass(frozen=True)
class Rule:
    """How one :class:`Params` field is checked, stored and offered on the command line.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    minimum, maximum : float or None
        Inclusive bounds (None: unbounded); for pairs, of each element.
    positive : bool
        The value must be strictly greater than ``minimum``.
    help : str
        One line for ``--help`` and tooltips.
    cli : str or None
        The command-line flag (None: not an option).
    group : str
        Which commands offer the flag: ``"problem"`` (all), ``"solver"`` (``run`` and
        ``code``) or ``"run"``.
    metavar : str or None
        Shown in ``--help``.
    choices : tuple of str
        The allowed values of a ``"choice"`` field.
    """

    kind: str
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    help: str = ""
    cli: str | None = None
    group: str = "problem"
    metavar: str | None = None
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        """The allowed range in words: ``"an int from 0 to 2147483647"``."""
        noun = {
            "float": "a finite number",
            "int": "an int",
            "optional_int": "an int or None",
            "pair": "an int or an (h, w) pair of ints",
            "floats": "a number or a sequence of numbers",
            "methods": f"a sequence of names among {', '.join(ALL_METHODS)}",
            "str": "a string",
            "bool": "True or False",
            "weights": "a 3-D or 4-D array of numbers",
            "choice": f"one of {', '.join(self.choices)}",
        }[self.kind]
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and not self.positive:
            return f"{noun} from {_num(low)} to {_num(high)}"
        if low is not None and high is not None:
            return f"{noun} > {_num(low)} and <= {_num(high)}"
        if low is not None:
            return f"{noun} {'>' if self.positive else '>='} {_num(low)}"
        if high is not None:
            return f"{noun} <= {_num(high)}"
        return noun


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _field(default: Any, rule_: Rule) -> Any:
    return field(default=default, metadata={"rule": rule_})


@dataclass(frozen=True, eq=False)
class Params:
    """Everything that determines a result, except the image pixels themselves.

    Parameters
    ----------
    weights : array_like
        Filter ``(f_h, f_w, C_in, C_out)`` (or 3-D for ``C_out = 1``); stored as a
        read-only float64 4-D array.
    bias : float or sequence of float
        A number (broadcast to every output channel) or one value per output
        channel; stored as a tuple of ``C_out`` floats.
    stride, padding, dilation : int or (int, int)
        Stored as ``(h, w)`` pairs.
    padding_mode : str
        ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"`` (PyTorch's).
    methods : sequence of str
        What to compute, from :data:`~deconv_gui.core.registry.ALL_METHODS`. The
        forward output and :attr:`Result.metrics` are always computed.
    reg : float
        Tikhonov weight for the pseudo-inverse (0 = exact minimum-norm pseudo-inverse).
    rtol : float
        Relative tolerance of the iterative pseudo-inverse solve.
    max_iter : int or None
        Iteration limit of the solve (None: the solver's default, 300).
    prior_lam : float
        The weight λ of the total-variation prior (method ``"tv"``), > 0.
    prior_iter : int
        Iteration limit of the ``"tv"`` and ``"nonneg"`` solves, and the number of
        Richardson–Lucy iterations (fewer regularise more).
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

    weights: np.ndarray = field(
        metadata={"rule": Rule("weights", help="filter (f_h, f_w, C_in[, C_out])")}
    )
    bias: tuple[float, ...] = _field(
        0.0,
        Rule(
            "floats",
            help="bias: one number, or one per output channel",
            cli="--bias",
            metavar="B|B1,B2,...",
        ),
    )
    stride: tuple[int, int] = _field(
        (2, 2),
        Rule(
            "pair",
            minimum=1,
            maximum=GEOMETRY_MAX,
            help="stride",
            cli="--stride",
            metavar="S|SH,SW",
        ),
    )
    padding: tuple[int, int] = _field(
        (1, 1),
        Rule(
            "pair",
            minimum=0,
            maximum=GEOMETRY_MAX,
            help="padding on each side",
            cli="--padding",
            metavar="P|PH,PW",
        ),
    )
    dilation: tuple[int, int] = _field(
        (1, 1),
        Rule(
            "pair",
            minimum=1,
            maximum=GEOMETRY_MAX,
            help="dilation",
            cli="--dilation",
            metavar="D|DH,DW",
        ),
    )
    padding_mode: str = _field(
        "zeros",
        Rule(
            "choice",
            help="what the padding holds, as PyTorch's padding_mode",
            cli="--padding-mode",
            metavar="|".join(PADDING_MODES),
            choices=PADDING_MODES,
        ),
    )
    methods: tuple[str, ...] = _field(
        ("transposed", "pinv"),
        Rule("methods", help="what to compute", cli="--methods", group="run", metavar="LIST"),
    )
    reg: float = _field(
        0.0,
        Rule(
            "float", minimum=0.0, help="Tikhonov weight (0: exact A⁺)", cli="--reg", group="solver"
        ),
    )
    rtol: float = _field(
        1e-8,
        Rule(
            "float",
            minimum=0.0,
            positive=True,
            help="relative tolerance of the pseudo-inverse solve",
            cli="--rtol",
            group="solver",
        ),
    )
    max_iter: int | None = _field(
        200,
        Rule(
            "optional_int",
            minimum=1,
            maximum=100_000,
            help="iteration limit of the solve (none: the solver's default)",
            cli="--max-iter",
            group="solver",
            metavar="N|none",
        ),
    )
    prior_lam: float = _field(
        1e-3,
        Rule(
            "float",
            minimum=0.0,
            maximum=1e6,
            positive=True,
            help="λ of the TV prior (method tv)",
            cli="--prior-lam",
            group="solver",
            metavar="LAMBDA",
        ),
    )
    prior_iter: int = _field(
        100,
        Rule(
            "int",
            minimum=1,
            maximum=100_000,
            help="iteration limit of the priors (tv, nonneg; richardson_lucy runs exactly this)",
            cli="--prior-iter",
            group="solver",
            metavar="N",
        ),
    )
    noise_sigma: float = _field(
        0.0,
        Rule(
            "float",
            minimum=0.0,
            maximum=1e6,
            help="σ of Gaussian noise added to y, in image units",
            cli="--noise",
            group="solver",
            metavar="SIGMA",
        ),
    )
    photons: float = _field(
        0.0,
        Rule(
            "float",
            minimum=0.0,
            maximum=1e12,
            help="photons counted at intensity 1: Poisson noise on y (0: none)",
            cli="--photons",
            group="solver",
            metavar="N",
        ),
    )
    noise_seed: int = _field(
        0,
        Rule(
            "int",
            minimum=0,
            maximum=INT_MAX,
            help="seed of the simulated noise",
            cli="--noise-seed",
            group="solver",
        ),
    )
    image_source: str = _field("", Rule("str", help="where the image came from"))
    ssim: bool = _field(True, Rule("bool", help="compute SSIM in the metrics"))

    def __post_init__(self) -> None:
        weights = normalize_weights(self.weights)
        set_ = object.__setattr__
        frozen = np.array(weights, dtype=np.float64, copy=True)
        frozen.flags.writeable = False
        set_(self, "weights", frozen)
        scalar_bias = _is_real(self.bias)
        for f in fields(self)[1:]:
            set_(self, f.name, _check(f.name, f.metadata["rule"], getattr(self, f.name)))
        c_out = weights.shape[3]
        if scalar_bias:
            set_(self, "bias", self.bias * c_out)
        elif len(self.bias) != c_out:
            raise ValueError(
                f"bias must be a number or one value per output channel (C_out = {c_out}), "
                f"got {len(self.bias)} values"
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
        """The :class:`ConvGeometry` of these params for an image of ``input_shape``."""
        return ConvGeometry(
            tuple(input_shape),
            self.weights.shape,
            self.stride,
            self.padding,
            self.dilation,
            self.padding_mode,
        )

    def replace(self, **changes: Any) -> Params:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values: lists for tuples, nested lists for weights.

        ``weights_shape`` is added so that a reader can check the nesting.
        ``Params.from_dict(p.to_dict()) == p``, also through ``json`` (floats are
        written as their shortest round-trip ``repr``).
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "weights":
                out["weights_shape"] = list(value.shape)
                value = value.tolist()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

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
        if not isinstance(data, dict):
            raise ValueError(f"params must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)} | {"weights_shape"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"params has unknown fields: {', '.join(map(str, unknown))}")
        if "weights" not in data:
            raise ValueError("params.weights is missing")
        try:
            weights = np.array(data["weights"], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("params.weights must be nested lists of numbers") from None
        shape = data.get("weights_shape")
        if shape is not None and list(weights.shape) != shape:
            raise ValueError(
                f"params.weights has shape {list(weights.shape)} but weights_shape says {shape}"
            )
        kwargs: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        kwargs.pop("weights_shape", None)
        kwargs["weights"] = weights
        try:
            return cls(**kwargs)
        except ValueError as exc:
            raise ValueError(f"params.{exc}") from None


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
    return _check(name, rule(name), value)


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
    rule_ = rule(name)
    text = str(text).strip()
    try:
        if rule_.kind == "pair":
            parts = text.replace("×", ",").replace("x", ",").split(",")
            if len(parts) not in (1, 2):
                raise ValueError
            values = tuple(int(v) for v in parts)
            value: Any = values * 2 if len(values) == 1 else values
        elif rule_.kind == "floats":
            value = tuple(float(v) for v in text.split(","))
            if len(value) == 1:  # one number: broadcast, as Params does with a number
                value = value[0]
        elif rule_.kind == "methods":
            value = tuple(v.strip() for v in text.split(",") if v.strip())
        elif rule_.kind == "float":
            value = float(text)
        elif rule_.kind == "int":
            value = int(text)
        elif rule_.kind == "optional_int":
            value = None if text.lower() in ("none", "auto") else int(text)
        elif rule_.kind == "bool":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            value = text.lower() in ("true", "1", "yes")
        else:
            value = text
        checked = _check(name, rule_, value)
    except ValueError:
        raise ValueError(f"{name} must be {rule_.describe()}, got {text!r}") from None
    # one number stays a number: Params broadcasts it to every output channel
    return checked[0] if rule_.kind == "floats" and not isinstance(value, tuple) else checked


# ---------------------------------------------------------------------- validation


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _in_range(name: str, rule_: Rule, value: float, shown: Any) -> None:
    low, high = rule_.minimum, rule_.maximum
    if (
        (low is not None and (value < low or (rule_.positive and value == low)))
        or (high is not None and value > high)
        # Python ints of any size are finite (np.isfinite refuses those beyond int64)
        or not (isinstance(value, (int, np.integer)) or np.isfinite(value))
    ):
        raise ValueError(f"{name} must be {rule_.describe()}, got {shown!r}")


def _check(name: str, rule_: Rule, value: Any) -> Any:
    """``value`` checked against ``rule_`` and normalised (tuples, plain Python types)."""
    kind = rule_.kind
    wrong = ValueError(f"{name} must be {rule_.describe()}, got {value!r}")
    if kind == "float":
        if not _is_real(value):
            raise wrong
        _in_range(name, rule_, float(value), value)
        return float(value)
    if kind == "int" or (kind == "optional_int" and value is not None):
        if not _is_int(value):
            raise wrong
        _in_range(name, rule_, int(value), value)
        return int(value)
    if kind == "optional_int":
        return None
    if kind == "pair":
        pair = (value, value) if _is_int(value) else value
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise wrong
        if not all(_is_int(v) for v in pair):
            raise wrong
        for v in pair:
            _in_range(name, rule_, int(v), value)
        return (int(pair[0]), int(pair[1]))
    if kind == "floats":
        items = [value] if _is_real(value) else value
        if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
            raise wrong
        items = list(np.asarray(items, dtype=object).reshape(-1))
        if not items or not all(_is_real(v) and np.isfinite(float(v)) for v in items):
            raise wrong
        return tuple(float(v) for v in items)
    if kind == "methods":
        items = (value,) if isinstance(value, str) else value
        if not hasattr(items, "__iter__") or not all(isinstance(m, str) for m in items):
            raise wrong
        items = tuple(items)
        unknown = [m for m in items if m not in ALL_METHODS]
        if unknown:
            raise ValueError(f"{name} must be among {', '.join(ALL_METHODS)}; unknown: {unknown}")
        return tuple(m for m in ALL_METHODS if m in items)
    if kind == "str":
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            raise wrong
        return value
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise wrong
        return bool(value)
    if kind == "choice":
        if not isinstance(value, str) or value not in rule_.choices:
            raise wrong
        return value
    raise ValueError(f"{name} has an unknown kind {kind!r}")
