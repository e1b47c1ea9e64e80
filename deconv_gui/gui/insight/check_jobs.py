"""The work behind "Check my code", run off the GUI thread (no Qt here).

:func:`compare_job` compares a user's array with the forward output or the
transposed reconstruction of a :class:`Result`; :func:`question_job` runs the seed
question's ``deConv`` and compares it with the true adjoint, and
:func:`explain_question` words the outcome. All math is in ``deconv_gui.core``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...core import (
    ArrayComparison,
    ConvGeometry,
    ConvOperator,
    InverseCandidate,
    Result,
    compare_arrays,
    question_deconv,
    question_inverse_check,
)
from ...core import transposed_reconstruction as _transposed
from ...core.groups import dense_filter
from ...view.colormaps import readable_colour

__all__ = [
    "KINDS",
    "TRANSPOSED_LAYER",
    "VERDICT_COLORS",
    "VERDICT_COLORS_DARK",
    "CheckOutcome",
    "QuestionFacts",
    "compare_job",
    "expected_shape",
    "explain_question",
    "inverse_candidates",
    "question_job",
    "reference_for",
    "verdict_colour",
    "verdict_level",
]

#: The verdicts' colours on a light window (contrast 4.5 at least on #efefef), and on a
#: dark one: :func:`verdict_colour` picks the shade that reads.
VERDICT_COLORS = {"match": "#116329", "close": "#7d4e00", "differs": "#b42318"}
VERDICT_COLORS_DARK = {"match": "#3fb950", "close": "#d29922", "differs": "#ff7b72"}
_CLOSE = 1e-2  # relative error below this (but above compare_arrays' rtol) is "close"


def verdict_colour(level: str, background: tuple[int, int, int]) -> str:
    """The colour of verdict ``level`` that reads on ``background`` (RGB).

    >>> verdict_colour("match", (239, 239, 239)), verdict_colour("match", (40, 40, 40))
    ('#116329', '#3fb950')
    """
    return readable_colour((VERDICT_COLORS[level], VERDICT_COLORS_DARK[level]), background)


def verdict_level(relative_error: float, matches: bool) -> str:
    """``"match"`` (to rounding), ``"close"`` (below 1 %) or ``"differs"``."""
    if matches:
        return "match"
    return "close" if relative_error < _CLOSE else "differs"


#: What a user's array may be: key → (menu text, phrase used in messages).
KINDS: dict[str, tuple[str, str]] = {
    "forward_output": ("forward output  y = A x + b", "the forward output"),
    "transposed": ("transposed reconstruction  Aᵀ(y − b)", "the transposed reconstruction"),
}


class QuestionFacts(NamedTuple):
    """Why the question's deConv departs from the adjoint in this case."""

    symmetric: bool
    bias_sum: float
    negative_fraction: float
    padding: tuple[int, int] | tuple[tuple[int, int], tuple[int, int]]
    dilation: tuple[int, int]


class CheckOutcome(NamedTuple):
    """A finished comparison: the two arrays, the comparison and (question mode) facts.

    ``inverses`` (question mode, unpadded layers) are the candidate inverses of
    :func:`~deconv_gui.core.question_inverse_check`, the asker's second guess first.
    """

    candidate: np.ndarray
    reference: np.ndarray
    comparison: ArrayComparison
    facts: QuestionFacts | None = None
    inverses: tuple[InverseCandidate, ...] | None = None


def expected_shape(result: Result, kind: str) -> tuple[int, ...]:
    """The shape a user's array of ``kind`` must have for ``result``."""
    geom = result.geometry
    return tuple(geom.output_shape if kind == "forward_output" else geom.input_shape)


def reference_for(result: Result, kind: str) -> np.ndarray:
    """The app's array of ``kind`` (the transposed one is computed if not in ``result``)."""
    if kind == "forward_output":
        return result.forward_output
    if result.transposed is not None:
        return result.transposed
    return _adjoint(result)


def _adjoint(result: Result) -> np.ndarray:
    p = result.params
    # the operator carries every geometry field (padding mode, groups, flip)
    return _transposed(result.forward_output, ConvOperator(result.geometry, p.weights), p.bias)


