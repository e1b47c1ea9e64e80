"""The one list of what the app can compute and show: methods and panels.

Every other list of names (the window's panels and checkboxes, the metrics table's
rows, the cursor read-out, the export's files, the command line's ``--methods``, the
pipeline's compute order, the priors, what the code scripts compute and save) is
derived from :data:`PANELS` and :data:`METHOD_SPECS` here, so that a panel is spelled
one way everywhere. Qt-free: plain data that the GUI, ``io`` and the CLI read.

A new method is one :class:`MethodSpec` here (built by :func:`~.specs.make_method`: its
panels, its compute function from :mod:`deconv_gui.core.methods`, whether it is a prior,
what the scripts call and save) plus that function; :class:`~deconv_gui.core.Result`
holds its images by panel name without a new field.

Examples
--------
>>> from deconv_gui.core.registry import panel, METHODS
>>> METHODS[:7]
('transposed', 'normalized_transposed', 'pinv', 'decoder', 'tv', 'nonneg', 'richardson_lucy')
>>> METHODS[7:]
('deconvnet', 'guided_backprop', 'relu_preimage')
>>> panel("forward").export_name
'forward_output'
"""

from __future__ import annotations

from typing import TypeVar

from . import activation_methods
from . import methods as compute
from .choices import check_choice
from .specs import DISPLAY_KINDS, MethodSpec, PanelSpec, make_method, make_panel

__all__ = [
    "ALL_METHODS",
    "DISPLAY_KINDS",
    "INSIGHT_METHODS",
    "METHODS",
    "METHOD_SPECS",
    "PANELS",
    "PANEL_NAMES",
    "PRIORS",
    "SNIPPET_METHODS",
    "MethodSpec",
    "PanelSpec",
    "method",
    "panel",
    "panel_for_export_name",
]


#: Every panel, in reading order.
PANELS: tuple[PanelSpec, ...] = (
    make_panel(
        "input",
        "Input",
        "x",
        "the image you loaded: the unknowns",
        "input",
        None,
        "input",
    ),
    make_panel(
        "forward",
        "Forward output",
        "y = A x + b",
        "the layer's output, drawn at its own scale (smaller for a strided conv, larger for a "
        "transposed one): one pixel per equation",
        "y",
        None,
        "forward",
        own_levels=True,
        linked=False,
        export_name="forward_output",
        with_activation="y = act(A x + b)",
    ),
    make_panel(
        "transposed",
        "Transposed",
        "Aᵀ(y − b)",
        "the adjoint: what 'deconvolution' (transposed convolution) layers compute; not an inverse",
        "Aᵀ",
        "transposed",
        "adjoint",
        scored=True,
        with_activation="Jᵀ(y − c)",
    ),
    make_panel(
        "normalized_transposed",
        "Normalised",
        "Aᵀ(y − b) ⊘ Aᵀ1",
        "the transposed result divided by the coverage Aᵀ1 (removes the checkerboard)",
        "Aᵀ⊘Aᵀ1",
        "normalized_transposed",
        "reconstruction",
        scored=True,
        with_activation="Jᵀ(y − c) ⊘ Jᵀ1",
    ),
    make_panel(
        "pinv",
        "Pseudo-inverse",
        "A⁺(y − b)",
        "the minimum-norm image with A x = y − b exactly; what y cannot see is set to 0",
        "A⁺",
        "pinv",
        "reconstruction",
        scored=True,
        with_activation="J⁺(y − c)",
    ),
    make_panel(
        "decoder",
        "Learned decoder",
        "D(y)",
        "the ConvTranspose2d a network would learn (fit-decoder's least-squares optimum "
        "over a set of images), applied to y: good on images like those, blind elsewhere",
        "D",
        "decoder",
        "reconstruction",
        scored=True,
    ),
    make_panel(
        "tv",
        "TV prior",
        "argmin ½‖Ax − (y − b)‖² + λ TV(x)",
        "total variation: fits y while preferring flat regions with sharp edges; "
        "it fills the null space that A⁺ leaves at 0",
        "TV",
        "tv",
        "reconstruction",
        scored=True,
    ),
    make_panel(
        "nonneg",
        "Non-negative",
        "argmin ‖Ax − (y − b)‖² + λ‖x‖², x ≥ 0",
        "least squares (Tikhonov with λ = reg) over images with no negative pixel",
        "x≥0",
        "nonneg",
        "reconstruction",
        scored=True,
    ),
    make_panel(
        "richardson_lucy",
        "Richardson–Lucy",
        "x ← x ⊙ Aᵀ((y − b) ⊘ Ax) ⊘ Aᵀ1",
        "the multiplicative EM iteration for non-negative filters and data (Poisson "
        "likelihood); fewer iterations regularise more",
        "RL",
        "richardson_lucy",
        "reconstruction",
        scored=True,
    ),
    make_panel(
        "deconvnet",
        "Deconvnet",
        "Aᵀ ReLU(f(x₀))",
        "Zeiler & Fergus: the features f(x₀) sent back through the transposed conv with the "
        "ReLU applied to the signal (biases unused); a picture of what the units respond to",
        "DN",
        "deconvnet",
        "adjoint",
        without_activation="Aᵀy (no activation)",
    ),
    make_panel(
        "guided_backprop",
        "Guided backprop",
        "Aᵀ(D ReLU(f(x₀)))",
        "Springenberg et al.: the deconvnet's ReLU on the signal and the forward mask D both",
        "GB",
        "guided_backprop",
        "adjoint",
        without_activation="Aᵀy (no activation)",
    ),
    make_panel(
        "relu_preimage",
        "ReLU preimage",
        "min ‖x‖, ReLU(Ax + b) = y",
        "the minimum-norm image the layer with its ReLU maps to y: positive outputs are "
        "equations, zeros only A x + b ≤ 0 (each frees a direction)",
        "ReLU⁻¹",
        "relu_preimage",
        "reconstruction",
        scored=True,
        without_activation="A⁺(y − b) (no activation)",
    ),
    make_panel(
        "coverage",
        "Coverage",
        "Aᵀ1",
        "how much filter weight touches each input pixel; a checkerboard when the "
        "kernel size is not a multiple of the stride",
        "Aᵀ1",
        "coverage",
        "adjoint",
        own_levels=True,
        with_activation="Jᵀ1",
    ),
    make_panel(
        "recoverable",
        "Recoverable",
        "A⁺Ax",
        "the part of the input that y determines (its projection on the row space of A)",
        "A⁺Ax",
        "nullspace",
        "reconstruction",
        with_activation="J⁺J x",
    ),
    make_panel(
        "nullspace",
        "Lost",
        "x − A⁺Ax",
        "the null-space part of the input: A maps it to 0, so no method can recover it",
        "x − A⁺Ax",
        "nullspace",
        "signed",
        own_levels=True,
        with_activation="x − J⁺J x",
    ),
    make_panel(
        "invented",
        "Invented by the prior",
        "x̂ − A⁺Ax̂",
        "the null-space part of the prior's image x̂ (TV, else x ≥ 0, else Richardson–Lucy): "
        "y says nothing about it, the prior chose it",
        "x̂ − A⁺Ax̂",
        "nullspace",
        "signed",
        own_levels=True,
    ),
)

