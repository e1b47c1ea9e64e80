"""The geometry keywords of the convenience signatures, declared and documented once.

Every convenience function of the core takes ``weights`` (a filter or a ready
:class:`~deconv_gui.core.ConvOperator`) plus the layer's geometry: ``stride, padding,
dilation, padding_mode, groups, flip``. They declare the six as
``**geometry: Unpack[GeometryKeywords]`` (so mypy checks every keyword and its type)
and hand them on to :func:`~deconv_gui.core.as_operator` unchanged; :func:`takes_geometry`
shows them as ordinary keyword-only parameters to :func:`inspect.signature` and ``help``
and writes their documentation into the docstring's ``%(geometry)s`` place.

Examples
--------
>>> import inspect
>>> from deconv_gui.core import coverage_map
>>> list(inspect.signature(coverage_map).parameters)[1:]
['input_shape', 'stride', 'padding', 'dilation', 'padding_mode', 'groups', 'flip']
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from .solvers.base import CancelCheck, MonitorKeywords, ProgressCallback
from .solvers.pseudo_inverse import solve_pinv

if TYPE_CHECKING:
    from .geometry import Hyper, Padding

__all__ = [
    "GEOMETRY_DEFAULTS",
    "GEOMETRY_DOCS",
    "GeometryKeywords",
    "MonitorKeywords",
    "PinvKeywords",
    "PinvSolveKeywords",
    "ProblemKeywords",
    "SolveKeywords",
    "SplitKeywords",
    "WatchedKeywords",
    "pinv_options",
    "split_options",
    "takes_geometry",
]


class GeometryKeywords(TypedDict, total=False):
    """The layer's geometry as keywords: the defaults are :data:`GEOMETRY_DEFAULTS`."""

    stride: Hyper
    padding: Padding
    dilation: Hyper
    padding_mode: str
    groups: int
    flip: bool


class ProblemKeywords(GeometryKeywords, total=False):
    """The geometry and ``input_shape``: what builds an operator from a filter."""

    input_shape: tuple[int, int, int] | None


class SolveKeywords(ProblemKeywords, MonitorKeywords, total=False):
    """What every reconstruction takes besides its own options: the problem, the monitor,
    and the deprecated ``return_report``."""

    return_report: bool | None


class WatchedKeywords(ProblemKeywords, total=False):
    """What the functions that run their own loop (a weight rule's evaluations, an
    analysis's iterations) take besides their own options: the problem, ``progress`` and
    ``cancel`` (no :class:`~deconv_gui.core.Callbacks`: their steps are no solver's), and
    the deprecated ``return_report``."""

    progress: ProgressCallback | None
    cancel: CancelCheck | None
    return_report: bool | None


class PinvKeywords(TypedDict, total=False):
    """How the pseudo-inverse is solved: the options of
    :func:`~deconv_gui.core.solvers.solve_pinv` (its defaults are theirs)."""

    reg: float
    rtol: float
    max_iter: int | None
    method: str
    time_limit: float | None


class PinvSolveKeywords(SolveKeywords, PinvKeywords, total=False):
    """:func:`~deconv_gui.core.pinv_reconstruction`'s: the problem, the solve, the monitor
    and the deprecated ``return_report``."""


class SplitKeywords(GeometryKeywords, MonitorKeywords, total=False):
    """:func:`~deconv_gui.core.split_components`'s: the geometry (the image gives
    ``input_shape``), the monitor and the solve but ``reg`` (the split is a projection)."""

    rtol: float
    max_iter: int | None
    method: str
    time_limit: float | None


#: The keywords' defaults, in the order the signatures show them.
GEOMETRY_DEFAULTS: dict[str, Any] = {
    "stride": 1,
    "padding": 0,
    "dilation": 1,
    "padding_mode": "zeros",
    "groups": 1,
    "flip": False,
}
#: Each keyword's default and annotation, for the signatures shown: the problem's first
#: (before the function's own keywords), the monitor's last.
_FRONT: dict[str, tuple[Any, str]] = {
    "input_shape": (None, "tuple[int, int, int] | None"),
    "stride": (1, "Hyper"),
    "padding": (0, "Padding"),
    "dilation": (1, "Hyper"),
    "padding_mode": ("zeros", "str"),
    "groups": (1, "int"),
    "flip": (False, "bool"),
}
#: The solve's keywords take solve_pinv's defaults and annotations.
_PINV = tuple(PinvKeywords.__annotations__)
_SOLVE = inspect.signature(solve_pinv).parameters
_MONITOR = ("callbacks", "progress", "cancel")
_BACK: dict[str, tuple[Any, str]] = {
    **{k: (_SOLVE[k].default, _SOLVE[k].annotation) for k in _PINV},
    "callbacks": (None, "Callbacks | None"),
    "progress": (None, "ProgressCallback | None"),
    "cancel": (None, "CancelCheck | None"),
    "return_report": (None, "bool | None"),
}
#: The keywords each ``**`` annotation stands for.
_EXPANDS = {
    "GeometryKeywords": tuple(GEOMETRY_DEFAULTS),
    "ProblemKeywords": ("input_shape", *GEOMETRY_DEFAULTS),
    "SolveKeywords": (*_FRONT, *_MONITOR, "return_report"),
    "PinvSolveKeywords": (*_FRONT, *_PINV, *_MONITOR, "return_report"),
    "SplitKeywords": (*GEOMETRY_DEFAULTS, *_PINV[1:], *_MONITOR),
    "WatchedKeywords": ("input_shape", *GEOMETRY_DEFAULTS, "progress", "cancel", "return_report"),
}