def compare_job(candidate: np.ndarray, result: Result, kind: str) -> CheckOutcome:
    """Compare ``candidate`` with ``result``'s array of ``kind`` (ValueError on shape)."""
    reference = reference_for(result, kind)
    shape = expected_shape(result, kind)
    phrase = KINDS[kind][1]
    squeeze = tuple(n for n in np.shape(candidate) if n != 1)
    if squeeze != tuple(n for n in shape if n != 1):
        raise ValueError(
            f"expected {shape} = {phrase} for this image and filter, got "
            f"{tuple(np.shape(candidate))}"
        )
    comparison = compare_arrays(candidate, reference, what=phrase)
    return CheckOutcome(np.reshape(candidate, reference.shape), reference, comparison)


#: Why the question's deConv is not run on a ConvTranspose2d layer.
TRANSPOSED_LAYER = (
    "the question's deConv is the transposed pass of a Conv2d layer, and this layer is a "
    "ConvTranspose2d: set the layer kind to conv (Geometry) to compare it with Aᵀ"
)


def question_job(result: Result) -> CheckOutcome:
    """Run the question's deConv on ``result``'s y; compare it with ``Aᵀ(y − b)``.

    Raises ``ValueError`` (question_deconv's message) when the loop refuses.
    """
    p = result.params
    if not isinstance(result.geometry, ConvGeometry):
        raise ValueError(TRANSPOSED_LAYER)
    if p.stride[0] != p.stride[1]:
        raise ValueError(
            f"the question's loop has one stride s for both axes, but the stride is {p.stride}"
        )
    geom = result.geometry  # the loop knows one dense kernel: groups and flip as applied
    theirs = question_deconv(
        result.forward_output,
        dense_filter(p.weights, geom.groups, geom.flip),
        p.bias,
        input_shape=result.geometry.input_shape,
        stride=p.stride[0],
    )
    adjoint = _adjoint(result)
    comparison = compare_arrays(theirs, adjoint, what="the true adjoint Aᵀ(y − b)")
    w = p.weights
    facts = QuestionFacts(
        symmetric=bool(np.allclose(w, w.transpose(1, 0, 2, 3))),
        bias_sum=float(np.sum(p.bias)),
        negative_fraction=float(np.mean(adjoint < 0)),
        # (ph, pw), or the four sides ((top, bottom), (left, right)) when they differ
        padding=geom.padding if geom.symmetric else geom.pads,
        dilation=geom.dilation,
    )
    return CheckOutcome(theirs, adjoint, comparison, facts, inverse_candidates(result))


def inverse_candidates(result: Result) -> tuple[InverseCandidate, ...] | None:
    """The asker's second guess against ``Aᵀ`` and ``A⁺`` on ``result``'s y.

    None when the layer has padding or dilation: the question's loop ignores both, so
    its layer would not be the window's.
    """
    p, geom = result.params, result.geometry
    if geom.padding != (0, 0) or geom.dilation != (1, 1):
        return None
    # the window's A⁺ panel, when it is the exact pseudo-inverse of this y
    known = result.pinv if p.reg == 0 else None
    return question_inverse_check(
        result.image,
        dense_filter(p.weights, geom.groups, geom.flip),
        p.bias,
        stride=p.stride[0],
        y=result.forward_output,
        x_pinv=known,
    )


def explain_question(facts: QuestionFacts) -> str:
    """One paragraph: when the loop equals the adjoint, and what differs here."""
    reasons = []
    if not facts.symmetric:
        reasons.append(
            "the filter is not symmetric, so transposing each kernel slice "
            "(<code>np.transpose(W[:, :, x, c])</code>) mirrors it across the diagonal"
        )
    if facts.bias_sum != 0:
        reasons.append(
            f"the bias (sum {facts.bias_sum:g}) is added into the image once per window "
            "covering each pixel, instead of being subtracted from y first"
        )
    if facts.negative_fraction > 0:
        reasons.append(
            f"ReLU sets the {100 * facts.negative_fraction:.0f}% of pixels where the adjoint "
            "is negative to 0"
        )
    if facts.padding not in ((0, 0), ((0, 0), (0, 0))):
        reasons.append(f"the loop ignores the padding {facts.padding}, so its windows are shifted")
    if facts.dilation != (1, 1):
        reasons.append(f"the loop ignores the dilation {facts.dilation}")
    intro = (
        "<b>The question's deConv</b> runs the asker's loop as written: each kernel slice "
        "transposed, the bias added into the image, then ReLU. It equals the true adjoint "
        "Aᵀ(y − b) (what a transposed-convolution layer computes) only for symmetric "
        "kernels, zero bias and a non-negative result, with no padding. "
    )
    if not reasons:
        return intro + "All of these hold here, so the two agree."
    return intro + "Here it departs because " + "; ".join(reasons) + "."