#: Every method, reconstructions first, in display order.
METHOD_SPECS: tuple[MethodSpec, ...] = (
    make_method(
        "transposed",
        "transposed Aᵀ",
        "Aᵀ(y − b): the adjoint, what 'deconvolution' layers compute. Always shown.",
        compute=compute.transposed,
    ),
    make_method(
        "normalized_transposed",
        "normalised Aᵀ ⊘ Aᵀ1",
        "Aᵀ(y − b) divided pixel by pixel by Aᵀ1 (how much each input pixel is covered), "
        "which removes the checkerboard of uneven coverage.",
        compute=compute.normalized_transposed,
        summary="the normalised transpose Aᵀ(y − b) ⊘ Aᵀ1",
        api="normalized_transposed_reconstruction",
        saved_as="x_normalized",
    ),
    make_method(
        "pinv",
        "pseudo-inverse A⁺",
        "A⁺(y − b): the minimum-norm image that reproduces y exactly (iterative solve).",
        compute=compute.pinv,
        slow=True,
        summary="the pseudo-inverse A⁺(y − b) (your image back, as far as y determines it)",
        api="pinv_reconstruction",
        saved_as="x_pinv",
    ),
    make_method(
        "decoder",
        "decoder D(y)",
        "D(y): the learned ConvTranspose2d of a decoder file (deconv-gui fit-decoder; "
        "--decoder FILE.npz, File → Load decoder… in the window), applied to y.",
        compute=compute.decoder,
        slow=True,
    ),
    make_method(
        "tv",
        "TV prior",
        "argmin ½‖Ax − (y − b)‖² + λ TV(x) with λ = prior_lam (isotropic total variation, "
        "at most prior_iter iterations).",
        compute=compute.tv,
        prior=True,
        summary="total variation",
        api="tv_reconstruction",
        saved_as="x_tv",
    ),
    make_method(
        "nonneg",
        "x ≥ 0",
        "argmin ‖Ax − (y − b)‖² + reg‖x‖² subject to x ≥ 0 (at most prior_iter iterations).",
        compute=compute.nonneg,
        prior=True,
        summary="non-negative least squares",
        api="nonneg_reconstruction",
        saved_as="x_nonneg",
    ),
    make_method(
        "richardson_lucy",
        "Richardson–Lucy",
        "prior_iter multiplicative EM steps x ← x ⊙ Aᵀ((y − b) ⊘ Ax) ⊘ Aᵀ1; needs a "
        "non-negative filter (negative data from noise are clipped to 0).",
        compute=compute.rl,
        prior=True,
        summary="Richardson–Lucy",
        api="richardson_lucy",
        saved_as="x_rl",
    ),
    make_method(
        "deconvnet",
        "deconvnet",
        "Zeiler & Fergus's deconvnet of the features f(x₀) (or of one channel, --channel): "
        "the transposed conv with the ReLU applied to the signal, biases unused. For one "
        "conv + ReLU it equals guided backprop and backprop of f(x₀) (f(x₀) ≥ 0 is already 0 "
        "where the ReLU was off); they differ with a leaky ReLU, noise or through a network. "
        "With activation none it is Aᵀy: the transposed panel when the bias is 0.",
        compute=activation_methods.deconvnet,
    ),
    make_method(
        "guided_backprop",
        "guided backprop",
        "Springenberg et al.'s guided backprop of f(x₀) (or of one channel, --channel): the "
        "deconvnet's rule and the forward ReLU mask both. With activation none it is Aᵀy: "
        "the transposed panel when the bias is 0.",
        compute=activation_methods.guided_backprop,
    ),
    make_method(
        "relu_preimage",
        "ReLU preimage",
        "The minimum-norm x with ReLU(A x + b) = y: equations where y > 0, A x + b ≤ 0 where "
        "y = 0 (a convex QP, solved matrix-free); the report gives the zero outputs and the "
        "free directions they leave. With activation none it is the pseudo-inverse A⁺(y − b); "
        "a leaky ReLU is invertible: A⁺(act⁻¹(y) − b).",
        compute=activation_methods.relu_preimage,
        slow=True,
    ),
    make_method(
        "coverage",
        "coverage Aᵀ1",
        "Aᵀ1: how much filter weight touches each input pixel.",
        insight=True,
        compute=compute.coverage,
        summary="the coverage Aᵀ1",
        api="coverage_map",
        saved_as="cover",
    ),
    make_method(
        "nullspace",
        "split x = A⁺Ax + (x − A⁺Ax)",
        "the recoverable part A⁺Ax and the lost part x − A⁺Ax of the input; with a prior, "
        "the part x̂ − A⁺Ax̂ of its image x̂ that lies in the null space (what it invented).",
        panels=("recoverable", "nullspace", "invented"),
        insight=True,
        compute=compute.nullspace,
        slow=True,
        summary="the recoverable and lost parts A⁺Ax and x − A⁺Ax",
        api="split_components",
        saved=(("recoverable", "x_recoverable"), ("nullspace", "x_lost")),
    ),
)

