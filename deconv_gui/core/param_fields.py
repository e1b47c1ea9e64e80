"""The fields of :class:`~deconv_gui.core.Params`: one entry each, its type, default and rule.

Each field carries its :class:`~deconv_gui.core.rules.Rule` (kind, range, help text,
command-line flag) in its metadata; adding a field is one entry here (plus the widget
that edits it). :class:`~deconv_gui.core.params.Params` adds the validation, the
(de)serialisation and the geometry, and documents every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .geometry import Sides
from .network.single import ACTIVATIONS
from .padding import PADDING_MODES
from .rules import GEOMETRY_MAX, INT_MAX, Rule

__all__ = [
    "LAYER_KINDS",
    "TIME_LIMIT_MAX",
    "WINDOW_TIME_LIMIT",
    "ParamFields",
    "StoredPadding",
]

#: The window's time limit of the pseudo-inverse solve for a new layer (seconds): a live
#: update at 1 MP either converges within it or stops and says why; the command line has
#: none (``time_limit = 0``) unless asked.
WINDOW_TIME_LIMIT = 2.0

#: The largest time limit (seconds): a day.
TIME_LIMIT_MAX = 86_400.0

#: How ``Params.padding`` is stored: a pair (symmetric), the four sides, or a name.
StoredPadding = tuple[int, int] | Sides | str


#: The layers a Params can describe: PyTorch's Conv2d and ConvTranspose2d.
LAYER_KINDS: tuple[str, ...] = ("conv", "conv_transpose")


def _field(default: Any, rule_: Rule) -> Any:
    return field(default=default, metadata={"rule": rule_})


@dataclass(frozen=True, eq=False)
class ParamFields:
    """The fields of :class:`~deconv_gui.core.Params` (documented there), with their rules."""

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
    padding: StoredPadding = _field(  # noqa: RUF009  (a str or tuples: immutable)
        (1, 1),
        Rule(
            "padding",
            minimum=0,
            maximum=GEOMETRY_MAX,
            help=(
                "padding: P on every side, PH,PW per axis, T,B,L,R per side (top, bottom, "
                "left, right), same (TF/Keras, ONNX SAME_UPPER: ceil(n/stride) outputs, the "
                "odd pixel bottom/right), same_lower (odd pixel top/left) or valid (none)"
            ),
            cli="--padding",
            metavar="same|same_lower|valid|P|PH,PW|T,B,L,R",
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
    layer_kind: str = _field(
        "conv",
        Rule(
            "choice",
            help=(
                "the layer under study: conv (Conv2d) or conv_transpose (ConvTranspose2d: the "
                "image is its input map, weights (f_h, f_w, C_out/groups, C_in) as "
                "W_t.permute(2, 3, 1, 0))"
            ),
            cli="--layer-kind",
            metavar="|".join(LAYER_KINDS),
            choices=LAYER_KINDS,
        ),
    )
    output_padding: tuple[int, int] | None = _field(
        None,
        Rule(
            "optional_pair",
            minimum=0,
            maximum=GEOMETRY_MAX,
            help=(
                "PyTorch's output_padding of a conv_transpose layer, below max(stride, "
                "dilation) (none: 0, or Keras's n·stride for padding same)"
            ),
            cli="--output-padding",
            metavar="none|P|PH,PW",
        ),
    )
    activation: str = _field(
        "none",
        Rule(
            "choice",
            help=(
                "the activation after the layer: forward = act(A x + b); with relu or "
                "leaky_relu, transposed, pinv, coverage and the split use the layer's local "
                "linear map J = D A at the image (D: the activation's slope at each output)"
            ),
            cli="--activation",
            metavar="|".join(ACTIVATIONS),
            choices=ACTIVATIONS,
        ),
    )
    leaky_slope: float = _field(
        0.01,
        Rule(
            "float",
            minimum=0.0,
            maximum=1.0,
            positive=True,
            help=(
                "negative slope of leaky_relu (PyTorch's default 0.01; Keras's LeakyReLU "
                "defaults to 0.3)"
            ),
            cli="--leaky-slope",
            metavar="SLOPE",
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
    groups: int = _field(
        1,
        Rule(
            "int",
            minimum=1,
            maximum=GEOMETRY_MAX,
            help="PyTorch's groups: weights (f_h, f_w, C_in/groups, C_out); C_in for depthwise",
            cli="--groups",
            metavar="G",
        ),
    )
    flip: bool = _field(
        False,
        Rule(
            "bool",
            help="true convolution: flip the kernel (default: cross-correlation, as PyTorch)",
            cli="--flip",
        ),
    )
    methods: tuple[str, ...] = _field(
        ("transposed", "pinv"),
        Rule("methods", help="what to compute", cli="--methods", group="run", metavar="LIST"),
    )
    decoder_path: str = _field(
        "",
        Rule(
            "str",
            help=(
                "a decoder file written by fit-decoder (.npz): the learned ConvTranspose2d "
                "of method decoder, applied to y"
            ),
            cli="--decoder",
            group="run",
            metavar="PATH.npz",
        ),
    )
    channel: int | None = _field(
        None,
        Rule(
            "optional_int",
            minimum=0,
            maximum=INT_MAX,
            help=(
                "deconvnet and guided_backprop project only this output channel (0-based) "
                "of f(x₀), as Zeiler & Fergus project one feature map (none: the whole map)"
            ),
            cli="--channel",
            group="run",
            metavar="C|none",
        ),
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
            help="relative tolerance of the pseudo-inverse solve: it stops when "
            "‖y − A x‖ ≤ rtol·‖y‖ or ‖Aᵀ(y − A x)‖ ≤ rtol·‖A‖·‖y − A x‖ (least squares; "
            "with reg > 0, the regularised system's residual), or at float32 data's own "
            "precision (ε = 1.2e-7, below which it would fit the rounding); a dense solve "
            "drops singular values below rtol·σ_max",
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
    time_limit: float = _field(
        0.0,
        Rule(
            "float",
            minimum=0.0,
            maximum=TIME_LIMIT_MAX,
            help="seconds after which the iterative pseudo-inverse solve stops and says why "
            "(its estimated condition number κ(A), and Tikhonov reg as the remedy); 0: no "
            "limit, the command line's default; the window starts new layers at "
            f"{WINDOW_TIME_LIMIT:g} s so that a live update of a 1-megapixel image answers "
            "within seconds",
            cli="--time-limit",
            group="solver",
            metavar="S",
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
    prior_nonneg: bool = _field(
        False,
        Rule(
            "bool",
            help="constrain the TV image to x >= 0 (method tv)",
            cli="--prior-nonneg",
            group="solver",
            metavar="yes|no",
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