#: The docstring sections the convenience functions share, by ``%(name)s`` place: the
#: problem's keywords, the monitor's and the retired ``return_report``.
GEOMETRY_DOCS = {
    "weights": """\
weights : array_like or ConvOperator
    Filter ``(f_h, f_w, C_in, C_out)`` or ``(f_h, f_w, C_in)``, or a ready
    :class:`~deconv_gui.core.ConvOperator` (then leave the geometry out).""",
    "geometry": """\
stride, padding, dilation, padding_mode, groups, flip
    The layer's geometry, as for :func:`~deconv_gui.core.conv2d`. With a ready
    :class:`~deconv_gui.core.ConvOperator` in place of the weights they may be left
    out; a value given must agree with the operator's.""",
    "input_shape": """\
input_shape : tuple of int, optional
    ``(H, W, C_in)`` of the forward input: required with a filter, checked against a
    ready operator.""",
    "monitor": """\
callbacks : Callbacks, optional
    One :class:`~deconv_gui.core.Callbacks` (progress, cancel, hooks); or give
    ``progress`` and ``cancel``.
progress : callable, optional
    ``progress(iteration, measure)`` after each iteration, the measure the solve
    monitors (:attr:`~deconv_gui.core.SolverReport.history`).
cancel : callable or threading.Event, optional
    Checked before each iteration; raises :class:`~deconv_gui.core.SolveCancelled`.""",
    "report": """\
return_report : bool, optional
    Deprecated (warns): the result is always the one type under Returns; False still
    gives its bare value (the image, or the chosen weight).""",
}


def split_options(
    options: SolveKeywords | WatchedKeywords | SplitKeywords,
    func: str,
    declared: str = "SolveKeywords",
) -> tuple[ProblemKeywords, MonitorKeywords, bool | None]:
    """``options`` as the problem's keywords, the monitor's and ``return_report``.

    ``func`` names the function for the error, ``declared`` the ``**`` annotation that
    says which keywords it takes (the name of one of the ``…Keywords`` above).

    Raises
    ------
    TypeError
        For a keyword that is none of them, as Python does for a misspelt argument.
    """
    unknown = sorted(set(options) - set(_EXPANDS[declared]))
    if unknown:
        raise TypeError(f"{func}() got an unexpected keyword argument {unknown[0]!r}")
    given: dict[str, Any] = dict(options)
    problem = {k: given[k] for k in _FRONT if k in given}
    monitor = {k: given[k] for k in _MONITOR if k in given}
    return problem, monitor, given.get("return_report")  # type: ignore[return-value]


def pinv_options(options: PinvSolveKeywords | SplitKeywords) -> PinvKeywords:
    """The pseudo-inverse solve's keywords among ``options`` (checked by
    :func:`split_options`), for :func:`~deconv_gui.core.solvers.solve_pinv`."""
    given: dict[str, Any] = dict(options)
    return {k: given[k] for k in _PINV if k in given}  # type: ignore[return-value]


F = TypeVar("F", bound=Callable[..., Any])


def _indented(text: str, place: re.Match[str]) -> str:
    return textwrap.indent(text, place.group(1))


def fill_doc(func: F, sections: dict[str, str]) -> F:
    """Fill the ``%(name)s`` places of ``func``'s docstring with ``sections`` (in place)."""
    if func.__doc__:
        doc = func.__doc__
        for name, text in sections.items():
            # each line of the section at the place's own indentation (methods: deeper)
            place = re.compile(rf"^([ \t]*)%\({name}\)s", re.MULTILINE)
            doc = place.sub(partial(_indented, text), doc)
        func.__doc__ = doc
    return func


def takes_geometry(func: F) -> F:
    """Show ``func``'s ``**`` keywords as keyword-only parameters; fill its docstring.

    ``func`` itself is returned (no wrapper: its type, globals and doctests stay its
    own). Its ``**`` parameter is annotated ``Unpack[GeometryKeywords]``,
    ``Unpack[ProblemKeywords]`` or ``Unpack[SolveKeywords]``; :func:`inspect.signature`
    then lists those keywords with their defaults: ``input_shape`` and the geometry
    first among the keyword-only parameters (after an explicit ``input_shape``), the
    monitor's and ``return_report`` last. The docstring's ``%(geometry)s`` and
    ``%(input_shape)s`` become :data:`GEOMETRY_DOCS`.

    Raises
    ------
    TypeError
        When ``func`` has no such ``**`` parameter (a programming error).
    """
    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    names = (
        _EXPANDS.get(str(params[-1].annotation).removeprefix("Unpack[")[:-1]) if params else None
    )
    if names is None or params[-1].kind is not inspect.Parameter.VAR_KEYWORD:
        raise TypeError(f"{func.__qualname__} has no **Unpack[...Keywords] parameter")
    params.pop()
    keyword = inspect.Parameter.KEYWORD_ONLY

    def shown(table: dict[str, tuple[Any, str]]) -> list[inspect.Parameter]:
        return [
            inspect.Parameter(name, keyword, default=table[name][0], annotation=table[name][1])
            for name in names
            if name in table
        ]

    # after input_shape where there is one, else first among the keyword-only ones
    at = next(
        (i + (p.name == "input_shape") for i, p in enumerate(params) if p.kind is keyword),
        len(params),
    )
    every = params[:at] + shown(_FRONT) + params[at:] + shown(_BACK)
    func.__signature__ = signature.replace(parameters=every)  # type: ignore[attr-defined]
    return fill_doc(func, GEOMETRY_DOCS)