#: Panel names in reading order.
PANEL_NAMES: tuple[str, ...] = tuple(p.name for p in PANELS)
#: The reconstructions (one checkbox each in the window), in display order.
METHODS: tuple[str, ...] = tuple(m.name for m in METHOD_SPECS if m.reconstruction)
#: The insight methods: ``"coverage"`` (``Aᵀ1``) and ``"nullspace"`` (the split).
INSIGHT_METHODS: tuple[str, ...] = tuple(m.name for m in METHOD_SPECS if not m.reconstruction)
#: Everything ``Params.methods`` accepts, in the order results are computed.
ALL_METHODS: tuple[str, ...] = METHODS + INSIGHT_METHODS
#: The priors, in the order the null-space split prefers one for its "invented" part.
PRIORS: tuple[str, ...] = tuple(m.name for m in METHOD_SPECS if m.prior)
#: The methods the code scripts reproduce besides ``y`` and ``Aᵀ(y − b)``, in order.
SNIPPET_METHODS: tuple[str, ...] = tuple(m.name for m in METHOD_SPECS if m.saved)

_PANELS = {p.name: p for p in PANELS}
_BY_EXPORT = {p.export_name: p for p in PANELS}
_METHODS = {m.name: m for m in METHOD_SPECS}


def panel(name: str) -> PanelSpec:
    """The panel called ``name`` (a ValueError naming ``name`` if there is none)."""
    return _lookup(_PANELS, name, "name")


def panel_for_export_name(export_name: str) -> PanelSpec:
    """The panel whose files are called ``export_name`` (``"forward_output"`` → forward).

    A ValueError naming ``export_name`` when no panel is exported under it.
    """
    return _lookup(_BY_EXPORT, export_name, "export_name")


def method(name: str) -> MethodSpec:
    """The method called ``name`` (a ValueError naming ``name`` if there is none)."""
    return _lookup(_METHODS, name, "name")


T = TypeVar("T")


def _lookup(table: dict[str, T], key: str, argument: str) -> T:
    return table[check_choice(argument, key, table)]
