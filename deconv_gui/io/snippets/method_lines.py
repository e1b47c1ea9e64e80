"""The lines every flavour of script prints alike for the methods: their comments, the
normalised transpose, the null-space split and what a prior invented (each flavour gives
its own expressions for the arrays)."""

from __future__ import annotations

from collections.abc import Sequence

from .common import PRIOR_VARIABLES, Settings, invented_by

__all__ = ["NOTES", "lost_lines", "normalized_lines", "rl_left_out"]

#: The comment lines above a method's lines, the same in every flavour of script.
NOTES: dict[str, tuple[str, ...]] = {
    "pinv": (
        "# How to get the image back: A+(y - b), exact on what y determines. The part of x",
        "# in the null space of A (at least x.size - y.size dimensions) is lost: A+ gives 0",
    ),
    "nonneg": (
        "# non-negative least squares: argmin |A x - (y - b)|^2 + reg |x|^2 with x >= 0,",
        "# by projected accelerated gradient (the projection onto x >= 0 is the prox)",
    ),
    "richardson_lucy": (
        "# the Poisson model has no negative data: simulated noise is clipped at 0",
    ),
}


def normalized_lines(methods: Sequence[str], seen: str, divided: str) -> list[str]:
    """The normalised transpose, when ``methods`` ask for it: ``seen`` is the script's
    test of a covered pixel, ``divided`` its ``x_transposed ⊘ cover`` (0 elsewhere)."""
    if "normalized_transposed" not in methods:
        return []
    return [
        "# the transpose divided by the coverage: no checkerboard (0 where nothing reaches)",
        f"seen = {seen}",
        f"x_normalized = {divided}",
    ]


def rl_left_out(settings: Settings) -> list[str]:
    """Why Richardson–Lucy is missing, when it was asked for and cannot run."""
    if not settings.rl_left_out:
        return []
    return ["# Richardson-Lucy is left out: it needs a filter without negative weights"]


def lost_lines(methods: Sequence[str], recovered: str, share: str) -> list[str]:
    """The null-space split of ``x`` and what a prior invented, when ``methods`` ask.

    ``recovered`` is the script's ``A⁺`` of an expression (``{}`` where it goes),
    ``share`` its ``‖x_lost‖ / ‖x‖``.
    """
    lines: list[str] = []
    if "nullspace" in methods:
        lines += [
            "",
            "# what is lost: x = A+A x (what y determines) + (x - A+A x) (the null space of A,",
            "# which no method can recover)",
            f"x_recoverable = {recovered.format('forward(x)')}",
            "x_lost = x - x_recoverable",
            f"share = {share}",
            'print(f"lost: {share:.0%} of |x| lies in the null space")',
        ]
    prior = invented_by(methods)
    if prior is not None:
        image = PRIOR_VARIABLES[prior]
        lines += [
            "# what the prior invented: the part of its image in the null space (y says nothing",
            "# there), the same split of its image",
            f"x_invented = {image} - {recovered.format(f'forward({image})')}",
        ]
    return lines
