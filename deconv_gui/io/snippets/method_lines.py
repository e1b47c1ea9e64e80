"""The lines every flavour of script prints alike for the methods: their comments, the
normalised transpose, the priors, the null-space split and what a prior invented (each
flavour gives its own expressions for the arrays)."""

from __future__ import annotations

from collections.abc import Sequence

from .common import PRIOR_VARIABLES, Settings, code_block, invented_by
from .templates import NUMPY_FISTA, NUMPY_RL, NUMPY_TV
from .templates_torch import TORCH_FISTA, TORCH_RL, TORCH_TV

__all__ = ["NOTES", "lost_lines", "normalized_lines", "prior_lines", "rl_left_out", "setting_lines"]

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


def setting_lines(settings: Settings, solver: str) -> list[str]:
    """The methods' settings as literals: ``reg``, the solve's ``rtol, max_iter`` (the
    flavour's own line ``solver``, when a method solves), ``prior_iter`` and TV's weight."""
    p, methods = settings.params, settings.methods
    lines = []
    if "pinv" in methods or "nonneg" in methods:
        lines.append(f"reg = {p.reg!r}  # Tikhonov weight (0: the exact pseudo-inverse)")
    if settings.solves:
        lines.append(solver)
    if settings.priors:
        lines.append(f"prior_iter = {p.prior_iter}  # iteration limit of the priors")
    if "tv" in methods:
        lines.append(f"lam, tv_nonneg = {p.prior_lam!r}, {settings.prior_nonneg}  # TV weight")
    return lines


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


#: The priors' code of the standalone scripts by array module: FISTA (with its ``|A|²``
#: bound), Richardson–Lucy and the TV prox.
_PRIOR_BLOCKS = {
    "np": (NUMPY_FISTA, NUMPY_RL, NUMPY_TV),
    "torch": (TORCH_FISTA, TORCH_RL, TORCH_TV),
}


def prior_lines(settings: Settings, module: str) -> list[str]:
    """Non-negative least squares, Richardson–Lucy and total variation, when asked for:
    the same lines over NumPy arrays or torch tensors (``module`` ``"np"`` or ``"torch"``;
    ``clip(min=0)``, ``zeros_like`` and ``sum`` are both libraries')."""
    fista, rl, tv = _PRIOR_BLOCKS[module]
    methods = settings.methods
    lines: list[str] = []
    if {"nonneg", "tv"} & set(methods):
        lines += ["", "", *code_block(fista), "lipschitz = norm_bound()"]
    if "nonneg" in methods:
        lines += [
            "",
            *NOTES["nonneg"],
            "project = lambda v, step: v.clip(min=0)  # noqa: E731",
            f"x0 = {module}.zeros_like(x)",
            "x_nonneg, n_iter = fista(project, x0, lipschitz, prior_iter, 1e-5, reg)",
            'print(f"non-negative: {n_iter} iterations")',
        ]
    if "richardson_lucy" in methods:
        lines += [
            "",
            "",
            *code_block(rl),
            *NOTES["richardson_lucy"],
            "x_rl = richardson_lucy((y - bias).clip(min=0), prior_iter)",
        ]
    lines += rl_left_out(settings)
    if "tv" in methods:
        lines += [
            "",
            "",
            *code_block(tv),
            "# total variation: argmin 1/2 |A x - (y - b)|^2 + lam TV(x) (x >= 0 if tv_nonneg),",
            "# by FISTA with the TV prox (PyProximal's TV or scikit-image's denoise_tv_chambolle",
            "# also solve the inner problem, without the warm start)",
            f"x_tv, n_iter = fista(tv_prox(lam, tv_nonneg), {module}.zeros_like(x), lipschitz, "
            "prior_iter, 3e-4)",
            "misfit = forward(x_tv) - (y - bias)",
            f"objective = 0.5 * float({module}.sum(misfit**2)) + lam * total_variation(x_tv)",
            'print(f"total variation: {n_iter} iterations, objective {objective:.6g}")',
        ]
    return lines


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
