"""What the prior-based reconstructions share: validation into one operator, the docs.

Every reconstruction of this subpackage is built the same way: the convenience
signature (``y, weights, bias`` plus the geometry keywords) is validated once into one
:class:`~deconv_gui.core.ConvOperator` and the centred data ``y − b``; a solver of
:mod:`deconv_gui.core.solvers` then works only through the operator's ``matvec`` and
``rmatvec`` (progress after every iteration, cancel checked before every iteration,
:class:`~deconv_gui.core.SolveCancelled` raised with nothing half-written handed out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..geometry import centred_output
from ..keywords import fill_doc, takes_geometry
from ..limits import check_solver_data
from ..operator import ConvOperator, as_operator
from ..solvers import deliver

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import GeometryKeywords

__all__ = [
    "check_count",
    "check_number",
    "check_stopping",
    "deliver",
    "prepare",
    "shared_doc",
]


#: The docstring sections the convenience functions of the priors share, by ``%(name)s``
#: place (besides the keywords' own, :data:`~deconv_gui.core.keywords.GEOMETRY_DOCS`);
#: a section may hold the place of one listed after it. ``example_problem`` is the
#: blurred square the examples reconstruct.
_SHARED_DOC = {
    "problem": """\
y, weights, bias
    As for :func:`~deconv_gui.core.pinv_reconstruction` (``weights`` may be a
    ready :class:`~deconv_gui.core.ConvOperator`).
%(input_shape)s
%(geometry)s""",
    "fista_stop": """\
max_iter : int
    Iteration limit (each iteration: one forward and one adjoint; for TV also a few
    steps of its prox).
tol : float
    Stop when the relative duality gap is at most ``tol`` (see the module Notes:
    converged means the objective is proven within ``tol`` of the minimum).""",
    "choice_cancel": """\
cancel : callable or threading.Event, optional
    Checked before each evaluation and inside each solve; raises
    :class:`~deconv_gui.core.SolveCancelled`.
%(report)s""",
    "raises": """\
Raises
------
ValueError
    On bad arguments (the message names the argument).
%(cancelled)s

Warns
-----
NotConvergedWarning
    Only with the deprecated ``return_report=False``, when ``max_iter`` stopped the
    solve before ``tol`` (otherwise ``report.converged`` says so).""",
    "cancelled": """\
SolveCancelled
    When ``cancel`` fired.""",
    "example_problem": """\
>>> import numpy as np
>>> from deconv_gui.core import conv2d, make_filter
>>> x = np.zeros((16, 16, 1)); x[4:12, 4:12] = 1.0
>>> w = make_filter("gaussian", size=3, in_channels=1)
>>> y = conv2d(x, w, stride=2, padding=1)""",
}

F = TypeVar("F", bound=Callable[..., Any])


def shared_doc(func: F) -> F:
    """Fill the ``%(name)s`` places of ``func``'s docstring with the shared sections.

    One text for what the reconstructions document alike (the problem arguments,
    ``progress`` and ``cancel``, the report, the errors); the filled docstring is what
    ``help`` and the doctests read. ``func``'s ``**geometry`` is shown as the six
    keywords (:func:`~deconv_gui.core.keywords.takes_geometry`).
    """
    return takes_geometry(fill_doc(func, _SHARED_DOC))


def check_number(value: Any, name: str, *, minimum: float = 0.0, strict: bool = False) -> float:
    """``value`` as a finite float ``>= minimum`` (``> minimum`` when ``strict``).

    A string is refused even when it spells a number (``"0.1"``): the Python API takes
    numbers, and text belongs to the parsers of the command line and the window.

    Raises
    ------
    ValueError
        Naming ``name``, for anything else (bools, strings, NaN, inf, out of range).
    """
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    rule = ">" if strict else ">="
    if not np.isfinite(number) or number < minimum or (strict and number == minimum):
        raise ValueError(f"{name} must be a finite number {rule} {minimum:g}, got {value!r}")
    return number


def check_count(value: Any, name: str, *, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum``; a ValueError naming ``name`` otherwise."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_stopping(max_iter: Any, tol: Any) -> tuple[int, float]:
    """``max_iter`` as an int ``>= 1`` and ``tol`` as a float ``> 0`` (ValueError otherwise)."""
    return check_count(max_iter, "max_iter"), check_number(tol, "tol", strict=True)


def prepare(
    y: Any, weights: Any, bias: Any, input_shape: Any = None, **geometry: Unpack[GeometryKeywords]
) -> tuple[ConvOperator, np.ndarray]:
    """Validate the arguments once: the operator and the centred data ``y − b``.

    ``weights`` is a filter (with ``input_shape`` and the geometry keywords) or a ready
    :class:`~deconv_gui.core.ConvOperator`, as for :func:`~deconv_gui.core.as_operator`.
    The operator returned works in the dtype of ``y`` (float32 stays float32, anything
    else is float64): first-order methods need no more than float32 for their
    tolerances, and float32 halves the memory traffic that dominates their iterations.
    """
    op = as_operator(weights, input_shape, **geometry)
    centred = centred_output(y, op.geometry, bias)
    check_solver_data(centred, op.weights, bias)
    if op.dtype != centred.dtype:
        op = op.replace(dtype=centred.dtype)
    return op, centred
