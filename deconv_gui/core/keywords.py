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
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

if TYPE_CHECKING:
    from .geometry import Hyper, Padding

__all__ = ["GEOMETRY_DEFAULTS", "GEOMETRY_DOCS", "GeometryKeywords", "takes_geometry"]


class GeometryKeywords(TypedDict, total=False):
    """The layer's geometry as keywords: the defaults are :data:`GEOMETRY_DEFAULTS`."""

    stride: Hyper
    padding: Padding
    dilation: Hyper
    padding_mode: str
    groups: int
    flip: bool


#: The keywords' defaults, in the order the signatures show them.
GEOMETRY_DEFAULTS: dict[str, Any] = {
    "stride": 1,
    "padding": 0,
    "dilation": 1,
    "padding_mode": "zeros",
    "groups": 1,
    "flip": False,
}
_ANNOTATIONS = {"stride": "Hyper", "padding": "Padding", "dilation": "Hyper"}

#: The docstring sections the convenience functions share, by ``%(name)s`` place.
GEOMETRY_DOCS = {
    "geometry": """\
stride, padding, dilation, padding_mode, groups, flip
    The layer's geometry, as for :func:`~deconv_gui.core.conv2d`. With a ready
    :class:`~deconv_gui.core.ConvOperator` in place of the weights they may be left
    out; a value given must agree with the operator's.""",
    "input_shape": """\
input_shape : tuple of int, optional
    ``(H, W, C_in)`` of the forward input: required with a filter, checked against a
    ready operator.""",
}

F = TypeVar("F", bound=Callable[..., Any])


def fill_doc(func: F, sections: dict[str, str]) -> F:
    """Fill the ``%(name)s`` places of ``func``'s docstring with ``sections`` (in place)."""
    if func.__doc__:
        doc = func.__doc__
        for name, text in sections.items():
            doc = doc.replace(f"%({name})s", textwrap.indent(text, "    ").lstrip())
        func.__doc__ = doc
    return func


def takes_geometry(func: F) -> F:
    """Show ``func``'s ``**geometry`` as the six keyword-only parameters; fill its doc.

    ``func`` itself is returned (no wrapper: its type, globals and doctests stay its
    own). Its signature for :func:`inspect.signature` lists ``stride, padding,
    dilation, padding_mode, groups, flip`` with their defaults after ``input_shape``
    (or first among the keyword-only parameters), and its docstring's
    ``%(geometry)s`` and ``%(input_shape)s`` become :data:`GEOMETRY_DOCS`.

    Raises
    ------
    TypeError
        When ``func`` has no ``**geometry`` parameter (a programming error).
    """
    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    if not params or params[-1].kind is not inspect.Parameter.VAR_KEYWORD:
        raise TypeError(f"{func.__qualname__} has no **geometry parameter")
    params.pop()
    # after input_shape where there is one, else first among the keyword-only ones
    keyword = inspect.Parameter.KEYWORD_ONLY
    at = next(
        (i + (p.name == "input_shape") for i, p in enumerate(params) if p.kind is keyword),
        len(params),
    )
    geometry = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=default,
            annotation=_ANNOTATIONS.get(name, type(default).__name__),
        )
        for name, default in GEOMETRY_DEFAULTS.items()
    ]
    shown = signature.replace(parameters=params[:at] + geometry + params[at:])
    func.__signature__ = shown  # type: ignore[attr-defined]
    return fill_doc(func, GEOMETRY_DOCS)
